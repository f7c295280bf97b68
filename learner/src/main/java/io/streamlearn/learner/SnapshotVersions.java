package io.streamlearn.learner;

import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.core.kafka.Decoded;
import io.streamlearn.core.kafka.KafkaClients;
import io.streamlearn.core.kafka.Topic;
import io.streamlearn.core.kafka.TopicReader;
import io.streamlearn.core.kafka.Topics;
import io.streamlearn.model.InvalidSnapshotException;
import io.streamlearn.model.Snapshots;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.clients.consumer.KafkaConsumer;

/**
 * Finds the newest committed snapshot of a model on the (compacted) snapshot topic. The trainer's
 * {@link SnapshotPublisher} reads it each time the trainer's task starts, after fencing earlier
 * publishers, so the version sequence continues after every version already out (after a crash, and
 * with empty state), and a learner restarted on the same lineage publishes nothing until it has
 * trained past that snapshot's samples. Records that do not decode, and versions above {@link
 * Snapshots#MAX_VERSION}, are not ours to judge here and are skipped (scorers reject them).
 */
final class SnapshotVersions {
  private SnapshotVersions() {}

  /** The identity of the newest snapshot published: its version, lineage and samples seen. */
  record Newest(long version, String runId, long samplesSeen) {
    /** Nothing published yet. */
    static final Newest NONE = new Newest(0, null, 0);

    /** Only a version known (tests that say which version is already out). */
    static Newest version(long version) {
      return new Newest(version, null, 0);
    }
  }

  /**
   * The highest version of {@code modelId} on the topic (so versions continue after it whatever it
   * is), with the lineage and samples of that snapshot only when it is a valid network of {@code
   * sizes} (a record anyone wrote with a made-up lineage must not hold a learner back); {@link
   * Newest#NONE} when there is none.
   */
  static Newest newest(
      Map<String, Object> clientProperties,
      String topic,
      String modelId,
      int[] sizes,
      Duration timeout) {
    Newest[] newest = {Newest.NONE};
    Topic<ModelSnapshot> snapshots = Topics.SNAPSHOTS.named(topic);
    try (KafkaConsumer<String, Decoded<ModelSnapshot>> consumer =
        new KafkaConsumer<>(
            KafkaClients.committedReader(clientProperties),
            snapshots.keys().deserializer(),
            snapshots.decodedOrRaw())) {
      TopicReader.readToEnd(
          consumer,
          topic,
          timeout,
          r -> {
            // A record that does not decode is not ours to judge here: the scorer rejects it;
            // versions come from records that decode.
            ModelSnapshot s = r.value() == null ? null : r.value().value(); // null: a tombstone
            if (modelId.equals(r.key())
                && s != null
                && modelId.equals(s.getModelId())
                && s.getVersion() > newest[0].version()
                && s.getVersion() <= Snapshots.MAX_VERSION) {
              newest[0] =
                  valid(s, sizes)
                      ? new Newest(s.getVersion(), s.getRunId(), s.getSamplesSeen())
                      : Newest.version(s.getVersion());
            }
          });
    } catch (IllegalStateException e) {
      throw new IllegalStateException(
          e.getMessage() + ", to find the newest snapshot version of " + modelId, e);
    }
    return newest[0];
  }

  private static boolean valid(ModelSnapshot snapshot, int[] sizes) {
    try {
      Snapshots.toNetwork(snapshot, sizes);
      return true;
    } catch (InvalidSnapshotException e) {
      return false;
    }
  }
}
