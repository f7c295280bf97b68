package io.streamlearn.learner;

import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.core.avro.Codecs;
import io.streamlearn.core.avro.InvalidPayloadException;
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
 * Finds the newest committed snapshot version of a model on the (compacted) snapshot topic. The trainer's
 * {@link SnapshotPublisher} reads it each time the trainer's task starts, after fencing earlier publishers, so the
 * version sequence continues after every version already out: after a crash, and with empty state.
 */
final class SnapshotVersions {
  private SnapshotVersions() {}

  /** The highest version published for {@code modelId}, or 0 when there is none. */
  static long newest(Map<String, Object> clientProperties, String topic, String modelId, Duration timeout) {
    Map<String, Object> props = new HashMap<>(clientProperties);
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    props.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
    props.remove(ConsumerConfig.GROUP_ID_CONFIG);
    long newest = 0;
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
          throw new IllegalStateException("could not read " + topic + " to its end within " + timeout.toMillis()
              + " ms to find the newest snapshot version of " + modelId);
        }
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          if (modelId.equals(r.key())) {
            try {
              ModelSnapshot s = Codecs.MODEL_SNAPSHOT.decode(r.value());
              newest = Math.max(newest, s.getVersion());
            } catch (InvalidPayloadException e) {
              // not ours to judge here: the scorer rejects it; versions come from valid snapshots
            }
          }
        }
      }
    }
    return newest;
  }
}
