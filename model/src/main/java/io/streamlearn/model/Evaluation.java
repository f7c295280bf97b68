package io.streamlearn.model;

import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.contract.data.LabelledRows;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Accuracy of a network on a labelled dataset, scored in batches. */
public final class Evaluation {
  private static final int BATCH = 1000;

  private Evaluation() {}

  /**
   * Fraction of rows {@code [from, to)} of {@code data} classified correctly, each row through
   * {@code transform} (a snapshot's: {@link Snapshots#input}).
   */
  public static double accuracy(
      DenseNetwork network, LabelledRows data, int from, int to, InputTransform transform) {
    int correct = 0;
    float[] row = new float[data.width()];
    for (int start = from; start < to; start += BATCH) {
      int rows = Math.min(BATCH, to - start);
      INDArray x = network.newInput(rows);
      int[] labels = new int[rows];
      for (int r = 0; r < rows; r++) {
        data.copyInputs(start + r, row);
        DenseNetwork.setInputRow(x, r, row, transform);
        labels[r] = data.label(start + r);
      }
      correct += network.forward(x, labels).correct();
    }
    return correct / (double) (to - from);
  }

  public static double accuracy(DenseNetwork network, LabelledRows data, InputTransform transform) {
    return accuracy(network, data, 0, data.size(), transform);
  }

  /** The accuracy of a checked snapshot on {@code data}, through the snapshot's own transform. */
  public static double accuracy(ModelSnapshot snapshot, LabelledRows data) {
    return accuracy(
        Snapshots.toNetwork(snapshot, null), data, Snapshots.input(snapshot).transform());
  }
}
