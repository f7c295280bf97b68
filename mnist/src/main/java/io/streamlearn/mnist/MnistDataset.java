package io.streamlearn.mnist;

import io.streamlearn.contract.data.LabelledRows;
import java.nio.file.Path;

/**
 * A set of labelled 28x28 images read from an IDX images file and its labels file, checked for
 * agreement: same count, 28x28 images, labels 0-9.
 */
public final class MnistDataset implements LabelledRows {
  public static final int ROWS = 28;
  public static final int COLUMNS = 28;
  public static final int PIXELS = ROWS * COLUMNS;

  private final byte[] pixels;
  private final byte[] labels;

  private MnistDataset(byte[] pixels, byte[] labels) {
    this.pixels = pixels;
    this.labels = labels;
  }

  public static MnistDataset load(Path imagesFile, Path labelsFile) {
    IdxReader.Images images = IdxReader.readImages(imagesFile);
    if (images.rows() != ROWS || images.columns() != COLUMNS) {
      throw new IdxFormatException(
          imagesFile,
          "images are "
              + images.rows()
              + "x"
              + images.columns()
              + ", streamlearn's contract needs 28x28");
    }
    byte[] labels = IdxReader.readLabels(labelsFile);
    if (labels.length != images.count()) {
      throw new IdxFormatException(
          labelsFile, labels.length + " labels for " + images.count() + " images in " + imagesFile);
    }
    for (int i = 0; i < labels.length; i++) {
      if (labels[i] < 0 || labels[i] > 9) {
        throw new IdxFormatException(
            labelsFile, "label " + (labels[i] & 0xff) + " at index " + i + " is not 0-9");
      }
    }
    return new MnistDataset(images.pixels(), labels);
  }

  public static MnistDataset train(MnistFiles files) {
    return load(files.trainImages(), files.trainLabels());
  }

  public static MnistDataset test(MnistFiles files) {
    return load(files.testImages(), files.testLabels());
  }

  @Override
  public int size() {
    return labels.length;
  }

  @Override
  public int width() {
    return PIXELS;
  }

  @Override
  public int label(int index) {
    return labels[index];
  }

  /** Image {@code index}'s 784 pixels as values 0-255. */
  @Override
  public void copyInputs(int index, float[] target) {
    int offset = index * PIXELS;
    for (int i = 0; i < PIXELS; i++) {
      target[i] = pixels[offset + i] & 0xff;
    }
  }

  /** Copies image {@code index}'s 784 pixels into {@code target} at {@code offset}. */
  public void copyPixels(int index, byte[] target, int offset) {
    System.arraycopy(pixels, index * PIXELS, target, offset, PIXELS);
  }

  /** A new array with image {@code index}'s 784 pixels. */
  public byte[] pixels(int index) {
    byte[] copy = new byte[PIXELS];
    copyPixels(index, copy, 0);
    return copy;
  }
}
