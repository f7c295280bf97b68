package io.streamlearn.model;

import io.streamlearn.contract.avro.AvroCodec;
import io.streamlearn.contract.avro.InputShape;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What a model's inputs and classes are, declared once by the learner's configuration and carried
 * in every snapshot: the width, the number of classes, their names (optional), for an image model
 * its shape, and the kind of input transform. Immutable.
 *
 * @param inputs the width of pixels or features
 * @param classes labels lie in {@code [0, classes)}
 * @param featureNames the inputs' names in order, or empty
 * @param classNames the classes' names by index, or empty
 * @param image an image model's shape (it takes pixels), or null for a feature model (it takes
 *     features)
 * @param standardize true for a running standardization, false for a fixed scale
 */
public record ModelSpec(
    int inputs,
    int classes,
    List<String> featureNames,
    List<String> classNames,
    Image image,
    boolean standardize) {

  /** MNIST: 28x28 images, ten unnamed digits, scaled. */
  public static final ModelSpec MNIST =
      new ModelSpec(784, 10, List.of(), List.of(), new Image(28, 28), false);

  /** An image's shape: pixels are {@code height x width} bytes, row-major. */
  public record Image(int height, int width) {
    public Image {
      if (height < 1 || width < 1) {
        throw new IllegalArgumentException(
            "image shape " + height + "x" + width + ", expected both at least 1");
      }
    }

    @Override
    public String toString() {
      return height + "x" + width;
    }
  }

  public ModelSpec {
    featureNames = List.copyOf(featureNames);
    classNames = List.copyOf(classNames);
    new InputShape(inputs, classes, image != null); // checks inputs >= 1, classes >= 2
    if (!featureNames.isEmpty() && featureNames.size() != inputs) {
      throw new IllegalArgumentException(
          featureNames.size() + " feature names for " + inputs + " inputs");
    }
    if (!classNames.isEmpty() && classNames.size() != classes) {
      throw new IllegalArgumentException(
          classNames.size() + " class names for " + classes + " classes");
    }
    checkNames("feature", featureNames);
    checkNames("class", classNames);
    if (image != null && (long) image.height() * image.width() != inputs) {
      throw new IllegalArgumentException(
          "image shape "
              + image
              + " holds "
              + (long) image.height() * image.width()
              + " pixels, not "
              + inputs
              + " inputs");
    }
  }

  private static void checkNames(String what, List<String> names) {
    Set<String> seen = new HashSet<>();
    for (String name : names) {
      if (name.isEmpty()
          || name.getBytes(StandardCharsets.UTF_8).length > AvroCodec.MAX_STRING_BYTES) {
        throw new IllegalArgumentException(
            "a " + what + " name is empty or longer than " + AvroCodec.MAX_STRING_BYTES + " bytes");
      }
      if (!seen.add(name)) {
        throw new IllegalArgumentException("the " + what + " name '" + name + "' appears twice");
      }
    }
  }

  /** What a record must be to train or score on this model. */
  public InputShape shape() {
    return new InputShape(inputs, classes, image != null);
  }

  /** Whether the model takes images (pixels) rather than feature vectors (features). */
  public boolean images() {
    return image != null;
  }

  /** The name of class {@code index}, or null when the classes are unnamed. */
  public String className(int index) {
    return classNames.isEmpty() ? null : classNames.get(index);
  }

  /**
   * Whether this spec with {@code transform} is what a v1 snapshot implies (784 pixels of a 28x28
   * image, ten unnamed classes, a scale), so that a snapshot can leave its spec out and stay v1.
   */
  public boolean impliedByVersionOne() {
    return inputs == 784
        && classes == 10
        && featureNames.isEmpty()
        && classNames.isEmpty()
        && new Image(28, 28).equals(image)
        && !standardize;
  }
}
