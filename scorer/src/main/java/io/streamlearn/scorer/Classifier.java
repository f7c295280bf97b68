package io.streamlearn.scorer;

import io.streamlearn.model.DenseNetwork;
import io.streamlearn.model.RowForward;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Scores rows of pixels with a {@link ServingModel}, for one thread. A few rows ({@link
 * #ROW_BY_ROW} or fewer, as at low event rates and for HTTP requests) go through {@link
 * RowForward}, row by row; more go through ND4J GEMMs: for those it keeps its own inference view of
 * the model (renewed when the model changes) and input arrays for a few batch sizes. Rows are
 * scored in chunks of at most {@link #CHUNK}; a chunk larger than {@link #EXACT} is padded up to a
 * power of two, so at most 35 array shapes are ever allocated.
 */
final class Classifier {
  static final int CHUNK = 256;

  /**
   * Up to this many rows, plain Java row by row beats a GEMM's fixed cost (measured: see the
   * README).
   */
  static final int ROW_BY_ROW = 64;

  static final int EXACT = 32;

  private final Map<Integer, INDArray> inputs = new HashMap<>();
  private ServingModel model;
  private DenseNetwork view;
  private float[] row;
  private RowForward.Scratch scratch;

  /**
   * Writes the class probabilities of rows {@code 0..count-1} into {@code probabilities}
   * (row-major, count x classes).
   *
   * @param pixels row r's pixels are {@code pixels.bytes(r)} from {@code pixels.offset(r)}
   */
  void classify(ServingModel model, Rows pixels, int count, float[] probabilities) {
    if (model != this.model) {
      this.model = model;
      this.view = model.network().inferenceView();
      this.row = new float[view.inputs()];
      this.scratch = model.rowForward().newScratch();
    }
    int classes = view.outputs();
    if (count <= ROW_BY_ROW) {
      RowForward forward = model.rowForward();
      for (int r = 0; r < count; r++) {
        forward.probabilities(
            pixels.bytes(r),
            pixels.offset(r),
            model.inputScale(),
            probabilities,
            r * classes,
            scratch);
      }
      return;
    }
    for (int start = 0; start < count; start += CHUNK) {
      int n = Math.min(CHUNK, count - start);
      int padded = padded(n);
      INDArray x = inputs.computeIfAbsent(padded, view::newInput);
      for (int r = 0; r < n; r++) {
        DenseNetwork.setInputRow(
            x, r, pixels.bytes(start + r), pixels.offset(start + r), model.inputScale(), row);
      }
      // (padded, 784) -> (padded, 10); rows n..padded-1 hold stale inputs whose outputs are ignored
      view.forward(x, null);
      FloatBuffer out = view.probabilities(padded).data().asNioFloat();
      out.get(0, probabilities, start * classes, n * classes);
    }
  }

  /**
   * Rows actually computed for a chunk of {@code n}: exact up to {@link #EXACT} (small batches are
   * the common case at low event rates, and padding them would multiply their cost), the next power
   * of two above.
   */
  static int padded(int n) {
    return n <= EXACT || Integer.highestOneBit(n) == n ? n : Integer.highestOneBit(n) << 1;
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
