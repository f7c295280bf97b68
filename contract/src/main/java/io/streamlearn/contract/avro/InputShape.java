package io.streamlearn.contract.avro;

import io.streamlearn.contract.ImageEvent;
import io.streamlearn.contract.TrainingSample;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * What a model accepts: its width, its number of classes, and whether it takes images (pixels, one
 * unsigned byte each) or feature vectors (features, one float each). The checks a record must pass
 * beyond {@link Codecs}' before a learner trains on it or a scorer scores it.
 *
 * @param inputs the width of pixels or features
 * @param classes labels lie in {@code [0, classes)}
 * @param images true for an image model (takes pixels only), false for a feature model (features
 *     only)
 */
public record InputShape(int inputs, int classes, boolean images) {
  /** The widest model: a feature vector of this many floats is 64 KiB. */
  public static final int MAX_INPUTS = 16_384;

  /** The most classes: a prediction of this many probabilities is 4 KiB. */
  public static final int MAX_CLASSES = 1_024;

  /** MNIST: 784 pixels of a 28x28 image, ten digits. */
  public static final InputShape MNIST = new InputShape(784, 10, true);

  public InputShape {
    if (inputs < 1 || inputs > MAX_INPUTS) {
      throw new IllegalArgumentException("inputs is " + inputs + ", expected 1 to " + MAX_INPUTS);
    }
    if (classes < 2 || classes > MAX_CLASSES) {
      throw new IllegalArgumentException(
          "classes is " + classes + ", expected 2 to " + MAX_CLASSES);
    }
  }

  /**
   * Checks a decoded sample against this shape.
   *
   * @throws InvalidPayloadException WRONG_INPUT_KIND, BAD_PIXEL_COUNT, BAD_FEATURE_COUNT or
   *     BAD_LABEL
   */
  public void check(TrainingSample sample) {
    checkInput(sample.getPixels(), sample.getFeatures());
    checkLabel(sample.getLabel());
  }

  /** Checks a decoded event against this shape; the label, when present, as a sample's. */
  public void check(ImageEvent event) {
    checkInput(event.getPixels(), event.getFeatures());
    if (event.getLabel() != null) {
      checkLabel(event.getLabel());
    }
  }

  private void checkInput(ByteBuffer pixels, List<Float> features) {
    boolean hasFeatures = features != null && !features.isEmpty();
    if (images && hasFeatures) {
      throw new InvalidPayloadException(
          PayloadError.WRONG_INPUT_KIND,
          "has " + features.size() + " features, but the model takes images (pixels)");
    }
    if (!images && !hasFeatures) {
      throw new InvalidPayloadException(
          PayloadError.WRONG_INPUT_KIND,
          "has " + pixels.remaining() + " pixels, but the model takes feature vectors (features)");
    }
    if (images && pixels.remaining() != inputs) {
      throw new InvalidPayloadException(
          PayloadError.BAD_PIXEL_COUNT,
          "pixels has " + pixels.remaining() + " bytes, expected " + inputs);
    }
    if (!images && features.size() != inputs) {
      throw new InvalidPayloadException(
          PayloadError.BAD_FEATURE_COUNT,
          "features has " + features.size() + " values, expected " + inputs);
    }
  }

  private void checkLabel(int label) {
    if (label < 0 || label >= classes) {
      throw new InvalidPayloadException(
          PayloadError.BAD_LABEL, "label is " + label + ", expected 0-" + (classes - 1));
    }
  }
}
