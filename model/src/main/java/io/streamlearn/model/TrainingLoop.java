package io.streamlearn.model;

import io.streamlearn.contract.data.LabelledRows;
import java.util.function.LongToDoubleFunction;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The training step the learner runs ({@link #step(INDArray, int[])}), and the bare loop around it
 * without Kafka: shuffled mini-batches from memory, for model selection on a validation split and
 * as the benchmark's reference speed.
 */
public final class TrainingLoop {
  private final DenseNetwork network;
  private final Adam adam;
  private final WeightAverage average;
  private final LongToDoubleFunction learningRate;
  private final int batchSize;
  private final INDArray input;
  private final int[] labels;
  private final float[] scratchRow;

  /**
   * @param learningRate the learning rate for each (1-based) optimizer step
   * @param average the weight average to update after each step, or null
   */
  public TrainingLoop(
      DenseNetwork network,
      Adam adam,
      WeightAverage average,
      LongToDoubleFunction learningRate,
      int batchSize) {
    this.network = network;
    this.adam = adam;
    this.average = average;
    this.learningRate = learningRate;
    this.batchSize = batchSize;
    this.input = network.newInput(batchSize);
    this.labels = new int[batchSize];
    this.scratchRow = new float[Math.toIntExact(input.columns())];
  }

  /**
   * One epoch over the rows of {@code data} in {@code order} (a shuffle of the rows to train; a
   * last partial batch is left out), each row through {@code transform}; returns samples.
   */
  public int epoch(LabelledRows data, int[] order, InputTransform transform) {
    int trained = 0;
    for (int start = 0; start + batchSize <= order.length; start += batchSize) {
      for (int r = 0; r < batchSize; r++) {
        int row = order[start + r];
        data.copyInputs(row, scratchRow);
        DenseNetwork.setInputRow(input, r, scratchRow, transform);
        labels[r] = data.label(row);
      }
      step();
      trained += batchSize;
    }
    return trained;
  }

  /**
   * What one training step did: the batch's score before the update, and whether the update was
   * applied.
   */
  public record Step(BatchStats stats, boolean applied) {}

  /** One training step on the batch currently in {@link #input()}/{@link #labels()}. */
  public Step step() {
    return step(input, labels);
  }

  /**
   * One training step, the learner's and the benchmark's alike: score the batch (forward),
   * backpropagate, and unless the loss or a gradient is not finite, apply Adam at the scheduled
   * learning rate and fold the new weights into the average. A refused step changes nothing.
   */
  public Step step(INDArray x, int[] y) {
    BatchStats stats = network.computeGradients(x, y);
    boolean applied =
        Double.isFinite(stats.lossSum())
            && adam.apply(
                network.parameters(),
                network.gradients(),
                learningRate.applyAsDouble(adam.step() + 1));
    if (applied && average != null) {
      average.update(network.parameters());
    }
    return new Step(stats, applied);
  }

  public INDArray input() {
    return input;
  }

  public int[] labels() {
    return labels;
  }

  /** The weights to evaluate: the average when there is one, else the trained weights. */
  public INDArray[] publishedWeights() {
    return average != null ? average.parameters() : network.parameters();
  }
}
