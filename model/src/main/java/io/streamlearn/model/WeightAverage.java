package io.streamlearn.model;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * An exponential moving average of the weights (Polyak averaging as in TensorFlow's ExponentialMovingAverage): after
 * step t, {@code avg = d avg + (1 - d) theta} with {@code d = min(decay, (1 + t) / (10 + t))}, so the first steps,
 * far from the optimum, do not weigh for long. Published as {@code weightsKind = EMA}.
 */
public final class WeightAverage {
  private final double decay;
  private final INDArray[] average;

  /** Starts from a copy of the parameters. */
  public WeightAverage(double decay, INDArray[] parameters) {
    if (!(decay > 0 && decay < 1)) {
      throw new IllegalArgumentException("EMA decay must be in (0, 1), got " + decay);
    }
    this.decay = decay;
    this.average = new INDArray[parameters.length];
    for (int k = 0; k < parameters.length; k++) {
      average[k] = Nd4j.create(parameters[k].dataType(), parameters[k].shape());
      average[k].assign(parameters[k]);
    }
  }

  public double decay() {
    return decay;
  }

  /** The averaged parameters, in the order of {@link DenseNetwork#parameters()}: live arrays. */
  public INDArray[] parameters() {
    return average.clone();
  }

  /** Folds in the parameters after optimizer step {@code step} (1-based). */
  public void update(INDArray[] parameters, long step) {
    double d = Math.min(decay, (1.0 + step) / (10.0 + step));
    for (int k = 0; k < parameters.length; k++) {
      Vec a = Vec.of(average[k]);
      Vec p = Vec.of(parameters[k]);
      for (int i = 0; i < a.length; i++) {
        a.set(i, d * a.get(i) + (1 - d) * p.get(i));
      }
    }
  }
}
