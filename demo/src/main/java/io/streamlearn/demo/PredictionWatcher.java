package io.streamlearn.demo;

import io.streamlearn.contract.Prediction;
import io.streamlearn.core.kafka.Decoded;
import io.streamlearn.core.kafka.KafkaClients;
import io.streamlearn.core.kafka.Topic;
import io.streamlearn.core.kafka.Topics;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.errors.WakeupException;

/**
 * What a downstream consumer of the predictions topic sees: the newest prediction per image id, the
 * accuracy of those that carry a label, and the latency from event time to prediction ({@code
 * scoredAt - eventTime}).
 *
 * <p>Memory is bounded whatever arrives (with {@code --keep} anyone may send events): at most
 * {@value #MAX_TRACKED_IDS} distinct image ids are tracked (later new ids are counted, not kept)
 * and latencies are kept for the last {@value #LATENCY_WINDOW} predictions.
 */
final class PredictionWatcher implements Runnable, AutoCloseable {
  private final KafkaConsumer<String, Decoded<Prediction>> consumer;
  private final String topic;
  private final AtomicBoolean running = new AtomicBoolean(true);
  static final int MAX_TRACKED_IDS = 100_000;
  static final int LATENCY_WINDOW = 1 << 16;
  private final Map<String, Boolean> correctById = new HashMap<>();
  private final long[] latencies = new long[LATENCY_WINDOW];
  private long latencyCount;
  private long untracked;
  private long records;
  private long lastVersion = -1;
  private final Thread thread;
  private volatile boolean started;

  PredictionWatcher(String bootstrapServers, String topic, Map<String, String> kafka) {
    Map<String, Object> props = KafkaClients.properties(bootstrapServers, kafka);
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.GROUP_ID_CONFIG, "streamlearn-demo-watcher-" + System.nanoTime());
    Topic<Prediction> predictions = Topics.PREDICTIONS.named(topic);
    this.consumer =
        new KafkaConsumer<>(props, predictions.keys().deserializer(), predictions.decodedOrRaw());
    this.topic = topic;
    this.thread = new Thread(this, "demo-prediction-watcher");
    thread.setDaemon(true);
  }

  void start() {
    started = true;
    thread.start();
  }

  @Override
  public void run() {
    try {
      consumer.subscribe(List.of(topic));
      while (running.get()) {
        for (ConsumerRecord<String, Decoded<Prediction>> record :
            consumer.poll(Duration.ofMillis(200))) {
          // Not ours to judge: the demo only reports what decodes.
          if (record.value() != null && record.value().valid()) {
            add(record.value().value());
          }
        }
      }
    } catch (WakeupException e) {
      // closing
    } finally {
      consumer.close(Duration.ofSeconds(5));
    }
  }

  synchronized void add(Prediction p) {
    records++;
    lastVersion = p.getModelVersion();
    if (correctById.size() >= MAX_TRACKED_IDS && !correctById.containsKey(p.getImageId())) {
      untracked++;
    } else if (p.getLabel() != null) {
      correctById.put(p.getImageId(), p.getLabel() == p.getDigit());
    } else {
      correctById.putIfAbsent(p.getImageId(), null);
    }
    long latency = p.getScoredAt().toEpochMilli() - p.getEventTime().toEpochMilli();
    latencies[(int) (latencyCount++ % LATENCY_WINDOW)] = latency;
  }

  /** Predictions of new image ids that came after {@value #MAX_TRACKED_IDS} were tracked. */
  synchronized long untracked() {
    return untracked;
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

  /**
   * The q-quantile (0-1) of the latencies of the last {@code lastN} predictions (at most the last
   * {@value #LATENCY_WINDOW}), in ms; NaN when none.
   */
  synchronized double latencyQuantile(double q, int lastN) {
    int n = (int) Math.min(lastN, Math.min(latencyCount, LATENCY_WINDOW));
    if (n == 0) {
      return Double.NaN;
    }
    long[] window = new long[n];
    for (int i = 0; i < n; i++) {
      window[i] = latencies[(int) ((latencyCount - n + i) % LATENCY_WINDOW)];
    }
    Arrays.sort(window);
    return window[Math.min(n - 1, (int) Math.ceil(q * n) - 1)];
  }

  @Override
  public void close() {
    running.set(false);
    if (!started) {
      consumer.close(Duration.ZERO);
      return;
    }
    consumer.wakeup();
    try {
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
