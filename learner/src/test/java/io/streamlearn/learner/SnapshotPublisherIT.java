package io.streamlearn.learner;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.contract.WeightsKind;
import io.streamlearn.contract.avro.Codecs;
import io.streamlearn.core.config.ConfigBuilder;
import io.streamlearn.model.DenseNetwork;
import io.streamlearn.model.Snapshots;
import io.streamlearn.testkit.Await;
import io.streamlearn.testkit.RealKafka;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The snapshot publisher on a real broker: order, visibility to read_committed readers, fencing of
 * a zombie.
 */
@Tag("real-kafka")
class SnapshotPublisherIT {
  @RegisterExtension static final RealKafka kafka = new RealKafka();
  private static final String MODEL = "m";
  private static final byte[] KEY = MODEL.getBytes(StandardCharsets.UTF_8);

  private static LearnerSettings.Config config(String topic) {
    return publisher(topic, "publisher-it").build();
  }

  /** A publisher's settings: model {@link #MODEL} of {@code applicationId} to {@code topic}. */
  private static ConfigBuilder<LearnerSettings.Config> publisher(
      String topic, String applicationId) {
    return LearnerSettings.builder()
        .set(LearnerSettings.BOOTSTRAP_SERVERS, kafka.bootstrapServers())
        .set(LearnerSettings.SNAPSHOT_TOPIC, topic)
        .set(LearnerSettings.MODEL_ID, MODEL)
        .set(LearnerSettings.APPLICATION_ID, applicationId);
  }

  private static byte[] snapshot(LearnerSettings.Config config, long version, String runId) {
    DenseNetwork network =
        DenseNetwork.initialized(config.sizes(), DataType.FLOAT, version, DenseNetwork.Init.HE);
    return Codecs.MODEL_SNAPSHOT.encode(
        Snapshots.build(
            new Snapshots.Header(
                MODEL,
                version,
                Instant.ofEpochMilli(1_000 * version),
                runId,
                WeightsKind.RAW,
                64 * version,
                version,
                null,
                null),
            config.sizes(),
            network.parameters()));
  }

  private static void createTopic(String topic) throws Exception {
    kafka.createTopic(
        topic, 1, Map.of("cleanup.policy", "compact", "max.message.bytes", "2000000"));
  }

  @Test
  void publishesInOrderAndTheNewestHandedOverIsVisibleAfterClose() throws Exception {
    String topic = RealKafka.uniqueName("publisher-order");
    createTopic(topic);
    LearnerSettings.Config config = config(topic);
    SnapshotPublisher publisher = new SnapshotPublisher(config);
    try (publisher) {
      assertEquals(
          SnapshotVersions.Newest.NONE, publisher.open(), "an empty topic has no snapshot yet");
      for (long v = 1; v <= 20; v++) {
        publisher.publish(KEY, snapshot(config, v, "run"), 1_000 * v);
      }
    }
    long superseded = publisher.superseded();
    List<Long> versions =
        SnapshotTopic.readAll(kafka.bootstrapServers(), topic).stream()
            .map(ModelSnapshot::getVersion)
            .toList();
    SnapshotTopic.assertStrictlyIncreasingVersions(
        SnapshotTopic.readAll(kafka.bootstrapServers(), topic));
    assertEquals(
        20L,
        versions.get(versions.size() - 1),
        "the newest handed over is out after close: " + versions);
    assertEquals(
        20, versions.size() + superseded, "each snapshot published or replaced by a newer one");

    try (SnapshotPublisher next = new SnapshotPublisher(config)) {
      assertEquals(
          new SnapshotVersions.Newest(20, "run", 64 * 20),
          next.open(),
          "the next publisher learns the newest snapshot's version, lineage and samples");
    }
  }

  @Test
  void atLeastOnceAnIdempotentProducerPublishesWithoutTransactions() throws Exception {
    String topic = RealKafka.uniqueName("publisher-alos");
    createTopic(topic);
    LearnerSettings.Config config =
        publisher(topic, "publisher-it")
            .set(LearnerSettings.PROCESSING_GUARANTEE, "at_least_once")
            .build();
    try (SnapshotPublisher publisher = new SnapshotPublisher(config)) {
      assertEquals(0, publisher.open().version());
      publisher.publish(KEY, snapshot(config, 1, "run"), 1_000);
    }
    assertEquals(
        List.of(1L),
        SnapshotTopic.readAll(kafka.bootstrapServers(), topic).stream()
            .map(ModelSnapshot::getVersion)
            .toList());
    try (SnapshotPublisher next = new SnapshotPublisher(config)) {
      assertEquals(1, next.open().version(), "the next one continues after it");
    }
  }

  /**
   * A learner that lost its task but still runs (a zombie), or a learner of another application
   * publishing the same model, must not publish once the new owner opened: opening fences it, and
   * the new owner continues after the newest version the other got out.
   */
  @Test
  void openingASecondPublisherFencesTheFirstWhichThenFailsAndPublishesNothing() throws Exception {
    String topic = RealKafka.uniqueName("publisher-fencing");
    createTopic(topic);
    LearnerSettings.Config config = config(topic);
    LearnerSettings.Config otherApplication = publisher(topic, "another-learner").build();
    try (SnapshotPublisher zombie = new SnapshotPublisher(config);
        SnapshotPublisher owner = new SnapshotPublisher(otherApplication)) {
      assertEquals(0, zombie.open().version());
      zombie.publish(KEY, snapshot(config, 1, "zombie"), 1_000);
      SnapshotTopic.awaitSnapshot(
          kafka.bootstrapServers(),
          topic,
          s -> s.getVersion() == 1,
          Duration.ofSeconds(30),
          "v1 from the first publisher");
      zombie.publish(KEY, snapshot(config, 2, "zombie"), 2_000);
      SnapshotTopic.awaitSnapshot(
          kafka.bootstrapServers(),
          topic,
          s -> s.getVersion() == 2,
          Duration.ofSeconds(30),
          "v2 from the first publisher");

      assertEquals(
          2,
          owner.open().version(),
          "the new owner sees what the zombie got out before it was fenced");

      // Each attempt publishes a newer version; the wait ends on the refusal, whenever it comes.
      long[] version = {3};
      Await.until(
          () -> {
            try {
              zombie.publish(KEY, snapshot(config, version[0], "zombie"), 1_000 * version[0]);
              version[0]++;
              return false;
            } catch (IllegalStateException refused) {
              return true;
            }
          },
          Duration.ofSeconds(30),
          "the fenced publisher refusing a snapshot");

      owner.publish(KEY, snapshot(config, 3, "owner"), 3_000);
    }
    List<ModelSnapshot> all = SnapshotTopic.readAll(kafka.bootstrapServers(), topic);
    assertEquals(
        List.of(1L, 2L, 3L),
        all.stream().map(ModelSnapshot::getVersion).toList(),
        "nothing from the zombie after the owner opened");
    assertEquals("owner", all.get(2).getRunId());
  }
}
