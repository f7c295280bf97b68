package io.streamlearn.scorer;

import io.streamlearn.model.DenseNetwork;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Scores rows of pixels with a {@link ServingModel}, for one thread: it keeps its own inference view of the model
 * (renewed when the model changes) and input arrays for a few batch sizes. Rows are scored in chunks of at most
 * {@link #CHUNK}; a chunk is padded up to a power of two, so only a handful of array shapes are ever allocated.
 */
final class Classifier {
  static final int CHUNK = 256;

  private final Map<Integer, INDArray> inputs = new HashMap<>();
  private ServingModel model;
  private DenseNetwork view;
  private float[] row;

  /**
   * Writes the class probabilities of rows {@code 0..count-1} into {@code probabilities} (row-major, count x
   * classes).
   *
   * @param pixels row r's pixels are {@code pixels.bytes(r)} from {@code pixels.offset(r)}
   */
  void classify(ServingModel model, Rows pixels, int count, float[] probabilities) {
    if (model != this.model) {
      this.model = model;
      this.view = model.network().inferenceView();
      this.row = new float[view.inputs()];
    }
    int classes = view.outputs();
    for (int start = 0; start < count; start += CHUNK) {
      int n = Math.min(CHUNK, count - start);
      int padded = Integer.highestOneBit(n) == n ? n : Integer.highestOneBit(n) << 1;
      INDArray x = inputs.computeIfAbsent(padded, view::newInput);
      for (int r = 0; r < n; r++) {
        DenseNetwork.setInputRow(x, r, pixels.bytes(start + r), pixels.offset(start + r), model.inputScale(), row);
      }
      // (padded, 784) -> (padded, 10); rows n..padded-1 hold stale inputs whose outputs are ignored
      view.forward(x, null);
      FloatBuffer out = view.probabilities(padded).data().asNioFloat();
      out.get(0, probabilities, start * classes, n * classes);
    }
  }

  /** Index of the largest of {@code classes} values from {@code offset}. */
  static int argmax(float[] values, int offset, int classes) {
    int best = 0;
    for (int c = 1; c < classes; c++) {
      if (values[offset + c] > values[offset + best]) {
        best = c;
      }
    }
    return best;
  }

  /** Where each row's pixels are. */
  interface Rows {
    byte[] bytes(int row);

    int offset(int row);
  }
}
