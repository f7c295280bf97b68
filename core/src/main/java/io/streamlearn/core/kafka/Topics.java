package io.streamlearn.core.kafka;

import io.streamlearn.contract.ImageEvent;
import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.contract.Prediction;
import io.streamlearn.contract.TrainingSample;
import io.streamlearn.contract.avro.Codecs;
import org.apache.avro.specific.SpecificRecord;

/** Every topic streamlearn reads or writes, declared once. */
public final class Topics {
  /** Labelled samples to learn from; key = sampleId. */
  public static final Topic<TrainingSample> TRAINING =
      new Topic<>("mnist.train", Codecs.TRAINING_SAMPLE);

  /** Live images to classify; key = imageId. */
  public static final Topic<ImageEvent> IMAGES = new Topic<>("mnist.images", Codecs.IMAGE_EVENT);

  /** Versioned weights, compacted; key = modelId. */
  public static final Topic<ModelSnapshot> SNAPSHOTS =
      new Topic<>("mnist.model.snapshots", Codecs.MODEL_SNAPSHOT);

  /** The scorer's answers; key = imageId. */
  public static final Topic<Prediction> PREDICTIONS =
      new Topic<>("mnist.predictions", Codecs.PREDICTION);

  /**
   * Records no service could process: the original key and bytes, with the reason in headers (see
   * DeadLetter).
   */
  public static final Topic<SpecificRecord> DEAD_LETTERS = new Topic<>("mnist.dlq", null);

  private Topics() {}
}
