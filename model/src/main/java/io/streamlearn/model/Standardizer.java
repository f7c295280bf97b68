package io.streamlearn.model;

/**
 * Running per-input mean and population variance (Welford's algorithm, in doubles): the learner
 * updates it with each batch after scoring the batch and before training on it, and freezes it into
 * a {@link InputTransform.Standardize} for training and for every snapshot. Not thread-safe.
 */
public final class Standardizer {
  private final double[] mean;
  private final double[] m2;
  private long count;

  public Standardizer(int width) {
    this.mean = new double[width];
    this.m2 = new double[width];
  }

  public int width() {
    return mean.length;
  }

  public long count() {
    return count;
  }

  /** Adds one sample's raw inputs {@code values[0, width)}. */
  public void add(float[] values) {
    count++;
    for (int i = 0; i < mean.length; i++) {
      double x = values[i];
      double delta = x - mean[i];
      mean[i] += delta / count;
      m2[i] += delta * (x - mean[i]);
    }
  }

  /** The statistics so far, as float32, with {@link InputTransform.Standardize#EPSILON}. */
  public InputTransform.Standardize freeze() {
    float[] m = new float[mean.length];
    float[] v = new float[mean.length];
    for (int i = 0; i < mean.length; i++) {
      m[i] = (float) mean[i];
      // Features are bounded (Codecs.MAX_FEATURE_MAGNITUDE), so the clamp is a second guard only.
      v[i] = count == 0 ? 0f : (float) Math.min(Float.MAX_VALUE, Math.max(0, m2[i] / count));
    }
    return new InputTransform.Standardize(m, v, count, InputTransform.Standardize.EPSILON);
  }

  /** Copies the state out (for the learner's checkpoint): means, sums of squared deviations. */
  public void saveTo(double[] means, double[] m2s) {
    System.arraycopy(mean, 0, means, 0, mean.length);
    System.arraycopy(m2, 0, m2s, 0, m2.length);
  }

  /** Restores a state saved by {@link #saveTo} after {@code count} samples. */
  public void restore(long count, double[] means, double[] m2s) {
    if (means.length != mean.length || m2s.length != m2.length || count < 0) {
      throw new IllegalArgumentException(
          "state of "
              + means.length
              + " inputs after "
              + count
              + " samples, expected "
              + mean.length
              + " inputs");
    }
    this.count = count;
    System.arraycopy(means, 0, mean, 0, mean.length);
    System.arraycopy(m2s, 0, m2, 0, m2.length);
  }
}
