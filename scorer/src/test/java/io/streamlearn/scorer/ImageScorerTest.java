package io.streamlearn.scorer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.streamlearn.contract.ImageEvent;
import io.streamlearn.contract.Prediction;
import io.streamlearn.contract.WeightsKind;
import io.streamlearn.contract.avro.Codecs;
import io.streamlearn.contract.avro.PayloadError;
import io.streamlearn.core.kafka.DeadLetter;
import io.streamlearn.model.DenseNetwork;
import io.streamlearn.model.InputTransform;
import io.streamlearn.model.ModelSpec;
import io.streamlearn.model.Snapshots;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/** Events scored against the served model's spec: a feature model's answers and dead letters. */
class ImageScorerTest {
  private static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");
  private static final ModelSpec TABULAR =
      new ModelSpec(3, 2, List.of(), List.of("stays", "leaves"), null, true);

  private static ImageEvent event(List<Float> features, int pixels, Integer label) {
    return ImageEvent.newBuilder()
        .setImageId("e")
        .setPixels(ByteBuffer.wrap(new byte[pixels]))
        .setFeatures(features)
        .setEventTime(NOW)
        .setLabel(label)
        .build();
  }

  @Test
  void aFeatureModelScoresFeatureEventsAndDeadLettersEveryOtherKindWithItsReason() {
    Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
    ScorerMetrics metrics = new ScorerMetrics(new SimpleMeterRegistry(), 1, 100, clock);
    ModelHolder holder = new ModelHolder("m", clock, metrics);
    DenseNetwork network = DenseNetwork.initialized(new int[] {3, 4, 2}, DataType.FLOAT, 5);
    InputTransform.Standardize stats =
        new InputTransform.Standardize(
            new float[] {1f, 100f, 0f}, new float[] {4f, 1e4f, 1f}, 10, 1e-12f);
    assertTrue(
        holder
            .offer(
                Snapshots.build(
                    new Snapshots.Header("m", 1, NOW, "r", WeightsKind.RAW, 10, 1, null, null),
                    network.sizes(),
                    network.parameters(),
                    TABULAR,
                    stats),
                "test")
            .applied());
    ImageScorer scorer = new ImageScorer(holder, metrics, "predictions", "dlq", clock);
    List<ImageEvent> events =
        List.of(
            event(List.of(1f, 2f, 3f), 0, 1),
            event(null, 3, null),
            event(List.of(1f, 2f), 0, null),
            event(List.of(1f, 2f, 3f), 0, 2),
            event(List.of(1f, 2f, 3f), 3, null),
            event(List.of(4f, 5f, 6f), 0, null));
    List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
    for (int i = 0; i < events.size(); i++) {
      records.add(
          new ConsumerRecord<>(
              "events",
              0,
              i,
              ("e-" + i).getBytes(StandardCharsets.UTF_8),
              Codecs.IMAGE_EVENT.encode(events.get(i))));
    }
    List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();

    scorer.apply(new ConsumerRecords<>(Map.of(new TopicPartition("events", 0), records)), out);

    List<String> reasons = new ArrayList<>();
    List<Prediction> predictions = new ArrayList<>();
    for (ProducerRecord<byte[], byte[]> r : out) {
      if (r.topic().equals("dlq")) {
        reasons.add(DeadLetter.header(r.headers(), DeadLetter.REASON));
      } else {
        predictions.add(Codecs.PREDICTION.decode(r.value()));
      }
    }
    assertEquals(
        List.of(
            PayloadError.WRONG_INPUT_KIND.name(),
            PayloadError.BAD_FEATURE_COUNT.name(),
            PayloadError.BAD_LABEL.name(),
            PayloadError.PIXELS_AND_FEATURES.name()),
        reasons);
    assertEquals(2, predictions.size());
    for (Prediction p : predictions) {
      assertEquals(2, p.getProbabilities().size());
      assertEquals(TABULAR.classNames().get(p.getDigit()), p.getClassName());
      assertEquals(1, p.getModelVersion());
    }
    assertEquals(1, predictions.get(0).getLabel());
  }
}
