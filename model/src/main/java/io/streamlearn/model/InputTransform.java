package io.streamlearn.model;

import java.util.Arrays;

/**
 * What a model does to its inputs before the first layer, identically in the learner and the
 * scorer: {@link Scale} (MNIST: pixels times 1/255) or {@link Standardize} (per-feature running
 * mean and variance). Immutable; {@link #apply} transforms a caller's row in place and allocates
 * nothing.
 */
public sealed interface InputTransform permits InputTransform.Scale, InputTransform.Standardize {

  /** Transforms {@code values[0, width)} in place. */
  void apply(float[] values, int width);

  /**
   * Every input times {@code factor}.
   *
   * @param factor a positive finite number
   */
  record Scale(float factor) implements InputTransform {
    /** MNIST's: pixels 0-255 to 0-1. */
    public static final Scale MNIST = new Scale(1f / 255f);

    public Scale {
      if (!(factor > 0) || !Float.isFinite(factor)) {
        throw new IllegalArgumentException(
            "scale is " + factor + ", expected a positive finite number");
      }
    }

    @Override
    public void apply(float[] values, int width) {
      for (int i = 0; i < width; i++) {
        values[i] *= factor;
      }
    }
  }

  /**
   * {@code (x - mean) / sqrt(variance)} per input, or {@code x - mean} where the variance is at or
   * below {@code epsilon} (a feature constant so far): the statistics of the first {@code count}
   * samples. Immutable.
   */
  final class Standardize implements InputTransform {
    /** The epsilon the learner uses. */
    public static final float EPSILON = 1e-12f;

    private final float[] mean;
    private final float[] variance;
    private final long count;
    private final float epsilon;

    /** {@code sqrt(variance)}, or 1 at or below epsilon: what each centred input is divided by. */
    private final float[] divisors;

    /**
     * @param mean per input
     * @param variance population variance per input, not negative
     * @param count the samples the statistics were computed over
     * @param epsilon a variance at or below it divides by 1
     */
    public Standardize(float[] mean, float[] variance, long count, float epsilon) {
      if (mean.length != variance.length) {
        throw new IllegalArgumentException(
            mean.length + " means but " + variance.length + " variances");
      }
      if (count < 0 || !(epsilon >= 0) || !Float.isFinite(epsilon)) {
        throw new IllegalArgumentException(
            "count is " + count + " and epsilon " + epsilon + ", expected both >= 0");
      }
      this.mean = mean.clone();
      this.variance = variance.clone();
      this.count = count;
      this.epsilon = epsilon;
      this.divisors = new float[variance.length];
      for (int i = 0; i < mean.length; i++) {
        if (!Float.isFinite(mean[i]) || !Float.isFinite(variance[i]) || variance[i] < 0) {
          throw new IllegalArgumentException(
              "input " + i + " has mean " + mean[i] + " and variance " + variance[i]);
        }
        divisors[i] = variance[i] > epsilon ? (float) Math.sqrt(variance[i]) : 1f;
      }
    }

    /** Before any sample: subtracts 0 and divides by 1. */
    public static Standardize identity(int width) {
      return new Standardize(new float[width], new float[width], 0, EPSILON);
    }

    public int width() {
      return mean.length;
    }

    public float[] mean() {
      return mean.clone();
    }

    public float[] variance() {
      return variance.clone();
    }

    public long count() {
      return count;
    }

    public float epsilon() {
      return epsilon;
    }

    @Override
    public void apply(float[] values, int width) {
      for (int i = 0; i < width; i++) {
        values[i] = (values[i] - mean[i]) / divisors[i];
      }
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Standardize s
          && Arrays.equals(mean, s.mean)
          && Arrays.equals(variance, s.variance)
          && count == s.count
          && Float.compare(epsilon, s.epsilon) == 0;
    }

    @Override
    public int hashCode() {
      return 31 * Arrays.hashCode(mean) + Arrays.hashCode(variance) + Long.hashCode(count);
    }

    @Override
    public String toString() {
      return "Standardize["
          + mean.length
          + " inputs, count="
          + count
          + ", epsilon="
          + epsilon
          + "]";
    }
  }
}
