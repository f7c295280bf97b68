package io.streamlearn.scorer;

import io.streamlearn.model.DenseNetwork;
import io.streamlearn.model.InputTransform;
import io.streamlearn.model.RowForward;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Scores rows of pixels or features with a {@link ServingModel}, for one thread. A few rows ({@link
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

  private final Map<Integer, INDArray> batches = new HashMap<>();
  private ServingModel model;
  private DenseNetwork view;
  private float[] row;
  private RowForward.Scratch scratch;

  /**
   * Writes the class probabilities of rows {@code 0..count-1} into {@code probabilities}
   * (row-major, count x classes). Each row's inputs go through the model's transform.
   *
   * @param inputs the rows, of the model's width and kind
   */
  void classify(ServingModel model, Rows inputs, int count, float[] probabilities) {
    if (model != this.model) {
      this.model = model;
      this.batches.clear(); // the new model may be of another width
      this.view = model.network().inferenceView();
      this.row = new float[view.inputs()];
      this.scratch = model.rowForward().newScratch();
    }
    int classes = view.outputs();
    int width = view.inputs();
    InputTransform transform = model.transform();
    InputTransform.Scale scale = transform instanceof InputTransform.Scale s ? s : null;
    if (count <= ROW_BY_ROW) {
      RowForward forward = model.rowForward();
      for (int r = 0; r < count; r++) {
        byte[] pixels = inputs.bytes(r);
        if (pixels != null && scale != null) {
          forward.probabilities(
              pixels, inputs.offset(r), scale.factor(), probabilities, r * classes, scratch);
        } else {
          inputs.copy(r, row);
          transform.apply(row, width);
          forward.probabilities(row, probabilities, r * classes, scratch);
        }
      }
      return;
    }
    for (int start = 0; start < count; start += CHUNK) {
      int n = Math.min(CHUNK, count - start);
      int padded = padded(n);
      INDArray x = batches.computeIfAbsent(padded, view::newInput);
      for (int r = 0; r < n; r++) {
        byte[] pixels = inputs.bytes(start + r);
        if (pixels != null) {
          DenseNetwork.setInputRow(x, r, pixels, inputs.offset(start + r), transform, row);
        } else {
          inputs.copy(start + r, row);
          DenseNetwork.setInputRow(x, r, row, transform);
        }
      }
      // (padded, inputs) -> (padded, classes); rows n..padded-1 hold stale inputs whose outputs are
      // ignored
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

  /**
   * Where each row's inputs are: an image's pixels (bytes), or a feature vector (copied as floats).
   */
  interface Rows {
    /** Row {@code row}'s pixels, from {@link #offset}, or null for a feature row. */
    byte[] bytes(int row);

    int offset(int row);

    /**
     * Copies row {@code row}'s raw inputs (pixel values 0-255 or features) into {@code into}, of
     * the model's width; by default its pixels.
     */
    default void copy(int row, float[] into) {
      byte[] pixels = bytes(row);
      int offset = offset(row);
      for (int i = 0; i < into.length; i++) {
        into[i] = pixels[offset + i] & 0xff;
      }
    }
  }
}
