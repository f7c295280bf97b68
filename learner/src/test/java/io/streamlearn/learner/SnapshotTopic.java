package io.streamlearn.learner;

import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.core.avro.Codecs;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/** Reads committed snapshots from a snapshot topic, for integration tests. */
final class SnapshotTopic {
  private SnapshotTopic() {}

  /** Every committed snapshot on partition 0 of {@code topic}, in offset order. */
  static List<ModelSnapshot> readAll(String bootstrap, String topic) {
    List<ModelSnapshot> snapshots = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(
            Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                bootstrap,
                ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                "read_committed",
                ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG,
                false),
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer())) {
      if (!consumer.listTopics(Duration.ofSeconds(30)).containsKey(topic)) {
        return snapshots; // not created yet (by the learner, with its compaction settings)
      }
      TopicPartition tp = new TopicPartition(topic, 0);
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      long end = consumer.endOffsets(List.of(tp)).get(tp);
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (consumer.position(tp) < end && System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          snapshots.add(Codecs.MODEL_SNAPSHOT.decode(r.value()));
        }
      }
    }
    return snapshots;
  }

  /** Polls the topic until a snapshot matches, or fails with the newest seen. */
  static ModelSnapshot awaitSnapshot(
      String bootstrap,
      String topic,
      Predicate<ModelSnapshot> condition,
      Duration timeout,
      String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    ModelSnapshot newest = null;
    while (System.nanoTime() < deadline) {
      List<ModelSnapshot> all = readAll(bootstrap, topic);
      if (!all.isEmpty()) {
        newest = all.get(all.size() - 1);
        if (condition.test(newest)) {
          return newest;
        }
      }
      Thread.sleep(500);
    }
    throw new AssertionError(
        "no snapshot on "
            + topic
            + " "
            + what
            + " within "
            + timeout.toMillis()
            + " ms; newest: "
            + (newest == null
                ? "none"
                : "v" + newest.getVersion() + " with " + newest.getSamplesSeen() + " samples"));
  }

  static void assertStrictlyIncreasingVersions(List<ModelSnapshot> snapshots) {
    for (int i = 1; i < snapshots.size(); i++) {
      long before = snapshots.get(i - 1).getVersion();
      long after = snapshots.get(i).getVersion();
      if (after <= before) {
        throw new AssertionError(
            "snapshot versions go from " + before + " to " + after + " at position " + i);
      }
    }
  }
}
