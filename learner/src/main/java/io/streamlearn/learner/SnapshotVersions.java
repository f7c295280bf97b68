package io.streamlearn.learner;

import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.core.avro.Codecs;
import io.streamlearn.core.avro.InvalidPayloadException;
import io.streamlearn.model.InvalidSnapshotException;
import io.streamlearn.model.Snapshots;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

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
    Map<String, Object> props = new HashMap<>(clientProperties);
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    props.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
    props.remove(ConsumerConfig.GROUP_ID_CONFIG);
    Newest newest = Newest.NONE;
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = new ArrayList<>();
      for (PartitionInfo p : consumer.partitionsFor(topic, timeout)) {
        partitions.add(new TopicPartition(topic, p.partition()));
      }
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions, timeout);
      long deadline = System.nanoTime() + timeout.toNanos();
      while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(
              "could not read "
                  + topic
                  + " to its end within "
                  + timeout.toMillis()
                  + " ms to find the newest snapshot version of "
                  + modelId);
        }
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          if (modelId.equals(r.key())) {
            try {
              ModelSnapshot s = Codecs.MODEL_SNAPSHOT.decode(r.value());
              if (modelId.equals(s.getModelId())
                  && s.getVersion() > newest.version()
                  && s.getVersion() <= Snapshots.MAX_VERSION) {
                newest =
                    valid(s, sizes)
                        ? new Newest(s.getVersion(), s.getRunId(), s.getSamplesSeen())
                        : Newest.version(s.getVersion());
              }
            } catch (InvalidPayloadException e) {
              // not ours to judge here: the scorer rejects it; versions come from valid snapshots
            }
          }
        }
      }
    }
    return newest;
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
