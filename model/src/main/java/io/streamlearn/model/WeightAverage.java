package io.streamlearn.model;

import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * An exponential moving average of the weights (Polyak averaging), bias-corrected as Adam corrects
 * its moments (Kingma and Ba 2015, section 3): {@code avg = d avg + (1 - d) theta} from {@code avg
 * = 0}, and the averaged weights are {@code avg / (1 - d^t)} after t steps, so early steps are not
 * pulled towards zero and no warm-up rule is needed. The average covers roughly the last {@code 1 /
 * (1 - d)} steps. Published as {@code weightsKind = EMA}.
 */
public final class WeightAverage {
  private final double decay;
  private final INDArray[] average;
  private final INDArray[] corrected;
  private long steps;
  private final float[][] scratch = new float[2][];

  /** An empty average shaped like the parameters. */
  public WeightAverage(double decay, INDArray[] parameters) {
    if (!(decay > 0 && decay < 1)) {
      throw new IllegalArgumentException("EMA decay must be in (0, 1), got " + decay);
    }
    this.decay = decay;
    this.average = new INDArray[parameters.length];
    this.corrected = new INDArray[parameters.length];
    for (int k = 0; k < parameters.length; k++) {
      average[k] = Nd4j.create(parameters[k].dataType(), parameters[k].shape());
      corrected[k] = Nd4j.create(parameters[k].dataType(), parameters[k].shape());
    }
  }

  public double decay() {
    return decay;
  }

  /** Steps folded in so far. */
  public long steps() {
    return steps;
  }

  /**
   * Copies the raw (uncorrected) running average of float32 parameters into {@code target}, one
   * flat vector in parameter order (a checkpoint); the steps it holds are {@link #steps()}.
   */
  public void saveTo(FloatVector target) {
    requireFloat32();
    int at = 0;
    for (INDArray a : average) {
      int n = Math.toIntExact(a.length());
      target.write(at, a.data().asNioFloat(), n);
      at += n;
    }
  }

  /** Restores what {@link #saveTo} saved, and the number of steps it holds. */
  public void restore(long steps, FloatVector source) {
    requireFloat32();
    int at = 0;
    for (INDArray a : average) {
      int n = Math.toIntExact(a.length());
      source.read(at, a.data().asNioFloat(), n);
      at += n;
    }
    this.steps = steps;
  }

  private void requireFloat32() {
    if (average[0].dataType() != DataType.FLOAT) {
      throw new IllegalStateException("the weight average is saved for float32 parameters only");
    }
  }

  /** Folds in the parameters after one more optimizer step. */
  public void update(INDArray[] parameters) {
    steps++;
    for (int k = 0; k < parameters.length; k++) {
      int n = Math.toIntExact(parameters[k].length());
      if (average[k].dataType() == DataType.FLOAT) {
        // Bulk copies to heap arrays and a plain loop the JIT vectorises: several times faster than
        // element access.
        FloatBuffer avg = average[k].data().asNioFloat();
        float[] a = scratch32(0, n);
        float[] p = scratch32(1, n);
        avg.get(0, a, 0, n);
        parameters[k].data().asNioFloat().get(0, p, 0, n);
        float keep = (float) decay;
        float take = (float) (1 - decay);
        for (int i = 0; i < n; i++) {
          a[i] = keep * a[i] + take * p[i];
        }
        avg.put(0, a, 0, n);
      } else {
        Vec a = Vec.of(average[k]);
        Vec p = Vec.of(parameters[k]);
        for (int i = 0; i < a.length; i++) {
          a.set(i, decay * a.get(i) + (1 - decay) * p.get(i));
        }
      }
    }
  }

  private float[] scratch32(int which, int n) {
    if (scratch[which] == null || scratch[which].length < n) {
      scratch[which] = new float[n];
    }
    return scratch[which];
  }

  /**
   * The averaged weights, {@code avg / (1 - d^t)}, in the order of {@link
   * DenseNetwork#parameters()}: arrays owned by this object, recomputed on each call.
   *
   * @throws IllegalStateException before the first {@link #update}
   */
  public INDArray[] parameters() {
    if (steps == 0) {
      throw new IllegalStateException("the weight average holds no step yet");
    }
    double scale = 1 / (1 - Math.pow(decay, steps));
    for (int k = 0; k < average.length; k++) {
      Vec a = Vec.of(average[k]);
      Vec c = Vec.of(corrected[k]);
      for (int i = 0; i < a.length; i++) {
        c.set(i, a.get(i) * scale);
      }
    }
    return corrected.clone();
  }
}
