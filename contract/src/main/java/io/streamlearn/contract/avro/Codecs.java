package io.streamlearn.contract.avro;

import io.streamlearn.contract.ImageEvent;
import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.contract.Prediction;
import io.streamlearn.contract.TrainingSample;
import java.nio.ByteBuffer;

/**
 * The one codec per record type of the contract, with the checks the contract makes beyond the
 * schema.
 */
public final class Codecs {
  /** Pixels per image: 28 x 28, row-major. */
  public static final int PIXELS = 784;

  /** Classes (digits 0-9). */
  public static final int CLASSES = 10;

  public static final AvroCodec<TrainingSample> TRAINING_SAMPLE =
      AvroCodec.of(
          TrainingSample.class,
          s -> {
            checkPixels(s.getPixels());
            checkLabel("label", s.getLabel());
          });

  public static final AvroCodec<ImageEvent> IMAGE_EVENT =
      AvroCodec.of(
          ImageEvent.class,
          e -> {
            checkPixels(e.getPixels());
            if (e.getLabel() != null) {
              checkLabel("label", e.getLabel());
            }
          });

  public static final AvroCodec<ModelSnapshot> MODEL_SNAPSHOT =
      AvroCodec.of(ModelSnapshot.class, s -> {});

  public static final AvroCodec<Prediction> PREDICTION =
      AvroCodec.of(
          Prediction.class,
          p -> {
            checkLabel("digit", p.getDigit());
            if (p.getLabel() != null) {
              checkLabel("label", p.getLabel());
            }
            if (p.getProbabilities().size() != CLASSES) {
              throw new InvalidPayloadException(
                  PayloadError.INVALID_FIELD,
                  "probabilities has "
                      + p.getProbabilities().size()
                      + " values, expected "
                      + CLASSES);
            }
          });

  private Codecs() {}

  private static void checkPixels(ByteBuffer pixels) {
    if (pixels.remaining() != PIXELS) {
      throw new InvalidPayloadException(
          PayloadError.BAD_PIXEL_COUNT,
          "pixels has " + pixels.remaining() + " bytes, expected " + PIXELS);
    }
  }

  private static void checkLabel(String field, int value) {
    if (value < 0 || value >= CLASSES) {
      throw new InvalidPayloadException(
          PayloadError.BAD_LABEL, field + " is " + value + ", expected 0-9");
    }
  }
}
