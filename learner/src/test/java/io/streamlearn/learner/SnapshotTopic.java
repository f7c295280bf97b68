package io.streamlearn.learner;

import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.contract.avro.Codecs;
import io.streamlearn.testkit.Await;
import io.streamlearn.testkit.RealKafka;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/** Reads committed snapshots from a snapshot topic, for integration tests. */
final class SnapshotTopic {
  private SnapshotTopic() {}

  /** Every committed snapshot on partition 0 of {@code topic}, in offset order. */
  static List<ModelSnapshot> readAll(String bootstrap, String topic) {
    List<ModelSnapshot> snapshots = new ArrayList<>();
    // An empty list while the topic does not exist (the learner creates it, compacted).
    for (ConsumerRecord<byte[], byte[]> r : RealKafka.readToEnd(bootstrap, topic)) {
      snapshots.add(Codecs.MODEL_SNAPSHOT.decode(r.value()));
    }
    return snapshots;
  }

  /** Polls the topic until its newest snapshot matches, or fails with the newest seen. */
  static ModelSnapshot awaitSnapshot(
      String bootstrap,
      String topic,
      Predicate<ModelSnapshot> condition,
      Duration timeout,
      String what) {
    return Await.value(
        () -> {
          List<ModelSnapshot> all = readAll(bootstrap, topic);
          return all.isEmpty() ? null : all.get(all.size() - 1);
        },
        newest -> newest != null && condition.test(newest),
        timeout,
        newest ->
            "a snapshot on "
                + topic
                + " "
                + what
                + " (newest: "
                + (newest == null
                    ? "none"
                    : "v" + newest.getVersion() + " with " + newest.getSamplesSeen() + " samples")
                + ")");
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
