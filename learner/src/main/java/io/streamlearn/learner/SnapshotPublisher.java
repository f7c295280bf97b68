package io.streamlearn.learner;

import io.streamlearn.learner.LearnerSettings.Config;
import io.streamlearn.model.Snapshots;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes the trainer's snapshots to the snapshot topic from a thread of its own, under exactly-once each in a
 * short transaction of its own: a scorer sees a snapshot as soon as that transaction commits, not when the
 * learner's Kafka Streams transaction (which also carries ~1.7 MB of changelogged state) does.
 *
 * <p>Versions stay unique across crashes and zombies. The producer's {@code transactional.id} is fixed per
 * application and model, so {@link #open} fences every earlier publisher of this learner (a zombie can publish
 * nothing more once the new owner opened) and aborts its open transaction; only then does it read the newest
 * committed version on the topic, and the trainer continues after the larger of that and the version its state
 * holds. A snapshot may thus come from a state that a crash rolls back (its batches then train again): its version
 * is never used again. Under {@code at_least_once} the producer is idempotent, not transactional, and there is no
 * fencing (as for the rest of that guarantee).
 */
final class SnapshotPublisher implements Trainer.SnapshotOutput {
  private static final Logger log = LoggerFactory.getLogger(SnapshotPublisher.class);

  private final Config config;
  private final Map<String, Object> client;
  private final String transactionalId;
  private final boolean transactional;
  private KafkaProducer<byte[], byte[]> producer;
  private ExecutorService thread;
  private volatile RuntimeException failure;

  /** @param transactionalId the producer's transactional id: one per application and model */
  SnapshotPublisher(Config config, String transactionalId) {
    this.config = config;
    this.transactionalId = transactionalId;
    this.transactional = !StreamsConfig.AT_LEAST_ONCE.equals(config.processingGuarantee());
    this.client = new HashMap<>(config.kafka());
    client.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
  }

  @Override
  public long open() {
    Map<String, Object> props = new HashMap<>(client);
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.LINGER_MS_CONFIG, 0);
    props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "none"); // float32 weights: lz4 would not shrink them
    props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG,
        Math.max(1024 * 1024, Snapshots.encodedSizeBound(config.sizes()) + 64 * 1024));
    props.put(ProducerConfig.CLIENT_ID_CONFIG, transactionalId);
    if (transactional) {
      props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
    }
    producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
    if (transactional) {
      producer.initTransactions(); // fences earlier publishers of this id, aborts what they left open
    }
    thread = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, transactionalId);
      t.setDaemon(true);
      return t;
    });
    return SnapshotVersions.newest(client, config.snapshotTopic(), config.modelId(), Duration.ofSeconds(60));
  }

  @Override
  public void publish(byte[] key, byte[] value, long timestamp) {
    RuntimeException failed = failure;
    if (failed != null) {
      throw new IllegalStateException("publishing a snapshot of model " + config.modelId() + " to "
          + config.snapshotTopic() + " failed: " + failed.getMessage(), failed);
    }
    ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(config.snapshotTopic(), null, timestamp, key, value);
    thread.execute(() -> send(record));
  }

  private void send(ProducerRecord<byte[], byte[]> record) {
    if (failure != null) {
      return; // nothing after a failure: a later version must not appear without the one before
    }
    try {
      if (transactional) {
        producer.beginTransaction();
        producer.send(record);
        producer.commitTransaction();
      } else {
        producer.send(record).get();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      failure = new IllegalStateException("interrupted while publishing a snapshot", e);
    } catch (RuntimeException | java.util.concurrent.ExecutionException e) {
      // Fenced: another learner owns this model now. Anything else: the snapshot may be lost, so stop publishing
      // (the trainer fails on its next snapshot, and the learner stops with the cause).
      failure = e instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
      log.error("model {}: publishing a snapshot to {} failed", config.modelId(), config.snapshotTopic(), e);
    }
  }

  /** Publishes what was handed over (within 30 s), then closes the producer. */
  @Override
  public void close() {
    if (thread != null) {
      thread.shutdown();
      try {
        if (!thread.awaitTermination(30, TimeUnit.SECONDS)) {
          log.warn("model {}: snapshots still unpublished after 30 s at close", config.modelId());
          thread.shutdownNow();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (producer != null) {
      producer.close(Duration.ofSeconds(10));
    }
  }
}
