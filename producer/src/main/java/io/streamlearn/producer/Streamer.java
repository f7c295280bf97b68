package io.streamlearn.producer;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import io.streamlearn.contract.ImageEvent;
import io.streamlearn.contract.TrainingSample;
import io.streamlearn.core.Shuffle;
import io.streamlearn.core.kafka.KafkaClients;
import io.streamlearn.core.kafka.Topic;
import io.streamlearn.core.kafka.Topics;
import io.streamlearn.producer.ProducerSettings.Config;
import io.streamlearn.producer.ProducerSettings.Mode;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Streams a data set (images or feature vectors) to Kafka: in train mode every row as a {@link
 * TrainingSample} (key {@code sampleId}), epoch after epoch, each epoch in a fresh seeded shuffle;
 * in events mode every row once, in file order, as an {@link ImageEvent} (key {@code imageId}).
 * Paced to a rate if one is set, through an idempotent producer.
 */
final class Streamer {
  /** What a run did. */
  record Summary(long records, long bytes, long failed, double seconds, String firstError) {
    double recordsPerSecond() {
      return seconds > 0 ? records / seconds : 0;
    }
  }

  private final Config config;
  private final ProducerData data;
  private final Counter recordsSent;
  private final Counter bytesSent;
  private final Counter sendErrors;
  private final MeterRegistry registry;
  private final AtomicLong acknowledged = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private final AtomicReference<String> firstError = new AtomicReference<>();

  Streamer(Config config, ProducerData data, MeterRegistry registry) {
    this.config = config;
    this.data = data;
    this.registry = registry;
    String kind = config.mode() == Mode.TRAIN ? "TrainingSample" : "ImageEvent";
    this.recordsSent =
        Counter.builder("streamlearn.producer.records")
            .description("Records acknowledged by Kafka")
            .tag("topic", config.topic())
            .tag("kind", kind)
            .register(registry);
    this.bytesSent =
        Counter.builder("streamlearn.producer.payload")
            .baseUnit("bytes")
            .description("Value bytes of acknowledged records")
            .tag("topic", config.topic())
            .register(registry);
    this.sendErrors =
        Counter.builder("streamlearn.producer.send.errors")
            .description("Records Kafka did not acknowledge")
            .tag("topic", config.topic())
            .register(registry);
  }

  /** The number of records a full run sends. */
  long plannedRecords() {
    long all = config.mode() == Mode.TRAIN ? (long) data.size() * config.epochs() : data.size();
    return config.limit() > 0 ? Math.min(config.limit(), all) : all;
  }

  long acknowledged() {
    return acknowledged.get();
  }

  /**
   * Streams until done or until {@code stop} says so; flushes and returns what was acknowledged.
   */
  Summary run(BooleanSupplier stop) {
    return config.mode() == Mode.TRAIN
        ? stream(Topics.TRAINING.named(config.topic()), this::sample, stop)
        : stream(Topics.IMAGES.named(config.topic()), this::event, stop);
  }

  /** The record of one row of the data set, under id {@code id}. */
  private interface RowRecord<V> {
    V of(String id, int row);
  }

  private <V extends SpecificRecord> Summary stream(
      Topic<V> topic, RowRecord<V> records, BooleanSupplier stop) {
    long planned = plannedRecords();
    long start = System.nanoTime();
    AtomicLong bytes = new AtomicLong();
    try (KafkaProducer<String, V> producer = createProducer(topic);
        KafkaClientMetrics clientMetrics = new KafkaClientMetrics(producer)) {
      clientMetrics.bindTo(registry);
      int[] order = Shuffle.identity(data.size());
      SplittableRandom random = new SplittableRandom(config.seed());
      double nanosPerRecord = config.rate() > 0 ? 1e9 / config.rate() : 0;
      long sent = 0;
      outer:
      for (int epoch = 0; sent < planned; epoch++) {
        if (config.mode() == Mode.TRAIN && config.shuffle()) {
          Shuffle.inPlace(order, random);
        }
        for (int row : order) {
          if (sent >= planned || stop.getAsBoolean()) {
            break outer;
          }
          if (nanosPerRecord > 0) {
            long due = start + (long) (sent * nanosPerRecord);
            long wait = due - System.nanoTime();
            if (wait > 0) {
              LockSupport.parkNanos(wait);
            }
          }
          String id = config.idPrefix() + "-" + row;
          producer.send(
              new ProducerRecord<>(topic.name(), id, records.of(id, row)),
              (metadata, error) -> {
                if (error == null) {
                  acknowledged.incrementAndGet();
                  recordsSent.increment();
                  bytesSent.increment(metadata.serializedValueSize());
                  bytes.addAndGet(metadata.serializedValueSize());
                } else {
                  failed.incrementAndGet();
                  sendErrors.increment();
                  firstError.compareAndSet(null, id + ": " + error);
                }
              });
          sent++;
        }
      }
      producer.flush();
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    return new Summary(acknowledged.get(), bytes.get(), failed.get(), seconds, firstError.get());
  }

  private static final ByteBuffer NO_PIXELS = ByteBuffer.allocate(0);

  private TrainingSample sample(String id, int row) {
    byte[] pixels = data.pixels(row);
    return TrainingSample.newBuilder()
        .setSampleId(id)
        .setLabel(data.label(row))
        .setPixels(pixels != null ? ByteBuffer.wrap(pixels) : NO_PIXELS)
        .setFeatures(pixels != null ? null : data.features(row))
        .setSource(config.source())
        .setEventTime(Instant.now())
        .build();
  }

  private ImageEvent event(String id, int row) {
    byte[] pixels = data.pixels(row);
    return ImageEvent.newBuilder()
        .setImageId(id)
        .setPixels(pixels != null ? ByteBuffer.wrap(pixels) : NO_PIXELS)
        .setFeatures(pixels != null ? null : data.features(row))
        .setEventTime(Instant.now())
        .setLabel(config.withLabels() && data.labelled() ? data.label(row) : null)
        .build();
  }

  private <V extends SpecificRecord> KafkaProducer<String, V> createProducer(Topic<V> topic) {
    Map<String, Object> props = new HashMap<>();
    props.put(ProducerConfig.CLIENT_ID_CONFIG, "streamlearn-producer");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, config.compression());
    props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    props.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
    return new KafkaProducer<>(
        KafkaClients.properties(config.bootstrapServers(), props, config.kafka()),
        topic.keys().serializer(),
        topic.values().serializer());
  }
}
