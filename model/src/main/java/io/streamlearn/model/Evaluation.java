package io.streamlearn.model;

import io.streamlearn.core.mnist.MnistDataset;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Accuracy of a network on a labelled dataset, scored in batches. */
public final class Evaluation {
  private static final int BATCH = 1000;

  private Evaluation() {}

  /** Fraction of rows {@code [from, to)} of {@code data} classified correctly. */
  public static double accuracy(
      DenseNetwork network, MnistDataset data, int from, int to, float inputScale) {
    int correct = 0;
    byte[] pixels = new byte[MnistDataset.PIXELS];
    float[] row = new float[MnistDataset.PIXELS];
    for (int start = from; start < to; start += BATCH) {
      int rows = Math.min(BATCH, to - start);
      INDArray x = network.newInput(rows);
      int[] labels = new int[rows];
      for (int r = 0; r < rows; r++) {
        data.copyPixels(start + r, pixels, 0);
        DenseNetwork.setInputRow(x, r, pixels, 0, inputScale, row);
        labels[r] = data.label(start + r);
      }
      correct += network.forward(x, labels).correct();
    }
    return correct / (double) (to - from);
  }

  public static double accuracy(DenseNetwork network, MnistDataset data, float inputScale) {
    return accuracy(network, data, 0, data.size(), inputScale);
  }
}
