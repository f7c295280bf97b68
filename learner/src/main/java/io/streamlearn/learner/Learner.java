package io.streamlearn.learner;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.streamlearn.core.metrics.MetricsEndpoint;
import io.streamlearn.learner.LearnerSettings.Config;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running learner: its topics prepared, its metrics endpoint, and the Kafka Streams application that trains.
 * {@link #close()} stops it cleanly (idempotent).
 */
public final class Learner implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Learner.class);

  private final MetricsEndpoint endpoint;
  private final KafkaStreams streams;
  private final KafkaStreamsMetrics streamsMetrics;
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final AtomicInteger exitCode = new AtomicInteger();
  private final AtomicBoolean closed = new AtomicBoolean();

  private Learner(MetricsEndpoint endpoint, KafkaStreams streams, KafkaStreamsMetrics streamsMetrics) {
    this.endpoint = endpoint;
    this.streams = streams;
    this.streamsMetrics = streamsMetrics;
  }

  /** Prepares the topics and starts training. */
  public static Learner start(Config config) {
    Map<String, Object> client = new HashMap<>(config.kafka());
    client.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
    int partitions = LearnerMain.prepareTopics(config, client);
    MetricsEndpoint endpoint = MetricsEndpoint.start("learner", config.metrics());
    try {
      LearnerMetrics metrics = new LearnerMetrics(endpoint.registry());
      boolean repartition = partitions != 1;
      log.info("training topic {} has {} partition(s): {}; {} stream thread(s)", config.trainingTopic(),
          partitions, repartition ? "samples meet in the one-partition repartition topic" : "its one task trains directly",
          LearnerTopology.streamThreads(config, partitions));
      // The newest published version is read by the trainer's snapshot publisher, after it fenced earlier ones.
      KafkaStreams streams = new KafkaStreams(LearnerTopology.build(config, metrics, repartition),
          LearnerTopology.streamsProperties(config, partitions));
      KafkaStreamsMetrics streamsMetrics = new KafkaStreamsMetrics(streams);
      streamsMetrics.bindTo(endpoint.registry());
      Gauge.builder("streamlearn.learner.input.lag", streams, s -> inputLag(s, config.trainingTopic()))
          .description("Records on the training topic not yet consumed (sum over its partitions)")
          .register(endpoint.registry());
      Learner learner = new Learner(endpoint, streams, streamsMetrics);
      streams.setUncaughtExceptionHandler(e -> {
        log.error("learner failed", e);
        learner.exitCode.set(1);
        return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
      });
      streams.setStateListener((now, before) -> {
        log.info("learner {} -> {}", before, now);
        if (now == KafkaStreams.State.NOT_RUNNING || now == KafkaStreams.State.ERROR) {
          learner.stopped.countDown();
        }
      });
      streams.start();
      return learner;
    } catch (RuntimeException e) {
      // e.g. a Kafka Streams property that does not parse: nothing may keep the process alive after this
      endpoint.close();
      throw e;
    }
  }

  /** Samples trained by this process so far (the {@code streamlearn.learner.samples} counter). */
  public double samplesTrained() {
    return endpoint.registry().get("streamlearn.learner.samples").counter().count();
  }

  /** The learner's meters (as served on its metrics port). */
  public io.micrometer.core.instrument.MeterRegistry registry() {
    return endpoint.registry();
  }

  public int metricsPort() {
    return endpoint.port();
  }

  public KafkaStreams.State state() {
    return streams.state();
  }

  /** Blocks until the application stops; returns 0 after a clean stop, 1 after a failure. */
  public int awaitStopped() throws InterruptedException {
    stopped.await();
    return exitCode.get();
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      streams.close(Duration.ofSeconds(60));
      streamsMetrics.close();
      endpoint.close();
      stopped.countDown();
    }
  }

  /** Sum of the main consumer's records-lag over the training topic's partitions (0 before assignment). */
  static double inputLag(KafkaStreams streams, String topic) {
    double lag = 0;
    for (Map.Entry<MetricName, ? extends Metric> e : streams.metrics().entrySet()) {
      MetricName name = e.getKey();
      if (name.name().equals("records-lag") && topic.equals(name.tags().get("topic"))) {
        Object value = e.getValue().metricValue();
        if (value instanceof Double d && !d.isNaN()) {
          lag += d;
        }
      }
    }
    return lag;
  }

}
