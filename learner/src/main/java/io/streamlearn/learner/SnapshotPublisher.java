package io.streamlearn.learner;

import io.streamlearn.core.kafka.KafkaClients;
import io.streamlearn.learner.LearnerSettings.Config;
import io.streamlearn.model.Snapshots;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes the trainer's snapshots to the snapshot topic from a thread of its own, under
 * exactly-once each in a short transaction of its own: a scorer sees a snapshot as soon as that
 * transaction commits, not when the learner's Kafka Streams transaction (which also carries ~1.7 MB
 * of changelogged state) does.
 *
 * <p>Versions stay unique across crashes and zombies. The producer's {@code transactional.id} is
 * fixed per snapshot topic and model (not per application: two learner applications publishing one
 * model fence each other), so {@link #open} fences every earlier publisher (a zombie can publish
 * nothing more once the new owner opened) and aborts its open transaction; only then does it read
 * the newest committed snapshot on the topic, and the trainer continues after it. A snapshot may
 * thus come from a state that a crash rolls back (its batches then train again): its version is
 * never used again. Under {@code at_least_once} the producer is idempotent, not transactional, and
 * there is no fencing (as for the rest of that guarantee).
 *
 * <p>At most one snapshot waits: when publications are slower than snapshots are made, a newer
 * snapshot replaces the waiting one (its version is skipped, never reused), so memory stays bounded
 * and the scorer gets the newest. A failed publication is reported by {@link #check()}, which the
 * trainer calls at every tick, so the learner stops with the cause even after the last snapshot.
 */
final class SnapshotPublisher implements Trainer.SnapshotOutput {
  private static final Logger log = LoggerFactory.getLogger(SnapshotPublisher.class);

  private final Config config;
  private final Map<String, Object> client;
  private final String transactionalId;
  private final boolean transactional;
  private final Function<Map<String, Object>, Producer<byte[], byte[]>> producers;
  private final Function<Map<String, Object>, SnapshotVersions.Newest> newest;
  private Producer<byte[], byte[]> producer;
  private Thread thread;

  /** The snapshot waiting to be published (at most one), or null; guarded by {@code this}. */
  private ProducerRecord<byte[], byte[]> waiting;

  private boolean closing;
  private long superseded;
  private volatile RuntimeException failure;
  private Runnable onFailure = () -> {};

  /**
   * The id every learner publishing {@code modelId} to {@code snapshotTopic} shares, so each fences
   * the others.
   */
  static String transactionalId(String snapshotTopic, String modelId) {
    return "streamlearn-snapshots-" + snapshotTopic + "-" + modelId;
  }

  SnapshotPublisher(Config config) {
    this(
        config,
        transactionalId(config.snapshotTopic(), config.modelId()),
        props -> new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer()),
        props ->
            SnapshotVersions.newest(
                props,
                config.snapshotTopic(),
                config.modelId(),
                config.sizes(),
                Duration.ofSeconds(60)));
  }

  /** With the producer and the newest-snapshot lookup given (tests). */
  SnapshotPublisher(
      Config config,
      String transactionalId,
      Function<Map<String, Object>, Producer<byte[], byte[]>> producers,
      Function<Map<String, Object>, SnapshotVersions.Newest> newest) {
    this.config = config;
    this.transactionalId = transactionalId;
    this.transactional = !StreamsConfig.AT_LEAST_ONCE.equals(config.processingGuarantee());
    this.producers = producers;
    this.newest = newest;
    this.client = KafkaClients.properties(config.bootstrapServers(), config.kafka());
  }

  /**
   * Also tells {@code listener} when a publication fails (the learner's readiness and its failure
   * counter).
   */
  SnapshotPublisher onFailure(Runnable listener) {
    this.onFailure = listener;
    return this;
  }

  @Override
  public SnapshotVersions.Newest open() {
    Map<String, Object> props = new HashMap<>(client);
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.LINGER_MS_CONFIG, 0);
    props.put(
        ProducerConfig.COMPRESSION_TYPE_CONFIG,
        "none"); // float32 weights: lz4 would not shrink them
    props.put(
        ProducerConfig.MAX_REQUEST_SIZE_CONFIG,
        Math.max(
            1024 * 1024, Snapshots.encodedSizeBound(config.sizes(), config.spec()) + 64 * 1024));
    props.put(ProducerConfig.CLIENT_ID_CONFIG, transactionalId);
    if (transactional) {
      props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
    }
    producer = producers.apply(props);
    if (transactional) {
      producer
          .initTransactions(); // fences earlier publishers of this id, aborts what they left open
    }
    thread = new Thread(this::publishLoop, transactionalId);
    thread.setDaemon(true);
    thread.start();
    return newest.apply(client);
  }

  @Override
  public void publish(byte[] key, byte[] value, long timestamp) {
    check();
    synchronized (this) {
      if (waiting != null) {
        superseded++;
        log.info(
            "model {}: a newer snapshot replaces one not yet published ({} so far): publications are slower"
                + " than snapshots",
            config.modelId(),
            superseded);
      }
      waiting = new ProducerRecord<>(config.snapshotTopic(), null, timestamp, key, value);
      notifyAll();
    }
  }

  @Override
  public void check() {
    RuntimeException failed = failure;
    if (failed != null) {
      throw new IllegalStateException(
          "publishing a snapshot of model "
              + config.modelId()
              + " to "
              + config.snapshotTopic()
              + " failed: "
              + failed.getMessage(),
          failed);
    }
  }

  /** Snapshots that a newer one replaced before they were published. */
  synchronized long superseded() {
    return superseded;
  }

  private void publishLoop() {
    while (true) {
      ProducerRecord<byte[], byte[]> next;
      synchronized (this) {
        while (waiting == null && !closing) {
          try {
            wait();
          } catch (InterruptedException e) {
            return; // closed without waiting
          }
        }
        if (waiting == null) {
          return; // closing, nothing left
        }
        next = waiting;
        waiting = null;
      }
      if (!send(next)) {
        return; // nothing after a failure: a later version must not appear without the one before
      }
    }
  }

  private boolean send(ProducerRecord<byte[], byte[]> record) {
    try {
      if (transactional) {
        producer.beginTransaction();
        producer.send(record);
        producer.commitTransaction();
      } else {
        producer.send(record).get();
      }
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      failure = new IllegalStateException("interrupted while publishing a snapshot", e);
    } catch (RuntimeException | java.util.concurrent.ExecutionException e) {
      // Fenced: another learner owns this model now. Anything else: the snapshot may be lost.
      // Either way the
      // learner stops with the cause, at its next tick.
      failure = e instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
      log.error(
          "model {}: publishing a snapshot to {} failed",
          config.modelId(),
          config.snapshotTopic(),
          e);
    }
    onFailure.run();
    return false;
  }

  /** Publishes the waiting snapshot, if any (within 30 s), then closes the producer. */
  @Override
  public void close() {
    if (thread != null) {
      synchronized (this) {
        closing = true;
        notifyAll();
      }
      try {
        thread.join(30_000);
        if (thread.isAlive()) {
          log.warn("model {}: a snapshot still unpublished after 30 s at close", config.modelId());
          thread.interrupt();
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
