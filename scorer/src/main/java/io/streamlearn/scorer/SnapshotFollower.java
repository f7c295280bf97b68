package io.streamlearn.scorer;

import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.core.kafka.KafkaClients;
import io.streamlearn.core.kafka.TopicReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows the compacted snapshot topic: reads it from the beginning with {@code
 * isolation.level=read_committed} (snapshots of an aborted learner transaction are never seen),
 * with no consumer group, so every scorer instance reads every snapshot whatever its group. It
 * reads up to the end offsets found at start, checking each snapshot of its model as it comes
 * ({@link ModelHolder#check}) and keeping only the newest that passes (and that the lineage rule
 * lets replace the one kept before, as a running scorer would), offers that one and then tells the
 * {@link ModelHolder} it has caught up, so the scorer begins with the newest valid snapshot however
 * many bad records follow it; later snapshots are offered as they arrive. Records keyed by other
 * model ids are skipped; tombstones are ignored.
 */
final class SnapshotFollower implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(SnapshotFollower.class);
  private static final Duration POLL = Duration.ofMillis(100);

  private final KafkaConsumer<byte[], byte[]> consumer;
  private final String topic;
  private final ModelHolder holder;
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final byte[] modelKey;

  SnapshotFollower(Map<String, Object> client, String topic, ModelHolder holder) {
    Map<String, Object> props = KafkaClients.committedReader(client);
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    // One snapshot of a large network can exceed the default per-partition fetch of 1 MB.
    props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 64 * 1024 * 1024);
    props.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, 64 * 1024 * 1024);
    props.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 50);
    props.put(ConsumerConfig.CLIENT_ID_CONFIG, "scorer-snapshots-" + holder.modelId());
    this.consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    this.topic = topic;
    this.holder = holder;
    this.modelKey = holder.modelId().getBytes(StandardCharsets.UTF_8);
  }

  KafkaConsumer<byte[], byte[]> consumer() {
    return consumer;
  }

  @Override
  public void run() {
    try {
      List<TopicPartition> partitions = awaitPartitions();
      if (partitions == null) {
        return;
      }
      TopicReader.End end = TopicReader.End.of(consumer, partitions, Duration.ofSeconds(30));
      log.info(
          "reading snapshots of model {} from {} up to offsets {}", holder.modelId(), topic, end);
      boolean caughtUp = false;
      // While catching up, only the newest snapshot that passes its checks is kept: the part of the
      // topic not yet
      // compacted may hold many, and bad records may follow the last good one.
      ConsumerRecord<byte[], byte[]> newestValid = null;
      ModelSnapshot newestValidSnapshot = null;
      while (running.get()) {
        ConsumerRecords<byte[], byte[]> records = consumer.poll(POLL);
        for (ConsumerRecord<byte[], byte[]> record : records) {
          if (record.value() != null && java.util.Arrays.equals(record.key(), modelKey)) {
            if (caughtUp) {
              offer(record);
              continue;
            }
            // The rule a running scorer applies as each arrives, so a restarted one ends where a
            // running one is.
            Optional<ModelSnapshot> valid = holder.check(record.value(), origin(record));
            if (valid.isPresent()
                && (newestValidSnapshot == null
                    || ModelHolder.lineageRule(
                            valid.get(),
                            newestValidSnapshot.getRunId(),
                            newestValidSnapshot.getVersion(),
                            newestValidSnapshot.getSamplesSeen())
                        == null)) {
              newestValid = record;
              newestValidSnapshot = valid.get();
            }
          }
        }
        if (!caughtUp) {
          if (end.reachedBy(consumer)) {
            caughtUp = true;
            if (newestValid != null) {
              offer(newestValid);
              newestValid = null;
              newestValidSnapshot = null;
            }
            holder.caughtUp();
            log.info(
                "caught up with {}: {}",
                topic,
                holder
                    .current()
                    .map(m -> "serving v" + m.version())
                    .orElse("no snapshot of model " + holder.modelId() + " yet"));
          }
        }
      }
    } catch (WakeupException e) {
      if (running.get()) {
        throw e;
      }
    } finally {
      consumer.close(Duration.ofSeconds(5));
    }
  }

  private ModelHolder.Outcome offer(ConsumerRecord<byte[], byte[]> record) {
    return holder.offer(record.value(), origin(record));
  }

  private static String origin(ConsumerRecord<byte[], byte[]> record) {
    return record.topic() + "/" + record.partition() + "@" + record.offset();
  }

  /** Waits for the snapshot topic to exist (the learner creates it); null when stopped first. */
  private List<TopicPartition> awaitPartitions() {
    long lastLog = 0;
    while (running.get()) {
      List<TopicPartition> partitions =
          TopicReader.assignFromBeginning(consumer, topic, Duration.ofSeconds(10));
      if (!partitions.isEmpty()) {
        return partitions;
      }
      if (System.currentTimeMillis() - lastLog > 10_000) {
        log.info(
            "waiting for snapshot topic {} (the learner creates it); scoring starts with the first model",
            topic);
        lastLog = System.currentTimeMillis();
      }
      try {
        Thread.sleep(500);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return null;
      }
    }
    return null;
  }

  void stop() {
    running.set(false);
    consumer.wakeup();
  }
}
