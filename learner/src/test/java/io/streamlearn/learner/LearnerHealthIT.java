package io.streamlearn.learner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamlearn.core.kafka.KafkaClients;
import io.streamlearn.mnist.MnistFetcher;
import io.streamlearn.producer.ProducerSettings;
import io.streamlearn.testkit.Await;
import io.streamlearn.testkit.RealKafka;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The learner's probes and its lag, on a real broker: ready once RUNNING, not ready once a snapshot
 * publication failed (another publisher fenced it); the lag gauge is what the broker holds beyond
 * the group's commits.
 */
class LearnerHealthIT {
  @RegisterExtension static final RealKafka kafka = new RealKafka();
  private static final Duration TIMEOUT = Duration.ofMinutes(2);
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void fetchMnist() {
    MnistFetcher.ensureDefault();
  }

  @Test
  void readyWhileRunningAndNotReadyOnceItsSnapshotPublisherFailed(@TempDir Path state)
      throws Exception {
    String train = RealKafka.uniqueName("health-train");
    LearnerSettings.Config config =
        LearnerSettings.builder()
            .set(LearnerSettings.BOOTSTRAP_SERVERS, kafka.bootstrapServers())
            .set(LearnerSettings.APPLICATION_ID, RealKafka.uniqueName("health-learner"))
            .set(LearnerSettings.TRAINING_TOPIC, train)
            .set(LearnerSettings.SNAPSHOT_TOPIC, RealKafka.uniqueName("health-snapshots"))
            .set(LearnerSettings.DEAD_LETTER_TOPIC, RealKafka.uniqueName("health-dlq"))
            .set(LearnerSettings.PARTITIONS, 1)
            .set(LearnerSettings.STATE_DIR, state)
            .set(LearnerSettings.METRICS_PORT, 0)
            .set(LearnerSettings.SNAPSHOT_INTERVAL, 10L)
            .build();
    try (Learner learner = Learner.start(config)) {
      Await.until(() -> get(learner, "/health/ready").statusCode() == 200, TIMEOUT, "never ready");
      HttpResponse<String> live = get(learner, "/health/live");
      assertEquals(200, live.statusCode(), live.body());
      assertTrue(get(learner, "/health/ready").body().contains("\"state\":\"RUNNING\""));

      LearnerIT.produce(
          LearnerIT.producer(kafka.bootstrapServers(), train).set(ProducerSettings.LIMIT, 256L));
      Await.until(() -> learner.samplesTrained() >= 256, TIMEOUT, "did not train 256 samples");
      // Another learner of the same model takes the snapshot topic over: this one's next
      // publication is fenced.
      try (SnapshotPublisher other = new SnapshotPublisher(config)) {
        other.open();
        LearnerIT.produce(
            LearnerIT.producer(kafka.bootstrapServers(), train).set(ProducerSettings.LIMIT, 256L));
        Await.until(
            () -> {
              HttpResponse<String> ready = get(learner, "/health/ready");
              return ready.statusCode() == 503
                  && ready.body().contains("\"snapshotPublisher\":\"failed\"");
            },
            TIMEOUT,
            () ->
                "still ready after its publisher was fenced: "
                    + get(learner, "/health/ready").body());
      }
      assertEquals(0.0, learner.registry().get("streamlearn.learner.ready").gauge().value());
      assertTrue(
          learner
                  .registry()
                  .get("streamlearn.learner.snapshot.publication.failures")
                  .counter()
                  .count()
              >= 1);
    }
  }

  @Test
  void lagIsTheEndOffsetsBeyondTheGroupsCommits() throws Exception {
    String topic = RealKafka.uniqueName("lag-topic");
    String group = RealKafka.uniqueName("lag-group");
    kafka.createTopic(topic, 2, Map.of());
    LearnerIT.produce(
        LearnerIT.producer(kafka.bootstrapServers(), topic)
            .set(ProducerSettings.LIMIT, 100L)
            .set(ProducerSettings.PARTITIONS, 2));
    var registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
    try (io.streamlearn.core.kafka.GroupLag lag =
        io.streamlearn.core.kafka.GroupLag.start(
            kafka.clientProperties(),
            group,
            () -> java.util.List.of(topic),
            Duration.ofMillis(200),
            registry,
            "test.lag",
            "test")) {
      Await.until(
          () -> lag.value() == 100, TIMEOUT, () -> "lag with nothing committed: " + lag.value());
      try (KafkaConsumer<byte[], byte[]> consumer =
          new KafkaConsumer<>(
              KafkaClients.properties(
                  kafka.bootstrapServers(), Map.of("group.id", group), Map.of()),
              new ByteArrayDeserializer(),
              new ByteArrayDeserializer())) {
        consumer.commitSync(Map.of(new TopicPartition(topic, 0), new OffsetAndMetadata(10)));
      }
      long partition0 =
          kafka
              .admin()
              .listOffsets(
                  Map.of(
                      new TopicPartition(topic, 0),
                      org.apache.kafka.clients.admin.OffsetSpec.latest()))
              .all()
              .get()
              .get(new TopicPartition(topic, 0))
              .offset();
      double expected = 100 - Math.min(10, partition0);
      Await.until(
          () -> lag.value() == expected,
          TIMEOUT,
          () -> "lag after a commit at 10: " + lag.value() + ", expected " + expected);
      assertEquals(expected, registry.get("test.lag").gauge().value());
    }
  }

  private HttpResponse<String> get(Learner learner, String path) {
    try {
      return http.send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + learner.metricsPort() + path))
              .timeout(Duration.ofSeconds(10))
              .build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
