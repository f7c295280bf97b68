package io.streamlearn.mnist;

import java.nio.file.Path;

/** Where the four MNIST IDX files live in a data folder: {@code <dataDir>/mnist/<name>}. */
public record MnistFiles(Path trainImages, Path trainLabels, Path testImages, Path testLabels) {
  public static final String TRAIN_IMAGES = "train-images-idx3-ubyte";
  public static final String TRAIN_LABELS = "train-labels-idx1-ubyte";
  public static final String TEST_IMAGES = "t10k-images-idx3-ubyte";
  public static final String TEST_LABELS = "t10k-labels-idx1-ubyte";

  public static MnistFiles in(Path dataDir) {
    Path dir = dataDir.resolve("mnist");
    return new MnistFiles(
        dir.resolve(TRAIN_IMAGES),
        dir.resolve(TRAIN_LABELS),
        dir.resolve(TEST_IMAGES),
        dir.resolve(TEST_LABELS));
  }
}
