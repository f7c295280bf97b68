package io.streamlearn.model;

import io.streamlearn.contract.data.LabelledRows;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Accuracy of a network on a labelled dataset, scored in batches. */
public final class Evaluation {
  private static final int BATCH = 1000;

  private Evaluation() {}

  /** Fraction of rows {@code [from, to)} of {@code data} classified correctly. */
  public static double accuracy(
      DenseNetwork network, LabelledRows data, int from, int to, float inputScale) {
    int correct = 0;
    float[] row = new float[data.width()];
    for (int start = from; start < to; start += BATCH) {
      int rows = Math.min(BATCH, to - start);
      INDArray x = network.newInput(rows);
      int[] labels = new int[rows];
      for (int r = 0; r < rows; r++) {
        data.copyInputs(start + r, row);
        DenseNetwork.setInputRow(x, r, row, inputScale);
        labels[r] = data.label(start + r);
      }
      correct += network.forward(x, labels).correct();
    }
    return correct / (double) (to - from);
  }

  public static double accuracy(DenseNetwork network, LabelledRows data, float inputScale) {
    return accuracy(network, data, 0, data.size(), inputScale);
  }
}
