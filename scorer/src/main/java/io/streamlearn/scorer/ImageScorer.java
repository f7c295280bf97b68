package io.streamlearn.scorer;

import io.streamlearn.contract.ImageEvent;
import io.streamlearn.contract.Prediction;
import io.streamlearn.contract.avro.Codecs;
import io.streamlearn.contract.avro.InputShape;
import io.streamlearn.contract.avro.InvalidPayloadException;
import io.streamlearn.core.kafka.DeadLetter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a micro-batch of ImageEvent records into Prediction records keyed by image id, all scored
 * by the one model in use when the batch began. An event that does not decode or does not fit that
 * model's spec (its kind of input, width, label range) becomes a dead letter in the contract's
 * format, in place; the batch goes on. One per scoring thread.
 */
final class ImageScorer implements ScoringLoop.Transform {
  private static final Logger log = LoggerFactory.getLogger(ImageScorer.class);
  static final String SERVICE = "scorer";

  private final ModelHolder holder;
  private final ScorerMetrics metrics;
  private final String predictionsTopic;
  private final String deadLetterTopic;
  private final Clock clock;
  private final Classifier classifier = new Classifier();
  private final List<ImageEvent> events = new ArrayList<>();
  private final List<ConsumerRecord<byte[], byte[]>> sources = new ArrayList<>();
  private final EventRows rows = new EventRows();
  private float[] probabilities = new float[0];

  ImageScorer(
      ModelHolder holder,
      ScorerMetrics metrics,
      String predictionsTopic,
      String deadLetterTopic,
      Clock clock) {
    this.holder = holder;
    this.metrics = metrics;
    this.predictionsTopic = predictionsTopic;
    this.deadLetterTopic = deadLetterTopic;
    this.clock = clock;
  }

  @Override
  public void apply(
      ConsumerRecords<byte[], byte[]> batch, List<ProducerRecord<byte[], byte[]>> out) {
    long start = System.nanoTime();
    ServingModel model =
        holder.current().orElseThrow(() -> new IllegalStateException("scoring before a model"));
    events.clear();
    sources.clear();
    InputShape shape = model.spec().shape();
    for (ConsumerRecord<byte[], byte[]> record : batch) {
      try {
        ImageEvent event = Codecs.IMAGE_EVENT.decode(record.value());
        shape.check(event);
        events.add(event);
        sources.add(record);
      } catch (InvalidPayloadException e) {
        out.add(deadLetter(record, e));
      }
    }
    int n = events.size();
    if (n > 0) {
      int classes = model.network().outputs();
      if (probabilities.length < n * classes) {
        probabilities = new float[n * classes];
      }
      classifier.classify(model, rows, n, probabilities);
      Instant scoredAt = clock.instant();
      for (int i = 0; i < n; i++) {
        ImageEvent event = events.get(i);
        int digit = Classifier.argmax(probabilities, i * classes, classes);
        List<Float> p = new ArrayList<>(classes);
        for (int c = 0; c < classes; c++) {
          p.add(probabilities[i * classes + c]);
        }
        Prediction prediction =
            Prediction.newBuilder()
                .setImageId(event.getImageId())
                .setDigit(digit)
                .setProbabilities(p)
                .setModelId(model.modelId())
                .setModelVersion(model.version())
                .setSnapshotCreatedAt(model.createdAt())
                .setEventTime(event.getEventTime())
                .setScoredAt(scoredAt)
                .setLabel(event.getLabel())
                .setClassName(model.className(digit))
                .build();
        out.add(
            new ProducerRecord<>(
                predictionsTopic,
                event.getImageId().getBytes(StandardCharsets.UTF_8),
                Codecs.PREDICTION.encode(prediction)));
        metrics.prediction(
            digit, event.getLabel(), scoredAt.toEpochMilli() - event.getEventTime().toEpochMilli());
      }
    }
    metrics.batch(System.nanoTime() - start);
  }

  private ProducerRecord<byte[], byte[]> deadLetter(
      ConsumerRecord<byte[], byte[]> record, InvalidPayloadException e) {
    log.warn(
        "dead-lettering {}/{}@{}: {}",
        record.topic(),
        record.partition(),
        record.offset(),
        e.getMessage());
    metrics.deadLetter(e.reason());
    return DeadLetter.record(deadLetterTopic, record, e, SERVICE);
  }

  /** The inputs of the decoded events: pixels read in place from their buffers, or features. */
  private final class EventRows implements Classifier.Rows {
    @Override
    public byte[] bytes(int row) {
      ImageEvent event = events.get(row);
      if (event.getFeatures() != null && !event.getFeatures().isEmpty()) {
        return null;
      }
      ByteBuffer pixels = event.getPixels();
      return pixels.hasArray() ? pixels.array() : copy(pixels);
    }

    @Override
    public void copy(int row, float[] into) {
      List<Float> features = events.get(row).getFeatures();
      if (features == null || features.isEmpty()) {
        Classifier.Rows.super.copy(row, into);
        return;
      }
      for (int i = 0; i < into.length; i++) {
        into[i] = features.get(i);
      }
    }

    @Override
    public int offset(int row) {
      ByteBuffer pixels = events.get(row).getPixels();
      return pixels.hasArray() ? pixels.arrayOffset() + pixels.position() : 0;
    }

    private byte[] copy(ByteBuffer pixels) {
      byte[] bytes = new byte[pixels.remaining()];
      pixels.duplicate().get(bytes);
      return bytes;
    }
  }
}
