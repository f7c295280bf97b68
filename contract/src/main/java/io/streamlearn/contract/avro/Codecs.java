package io.streamlearn.contract.avro;

import io.streamlearn.contract.ImageEvent;
import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.contract.Prediction;
import io.streamlearn.contract.TrainingSample;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * The one codec per record type of the contract, with the checks the contract makes beyond the
 * schema that hold for every model: exactly one of pixels and features, finite features, class
 * indexes not negative. What depends on a model (its width, its number of classes, whether it takes
 * images) is checked by {@link InputShape}.
 */
public final class Codecs {
  /** MNIST's pixels per image: 28 x 28, row-major (the default spec's inputs). */
  public static final int PIXELS = InputShape.MNIST.inputs();

  /** MNIST's classes, digits 0-9 (the default spec's classes). */
  public static final int CLASSES = InputShape.MNIST.classes();

  /**
   * The largest magnitude a feature may have: far beyond any measured quantity, and small enough
   * that the running variance of any mix of features stays a finite float32 (the square of 1e15 is
   * 1e30).
   */
  public static final float MAX_FEATURE_MAGNITUDE = 1e15f;

  public static final AvroCodec<TrainingSample> TRAINING_SAMPLE =
      AvroCodec.of(
          TrainingSample.class,
          s -> {
            checkInput(s.getPixels(), s.getFeatures());
            checkClassIndex("label", s.getLabel());
          });

  public static final AvroCodec<ImageEvent> IMAGE_EVENT =
      AvroCodec.of(
          ImageEvent.class,
          e -> {
            checkInput(e.getPixels(), e.getFeatures());
            if (e.getLabel() != null) {
              checkClassIndex("label", e.getLabel());
            }
          });

  public static final AvroCodec<ModelSnapshot> MODEL_SNAPSHOT =
      AvroCodec.of(ModelSnapshot.class, s -> {});

  public static final AvroCodec<Prediction> PREDICTION =
      AvroCodec.of(
          Prediction.class,
          p -> {
            int classes = p.getProbabilities().size();
            if (classes == 0) {
              throw new InvalidPayloadException(
                  PayloadError.INVALID_FIELD, "probabilities is empty, expected one per class");
            }
            checkClassIndex("digit", p.getDigit());
            if (p.getDigit() >= classes) {
              throw new InvalidPayloadException(
                  PayloadError.BAD_LABEL,
                  "digit is " + p.getDigit() + ", expected 0-" + (classes - 1));
            }
            if (p.getLabel() != null) {
              checkClassIndex("label", p.getLabel());
            }
          });

  private Codecs() {}

  /**
   * Exactly one of pixels and features non-empty; every feature finite.
   *
   * @throws InvalidPayloadException PIXELS_AND_FEATURES, NO_INPUT, NOT_FINITE or FEATURE_TOO_LARGE
   */
  static void checkInput(ByteBuffer pixels, List<Float> features) {
    boolean hasPixels = pixels.hasRemaining();
    boolean hasFeatures = features != null && !features.isEmpty();
    if (hasPixels && hasFeatures) {
      throw new InvalidPayloadException(
          PayloadError.PIXELS_AND_FEATURES,
          "has "
              + pixels.remaining()
              + " pixels and "
              + features.size()
              + " features, expected exactly one of them");
    }
    if (!hasPixels && !hasFeatures) {
      throw new InvalidPayloadException(
          PayloadError.NO_INPUT, "pixels and features are both empty, expected exactly one");
    }
    if (hasFeatures) {
      for (int i = 0; i < features.size(); i++) {
        float f = features.get(i);
        if (!Float.isFinite(f)) {
          throw new InvalidPayloadException(
              PayloadError.NOT_FINITE, "feature " + i + " is " + f + ", expected a finite number");
        }
        if (Math.abs(f) > MAX_FEATURE_MAGNITUDE) {
          throw new InvalidPayloadException(
              PayloadError.FEATURE_TOO_LARGE,
              "feature " + i + " is " + f + ", beyond +-" + MAX_FEATURE_MAGNITUDE);
        }
      }
    }
  }

  private static void checkClassIndex(String field, int value) {
    if (value < 0) {
      throw new InvalidPayloadException(
          PayloadError.BAD_LABEL, field + " is " + value + ", expected a class index of 0 or more");
    }
  }
}
