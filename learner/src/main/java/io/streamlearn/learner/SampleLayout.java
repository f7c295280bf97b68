package io.streamlearn.learner;

import io.streamlearn.contract.TrainingSample;
import io.streamlearn.contract.avro.Codecs;
import io.streamlearn.contract.avro.InputShape;
import io.streamlearn.contract.avro.InvalidPayloadException;
import io.streamlearn.model.ModelSpec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * How the learner holds one waiting sample, in the ring and between its processors: the label as an
 * unsigned byte (two bytes, little-endian, past 256 classes), then the inputs as the spec takes
 * them: pixels as bytes for an image model (floats would quadruple the ring and its changelog),
 * features as float32 little-endian for a feature model. MNIST's layout, {@code [label, 784
 * pixels]}, is the one earlier releases stored. Immutable.
 */
final class SampleLayout {
  /** MNIST's: 785 bytes. */
  static final SampleLayout MNIST = new SampleLayout(ModelSpec.MNIST);

  private final InputShape shape;
  private final int inputs;
  private final boolean images;
  private final int labelBytes;

  SampleLayout(ModelSpec spec) {
    this.shape = spec.shape();
    this.inputs = shape.inputs();
    this.images = shape.images();
    this.labelBytes = shape.classes() <= 256 ? 1 : 2;
  }

  /** Bytes of one sample. */
  int bytes() {
    return labelBytes + (images ? inputs : 4 * inputs);
  }

  /**
   * Decodes a TrainingSample, checks it against the spec's shape and writes it into {@code
   * compact[0, bytes)}.
   *
   * @throws InvalidPayloadException with the reason, for a record the model cannot train on
   */
  void decodeInto(byte[] value, byte[] compact) {
    TrainingSample sample = Codecs.TRAINING_SAMPLE.decode(value);
    shape.check(sample);
    write(sample, compact);
  }

  /** Writes a checked sample (its shape is the spec's) into {@code compact[0, bytes)}. */
  void write(TrainingSample sample, byte[] compact) {
    int label = sample.getLabel();
    compact[0] = (byte) label;
    if (labelBytes == 2) {
      compact[1] = (byte) (label >>> 8);
    }
    if (images) {
      sample.getPixels().duplicate().get(compact, labelBytes, inputs);
    } else {
      ByteBuffer out =
          ByteBuffer.wrap(compact, labelBytes, 4 * inputs).order(ByteOrder.LITTLE_ENDIAN);
      List<Float> features = sample.getFeatures();
      for (int i = 0; i < inputs; i++) {
        out.putFloat(features.get(i));
      }
    }
  }

  /** The label of the sample at {@code offset}. */
  int label(byte[] samples, int offset) {
    int label = samples[offset] & 0xff;
    return labelBytes == 2 ? label | (samples[offset + 1] & 0xff) << 8 : label;
  }

  /** Offset of the inputs within a sample. */
  int inputsAt() {
    return labelBytes;
  }

  /** Whether the inputs are pixels (bytes) rather than features (floats). */
  boolean images() {
    return images;
  }

  /**
   * Copies the raw inputs (pixel values 0-255, or the features) of the sample at {@code offset}.
   */
  void copyInputs(byte[] samples, int offset, float[] row) {
    int at = offset + labelBytes;
    if (images) {
      for (int i = 0; i < inputs; i++) {
        row[i] = samples[at + i] & 0xff;
      }
    } else {
      for (int i = 0; i < inputs; i++, at += 4) {
        row[i] =
            Float.intBitsToFloat(
                (samples[at] & 0xff)
                    | (samples[at + 1] & 0xff) << 8
                    | (samples[at + 2] & 0xff) << 16
                    | samples[at + 3] << 24);
      }
    }
  }
}
