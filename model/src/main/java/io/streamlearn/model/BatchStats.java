package io.streamlearn.model;

/**
 * What a forward pass measured on a batch, before any update: the basis of prequential
 * (test-then-train) evaluation.
 *
 * @param samples samples in the batch
 * @param lossSum summed cross-entropy (nats)
 * @param correct samples whose most probable class was the label
 */
public record BatchStats(int samples, double lossSum, int correct) {
  public double meanLoss() {
    return lossSum / samples;
  }

  public double accuracy() {
    return correct / (double) samples;
  }
}
