package io.streamlearn.learner;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.streamlearn.core.http.HttpService;
import io.streamlearn.core.kafka.GroupLag;
import io.streamlearn.core.kafka.KafkaClients;
import io.streamlearn.core.metrics.MetricsEndpoint;
import io.streamlearn.learner.LearnerSettings.Config;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.apache.kafka.streams.processor.StateRestoreListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running learner: its topics prepared, its metrics endpoint, and the Kafka Streams application
 * that trains. {@link #close()} stops it cleanly (idempotent).
 */
public final class Learner implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Learner.class);

  /** How often the learner's lag is measured from the broker. */
  static final Duration LAG_PERIOD = Duration.ofSeconds(5);

  private final MetricsEndpoint endpoint;
  private final KafkaStreams streams;
  private final KafkaStreamsMetrics streamsMetrics;
  private final GroupLag lag;
  private final LearnerMetrics metrics;
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final AtomicInteger exitCode = new AtomicInteger();
  private final AtomicBoolean closed = new AtomicBoolean();

  private Learner(
      MetricsEndpoint endpoint,
      KafkaStreams streams,
      KafkaStreamsMetrics streamsMetrics,
      GroupLag lag,
      LearnerMetrics metrics) {
    this.endpoint = endpoint;
    this.streams = streams;
    this.streamsMetrics = streamsMetrics;
    this.lag = lag;
    this.metrics = metrics;
  }

  /** Prepares the topics and starts training. */
  public static Learner start(Config config) {
    Map<String, Object> client = KafkaClients.properties(config.bootstrapServers(), config.kafka());
    int partitions = LearnerMain.prepareTopics(config, client);
    MetricsEndpoint endpoint =
        MetricsEndpoint.start("learner", config.metrics(), Tags.of("model", config.modelId()));
    GroupLag lag = null;
    // The probes answer from the moment the port opens: 503 "starting" until the application
    // exists.
    java.util.concurrent.atomic.AtomicReference<Learner> started =
        new java.util.concurrent.atomic.AtomicReference<>();
    endpoint.route("/health/live", HttpService.Route.inline(e -> health(e, started.get(), "live")));
    endpoint.route(
        "/health/ready", HttpService.Route.inline(e -> health(e, started.get(), "ready")));
    try {
      LearnerMetrics metrics = new LearnerMetrics(endpoint.registry());
      boolean repartition = partitions != 1;
      log.info(
          "training topic {} has {} partition(s): {}; {} stream thread(s)",
          config.trainingTopic(),
          partitions,
          repartition
              ? "samples meet in the one-partition repartition topic"
              : "its one task trains directly",
          LearnerTopology.streamThreads(config, partitions));
      // The newest published version is read by the trainer's snapshot publisher, after it fenced
      // earlier ones.
      KafkaStreams streams =
          new KafkaStreams(
              LearnerTopology.build(config, metrics, repartition),
              LearnerTopology.streamsProperties(config, partitions));
      KafkaStreamsMetrics streamsMetrics = new KafkaStreamsMetrics(streams);
      streamsMetrics.bindTo(endpoint.registry());
      List<String> inputs =
          repartition
              ? List.of(config.trainingTopic(), repartitionTopic(config.applicationId()))
              : List.of(config.trainingTopic());
      lag =
          GroupLag.start(
              client,
              config.applicationId(),
              () -> inputs,
              LAG_PERIOD,
              endpoint.registry(),
              "streamlearn.learner.input.lag",
              "Records waiting for the learner, as the broker sees it: end offsets minus"
                  + " the group's committed offsets over every topic it reads, the repartition topic included (NaN"
                  + " while it cannot be measured)");
      Learner learner = new Learner(endpoint, streams, streamsMetrics, lag, metrics);
      Gauge.builder(
              "streamlearn.learner.running",
              learner,
              l -> l.streams.state() == KafkaStreams.State.RUNNING ? 1 : 0)
          .description("1 while the Kafka Streams application is RUNNING, else 0")
          .register(endpoint.registry());
      Gauge.builder("streamlearn.learner.ready", learner, l -> l.isReady() ? 1 : 0)
          .description(
              "1 while /health/ready answers 200: RUNNING and the snapshot publisher healthy")
          .register(endpoint.registry());
      streams.setGlobalStateRestoreListener(new RestoreCounter(metrics));
      streams.setUncaughtExceptionHandler(
          e -> {
            log.error("learner failed", e);
            learner.exitCode.set(1);
            return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
          });
      streams.setStateListener(
          (now, before) -> {
            log.info("learner {} -> {}", before, now);
            if (now == KafkaStreams.State.NOT_RUNNING || now == KafkaStreams.State.ERROR) {
              learner.stopped.countDown();
            }
          });
      streams.start();
      started.set(learner);
      return learner;
    } catch (RuntimeException e) {
      // e.g. a Kafka Streams property that does not parse: nothing may keep the process alive after
      // this
      if (lag != null) {
        lag.close();
      }
      endpoint.close();
      throw e;
    }
  }

  /** The repartition topic Kafka Streams creates for {@link LearnerTopology#REPARTITION}. */
  static String repartitionTopic(String applicationId) {
    return applicationId + "-" + LearnerTopology.REPARTITION + "-repartition";
  }

  /**
   * Live: the application has not stopped or failed (an orchestrator restarts the process
   * otherwise). Ready: it is RUNNING and no snapshot publication failed. An instance that holds
   * only standby tasks, or none, is RUNNING too: ready means "a healthy member of the group", not
   * "the one training".
   */
  boolean isLive() {
    KafkaStreams.State state = streams.state();
    return state != KafkaStreams.State.ERROR
        && state != KafkaStreams.State.NOT_RUNNING
        && state != KafkaStreams.State.PENDING_ERROR
        && state != KafkaStreams.State.PENDING_SHUTDOWN;
  }

  boolean isReady() {
    return streams.state() == KafkaStreams.State.RUNNING && metrics.publisherHealthy();
  }

  private static HttpService.Answer health(
      HttpService.Exchange exchange, Learner learner, String what) {
    if (!"GET".equals(exchange.method()) && !"HEAD".equals(exchange.method())) {
      return HttpService.Answer.text(405, "use GET").withHeader("Allow", "GET");
    }
    boolean ok = learner != null && (what.equals("live") ? learner.isLive() : learner.isReady());
    String body =
        learner == null
            ? "{\"status\":\"starting\"}"
            : "{\"status\":\""
                + (ok ? what : "not " + what)
                + "\",\"state\":\""
                + learner.streams.state()
                + "\",\"snapshotPublisher\":\""
                + (learner.metrics.publisherHealthy() ? "healthy" : "failed")
                + "\"}";
    return HttpService.Answer.of(
        ok ? 200 : 503, "application/json", body.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  /** Counts records replayed into the state store, for the dashboard's state-restore panel. */
  private record RestoreCounter(LearnerMetrics metrics) implements StateRestoreListener {
    @Override
    public void onRestoreStart(
        TopicPartition partition, String store, long startOffset, long endOffset) {
      log.info(
          "restoring store {} from {} offsets {} to {}", store, partition, startOffset, endOffset);
    }

    @Override
    public void onBatchRestored(
        TopicPartition partition, String store, long batchEndOffset, long restored) {
      metrics.restored(restored);
    }

    @Override
    public void onRestoreEnd(TopicPartition partition, String store, long totalRestored) {
      log.info("restored store {} from {}: {} records", store, partition, totalRestored);
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
      lag.close();
      endpoint.close();
      stopped.countDown();
    }
  }
}
