package io.streamlearn.learner;

import io.streamlearn.core.kafka.DeadLetter;
import io.streamlearn.core.kafka.KafkaClients;
import io.streamlearn.learner.LearnerSettings.Config;
import io.streamlearn.model.Snapshots;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.state.Stores;

/**
 * The learner's topology:
 *
 * <pre>
 * training topic (any partitions) -> decode-samples -+-> dead letters -> dead-letter topic
 *                                                    +-> samples keyed by model id -> repartition (1 partition)
 *                                                          -> trainer [learner-state store] -> snapshot topic
 * training topic (1 partition) -> trainer (decodes) [learner-state store] -+-> snapshot topic
 *                                                                          +-> dead letters -> dead-letter topic
 * </pre>
 *
 * The one-partition repartition topic puts every sample of a model in one task, so one network
 * learns from all of them, each exactly once per time it was produced. A training topic of one
 * partition needs no repartition: its one task decodes and trains in one processor, and its outputs
 * go to the snapshot or the dead-letter topic by whether they carry a dead-letter reason header.
 */
public final class LearnerTopology {
  public static final String STATE_STORE = "learner-state";
  public static final String REPARTITION = "samples-by-model";

  private LearnerTopology() {}

  /**
   * @param repartition false only when the training topic has exactly one partition: then its one
   *     task trains directly, without the extra hop (the trainer refuses to run in a task of any
   *     other partition)
   */
  public static Topology build(Config config, LearnerMetrics metrics, boolean repartition) {
    return build(
        config,
        metrics,
        repartition,
        System::currentTimeMillis,
        context -> new SnapshotPublisher(config).onFailure(metrics::snapshotPublicationFailed));
  }

  /**
   * @param wallClock the time a snapshot is published at, its {@code createdAt} and record
   *     timestamp: the system clock, or a test driver's
   * @param outputs where the trainer's snapshots go: a {@link SnapshotPublisher}, or (tests)
   *     through the topology's sink ({@link Trainer#forwarding}); its {@code open()} tells the
   *     newest version already published
   */
  static Topology build(
      Config config,
      LearnerMetrics metrics,
      boolean repartition,
      LongSupplier wallClock,
      Function<ProcessorContext<byte[], byte[]>, Trainer.SnapshotOutput> outputs) {
    StreamsBuilder builder = new StreamsBuilder();
    builder.addStateStore(
        Stores.keyValueStoreBuilder(
                Stores.persistentKeyValueStore(STATE_STORE), Serdes.String(), Serdes.ByteArray())
            .withCachingEnabled()
            .withLoggingEnabled(changelogConfig()));

    KStream<byte[], byte[]> training =
        builder.stream(
            config.trainingTopic(),
            Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()).withName("training"));
    KStream<byte[], byte[]> samples;
    if (repartition) {
      KStream<byte[], Decoded> decoded =
          training.process(
              () -> new SampleDecoder(config.modelId(), new SampleLayout(config.spec()), metrics),
              Named.as("decode-samples"));
      decoded
          .filter((key, d) -> d.isDeadLetter(), Named.as("invalid-samples"))
          .map(
              (key, d) -> KeyValue.pair(d.originalKey(), d.originalValue()),
              Named.as("original-bytes"))
          .to(
              config.deadLetterTopic(),
              Produced.with(Serdes.ByteArray(), Serdes.ByteArray()).withName("dead-letters"));
      samples =
          decoded
              .filter((key, d) -> !d.isDeadLetter(), Named.as("valid-samples"))
              .mapValues(Decoded::sample, Named.as("compact-samples"))
              .repartition(
                  Repartitioned.with(Serdes.ByteArray(), Serdes.ByteArray())
                      .withName(REPARTITION)
                      .withNumberOfPartitions(1));
    } else {
      samples = training; // the trainer decodes: one processor per record on the hot path
    }
    String snapshots = config.snapshotTopic();
    String deadLetters = config.deadLetterTopic();
    samples
        .process(
            () -> new Trainer(config, metrics, !repartition, wallClock, outputs),
            Named.as("trainer"),
            STATE_STORE)
        .to(
            (key, value, context) ->
                context.headers().lastHeader(DeadLetter.REASON) != null ? deadLetters : snapshots,
            Produced.with(Serdes.ByteArray(), Serdes.ByteArray()).withName("trainer-outputs"));
    return builder.build();
  }

  /**
   * The state changelog: compacted, with small segments that roll often so the cleaner can fold the
   * many versions of each state record, keeping a restore after hours of training to the newest
   * state plus one segment.
   */
  static Map<String, String> changelogConfig() {
    return Map.of(
        "segment.bytes", Integer.toString(16 * 1024 * 1024),
        "segment.ms", "60000",
        "min.cleanable.dirty.ratio", "0.1",
        "delete.retention.ms", "60000");
  }

  /**
   * Kafka Streams properties for a one-partition training topic; the user's pass-through properties
   * win.
   */
  public static Properties streamsProperties(Config config) {
    return streamsProperties(config, 1);
  }

  /**
   * The stream threads to run: as configured, or (0) one per decoding task plus one for the
   * trainer.
   */
  static int streamThreads(Config config, int trainingPartitions) {
    if (config.streamThreads() > 0) {
      return config.streamThreads();
    }
    return trainingPartitions == 1 ? 1 : Math.min(8, trainingPartitions + 1);
  }

  /** Kafka Streams properties; the user's pass-through properties win. */
  public static Properties streamsProperties(Config config, int trainingPartitions) {
    Map<String, Object> props = new HashMap<>();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, config.applicationId());
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, config.processingGuarantee());
    props.put(StreamsConfig.NUM_STANDBY_REPLICAS_CONFIG, config.standbyReplicas());
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, streamThreads(config, trainingPartitions));
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, config.commitIntervalMs());
    props.put(StreamsConfig.STATE_DIR_CONFIG, config.stateDir().toAbsolutePath().toString());
    props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 64L * 1024 * 1024);
    props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, (int) config.replicationFactor());
    // Snapshots can be larger than a producer's default 1 MB request.
    props.put(
        StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG),
        Math.max(
            1024 * 1024, Snapshots.encodedSizeBound(config.sizes(), config.spec()) + 64 * 1024));
    // Samples cross the repartition topic in big compressed batches: small batches cost more CPU
    // than training.
    // Without that topic (one training partition) the producer writes only float vectors (state,
    // snapshots),
    // which lz4 cannot shrink: compressing them would only cost the stream thread time at every
    // commit.
    props.put(StreamsConfig.producerPrefix(ProducerConfig.LINGER_MS_CONFIG), 10);
    props.put(StreamsConfig.producerPrefix(ProducerConfig.BATCH_SIZE_CONFIG), 256 * 1024);
    props.put(
        StreamsConfig.producerPrefix(ProducerConfig.COMPRESSION_TYPE_CONFIG),
        trainingPartitions == 1 ? "none" : "lz4");
    props.put(StreamsConfig.mainConsumerPrefix(ConsumerConfig.MAX_POLL_RECORDS_CONFIG), 2000);
    // A learner that dies is replaced (by a restart or a standby) after this, not after the default
    // 45 s.
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), 10_000);
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG), 2_000);
    return KafkaClients.asProperties(
        KafkaClients.properties(config.bootstrapServers(), props, config.kafka()));
  }
}
