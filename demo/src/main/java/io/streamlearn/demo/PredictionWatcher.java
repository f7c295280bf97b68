package io.streamlearn.demo;

import io.streamlearn.contract.Prediction;
import io.streamlearn.core.avro.Codecs;
import io.streamlearn.core.avro.InvalidPayloadException;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * What a downstream consumer of the predictions topic sees: the newest prediction per image id, the accuracy of
 * those that carry a label, and the latency from event time to prediction ({@code scoredAt - eventTime}).
 */
final class PredictionWatcher implements Runnable, AutoCloseable {
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final String topic;
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final Map<String, Boolean> correctById = new HashMap<>();
  private long[] latencies = new long[1 << 14];
  private int latencyCount;
  private long records;
  private long lastVersion = -1;
  private final Thread thread;

  PredictionWatcher(String bootstrapServers, String topic, Map<String, String> kafka) {
    Properties props = new Properties();
    props.putAll(kafka);
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.GROUP_ID_CONFIG, "streamlearn-demo-watcher-" + System.nanoTime());
    this.consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    this.topic = topic;
    this.thread = new Thread(this, "demo-prediction-watcher");
    thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  @Override
  public void run() {
    try {
      consumer.subscribe(List.of(topic));
      while (running.get()) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
          Prediction p;
          try {
            p = Codecs.PREDICTION.decode(record.value());
          } catch (InvalidPayloadException e) {
            continue; // not ours to judge: the demo only reports what decodes
          }
          add(p);
        }
      }
    } catch (WakeupException e) {
      // closing
    } finally {
      consumer.close(Duration.ofSeconds(5));
    }
  }

  private synchronized void add(Prediction p) {
    records++;
    lastVersion = p.getModelVersion();
    if (p.getLabel() != null) {
      correctById.put(p.getImageId(), p.getLabel() == p.getDigit());
    } else {
      correctById.putIfAbsent(p.getImageId(), null);
    }
    if (latencyCount == latencies.length) {
      latencies = Arrays.copyOf(latencies, latencies.length * 2);
    }
    latencies[latencyCount++] = p.getScoredAt().toEpochMilli() - p.getEventTime().toEpochMilli();
  }

  /** Distinct image ids predicted. */
  synchronized int images() {
    return correctById.size();
  }

  synchronized long records() {
    return records;
  }

  synchronized long lastVersion() {
    return lastVersion;
  }

  /** Accuracy over the distinct labelled images (their newest prediction), NaN when none. */
  synchronized double accuracy() {
    int labelled = 0;
    int correct = 0;
    for (Boolean hit : correctById.values()) {
      if (hit != null) {
        labelled++;
        correct += hit ? 1 : 0;
      }
    }
    return labelled == 0 ? Double.NaN : correct / (double) labelled;
  }

  /** The q-quantile (0-1) of the latencies of the last {@code lastN} predictions, in ms; NaN when none. */
  synchronized double latencyQuantile(double q, int lastN) {
    int n = Math.min(lastN, latencyCount);
    if (n == 0) {
      return Double.NaN;
    }
    long[] window = Arrays.copyOfRange(latencies, latencyCount - n, latencyCount);
    Arrays.sort(window);
    return window[Math.min(n - 1, (int) Math.ceil(q * n) - 1)];
  }

  @Override
  public void close() {
    running.set(false);
    consumer.wakeup();
    try {
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
