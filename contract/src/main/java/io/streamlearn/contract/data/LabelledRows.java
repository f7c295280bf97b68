package io.streamlearn.contract.data;

/**
 * A labelled data set held in memory, row by row: what a stream of training samples is when it fits
 * in a process (a data set file read whole). The in-memory training loop and the evaluation read
 * it; a data set reader (MNIST's IDX files, say) provides it.
 */
public interface LabelledRows {
  /** Number of rows. */
  int size();

  /** Inputs per row. */
  int width();

  /** Row {@code row}'s class index. */
  int label(int row);

  /**
   * Writes row {@code row}'s raw inputs, before the model's input transform (pixels 0-255 for an
   * image), into {@code target[0, width())}.
   */
  void copyInputs(int row, float[] target);
}
