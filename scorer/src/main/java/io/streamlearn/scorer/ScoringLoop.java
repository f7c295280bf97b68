package io.streamlearn.scorer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One consumer of a consumer group with its own producer: polls a micro-batch (what one poll
 * returns), turns it into output records with a {@link Transform}, sends them, waits until the
 * broker has acknowledged all of them, and only then commits the batch's offsets. Delivery is
 * therefore at-least-once: after a crash, a batch whose offsets were not committed is processed
 * again, and its outputs may appear twice (with the same keys).
 *
 * <p>The scorer runs {@link ImageScorer} in it; the benchmark's pass-through app runs an identity
 * transform in the same loop, so both have the same delivery guarantee and commit settings.
 */
public final class ScoringLoop implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(ScoringLoop.class);
  private static final Duration POLL = Duration.ofMillis(100);

  /** Turns one polled batch into output records (appended to {@code out}), in input order. */
  public interface Transform {
    void apply(ConsumerRecords<byte[], byte[]> batch, List<ProducerRecord<byte[], byte[]>> out);
  }

  /**
   * Blocks until the loop may start consuming (the scorer's first model); false when it should not
   * start.
   */
  public interface StartGate {
    boolean await() throws InterruptedException;
  }

  private final String name;
  private final String inputTopic;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final KafkaProducer<byte[], byte[]> producer;
  private final Transform transform;
  private final StartGate gate;
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final AtomicReference<Exception> sendFailure = new AtomicReference<>();
  private final Map<TopicPartition, OffsetAndMetadata> processed = new HashMap<>();

  /**
   * @param client bootstrap servers and pass-through properties for both clients
   * @param groupId the consumer group
   * @param maxBatch max.poll.records
   */
  public ScoringLoop(
      String name,
      Map<String, Object> client,
      String groupId,
      String inputTopic,
      int maxBatch,
      Transform transform,
      StartGate gate) {
    this.name = name;
    this.inputTopic = inputTopic;
    this.transform = transform;
    this.gate = gate;
    this.consumer =
        new KafkaConsumer<>(
            consumerProperties(client, groupId, maxBatch, name),
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer());
    this.producer =
        new KafkaProducer<>(
            producerProperties(client, name + "-producer"),
            new ByteArraySerializer(),
            new ByteArraySerializer());
  }

  static Properties consumerProperties(
      Map<String, Object> client, String groupId, int maxBatch, String clientId) {
    Properties props = new Properties();
    props.put(
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"); // a new group scores what is waiting
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
    props.putAll(client);
    props.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
    props.put(
        ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
        false); // offsets are committed after the outputs are acked
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, maxBatch);
    return props;
  }

  static Properties producerProperties(Map<String, Object> client, String clientId) {
    Properties props = new Properties();
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
    props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    props.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
    props.putAll(client);
    return props;
  }

  public KafkaConsumer<byte[], byte[]> consumer() {
    return consumer;
  }

  public KafkaProducer<byte[], byte[]> producer() {
    return producer;
  }

  @Override
  public void run() {
    try {
      if (!gate.await()) {
        return;
      }
      consumer.subscribe(
          List.of(inputTopic),
          new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
              commitProcessed(true);
            }

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
              log.info("{}: scoring partitions {}", name, partitions);
            }
          });
      List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
      while (running.get()) {
        ConsumerRecords<byte[], byte[]> batch = consumer.poll(POLL);
        if (batch.isEmpty()) {
          continue;
        }
        out.clear();
        transform.apply(batch, out);
        for (ProducerRecord<byte[], byte[]> record : out) {
          producer.send(
              record,
              (metadata, e) -> {
                if (e != null) {
                  sendFailure.compareAndSet(null, e);
                }
              });
        }
        producer.flush();
        Exception failure = sendFailure.get();
        if (failure != null) {
          // Nothing of this batch is committed: a restarted scorer scores it again (at-least-once).
          throw new KafkaException(
              name
                  + ": could not deliver the outputs of a batch from "
                  + inputTopic
                  + "; its offsets stay uncommitted",
              failure);
        }
        for (TopicPartition partition : batch.partitions()) {
          List<ConsumerRecord<byte[], byte[]>> records = batch.records(partition);
          processed.put(
              partition, new OffsetAndMetadata(records.get(records.size() - 1).offset() + 1));
        }
        commitProcessed(false);
      }
    } catch (WakeupException e) {
      if (running.get()) {
        throw e;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      try {
        commitProcessed(true);
      } catch (RuntimeException e) {
        log.warn(
            "{}: final commit failed ({}); the last batch may be scored again", name, e.toString());
      }
      consumer.close(Duration.ofSeconds(10));
      producer.close(Duration.ofSeconds(10));
    }
  }

  private void commitProcessed(boolean sync) {
    if (processed.isEmpty()) {
      return;
    }
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>(processed);
    processed.clear();
    if (sync) {
      consumer.commitSync(offsets);
    } else {
      consumer.commitAsync(
          offsets,
          (committed, e) -> {
            if (e != null) {
              log.warn(
                  "{}: commit of {} failed ({}); those events may be scored again",
                  name,
                  committed,
                  e.toString());
            }
          });
    }
  }

  /**
   * Asks the loop to stop after the batch in hand; it commits what it delivered and closes its
   * clients.
   */
  public void stop() {
    running.set(false);
    consumer.wakeup();
  }
}
