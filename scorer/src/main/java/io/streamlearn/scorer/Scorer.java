package io.streamlearn.scorer;

import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import io.streamlearn.contract.avro.Codecs;
import io.streamlearn.core.kafka.GroupLag;
import io.streamlearn.core.kafka.TopicAdmin;
import io.streamlearn.core.kafka.TopicAdmin.TopicSpec;
import io.streamlearn.core.metrics.MetricsEndpoint;
import io.streamlearn.scorer.ScorerSettings.Config;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running scorer: the snapshot follower (one thread), {@code consumers} scoring loops (a thread
 * each, one consumer group member each, each with its own model copy), and the HTTP API with {@code
 * /metrics} on one port. {@link #close()} stops it cleanly (idempotent).
 */
public final class Scorer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Scorer.class);

  /** How often the consumer group's lag is measured from the broker. */
  static final java.time.Duration LAG_PERIOD = java.time.Duration.ofSeconds(5);

  private final MetricsEndpoint endpoint;
  private final ModelHolder holder;
  private final ScorerMetrics metrics;
  private final SnapshotFollower follower;
  private PredictApi api;
  private final List<ScoringLoop> loops = new ArrayList<>();
  private final List<Thread> threads = new ArrayList<>();
  private final List<KafkaClientMetrics> clientMetrics = new ArrayList<>();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final AtomicInteger exitCode = new AtomicInteger();
  private final CountDownLatch stopped = new CountDownLatch(1);
  private GroupLag lag;

  private Scorer(Config config) {
    Map<String, Object> client = config.clientProperties();
    prepareTopics(config, client);
    Clock clock = Clock.systemUTC();
    endpoint = MetricsEndpoint.start("scorer", config.http(), Tags.of("model", config.modelId()));
    try {
      metrics =
          new ScorerMetrics(endpoint.registry(), Codecs.CLASSES, config.accuracyWindow(), clock);
      holder = new ModelHolder(config.modelId(), clock, metrics);
      api =
          new PredictApi(
              holder, config.maxRequestBytes(), config.httpThreads(), endpoint.registry());
      api.register(endpoint);
      follower = new SnapshotFollower(client, config.snapshotTopic(), holder);
      bind(new KafkaClientMetrics(follower.consumer()));
      for (int i = 0; i < config.consumers(); i++) {
        ScoringLoop loop =
            new ScoringLoop(
                "scorer-" + config.modelId() + "-" + i,
                client,
                config.groupId(),
                config.imagesTopic(),
                config.maxBatch(),
                new ImageScorer(
                    holder, metrics, config.predictionsTopic(), config.deadLetterTopic(), clock),
                this::awaitReady);
        loops.add(loop);
        bind(new KafkaClientMetrics(loop.consumer()));
        bind(new KafkaClientMetrics(loop.producer()));
      }
      lag =
          GroupLag.start(
              client,
              config.groupId(),
              () -> List.of(config.imagesTopic()),
              LAG_PERIOD,
              endpoint.registry(),
              "streamlearn.scorer.input.lag",
              "Events on the images topic not yet scored, as the broker sees it: end offsets minus the group's committed"
                  + " offsets (NaN while it cannot be measured)");
    } catch (RuntimeException e) {
      if (lag != null) {
        lag.close();
      }
      endpoint.close();
      if (api != null) {
        api.close();
      }
      throw e;
    }
  }

  /** Starts following snapshots, scoring (once a model is loaded) and answering HTTP. */
  public static Scorer start(Config config) {
    Scorer scorer = new Scorer(config);
    scorer.thread("scorer-snapshots", scorer.follower);
    for (ScoringLoop loop : scorer.loops) {
      scorer.thread("scorer-loop-" + scorer.threads.size(), loop);
    }
    return scorer;
  }

  private void bind(KafkaClientMetrics binder) {
    binder.bindTo(endpoint.registry());
    clientMetrics.add(binder);
  }

  private void thread(String name, Runnable body) {
    Thread t =
        new Thread(
            () -> {
              try {
                body.run();
              } catch (RuntimeException | Error e) {
                if (!closed.get()) {
                  log.error("{} failed; stopping the scorer", name, e);
                  exitCode.set(1);
                  stopped.countDown();
                }
              }
            },
            name);
    threads.add(t);
    t.start();
  }

  private boolean awaitReady() throws InterruptedException {
    while (!closed.get()) {
      if (holder.awaitReady(200, TimeUnit.MILLISECONDS)) {
        return !closed.get();
      }
    }
    return false;
  }

  /**
   * Creates the images, predictions and dead-letter topics when missing (the learner creates the
   * snapshot topic).
   */
  static void prepareTopics(Config config, Map<String, Object> client) {
    try (TopicAdmin topics = TopicAdmin.connect(client)) {
      int partitions =
          topics.ensure(
              new TopicSpec(
                  config.imagesTopic(), config.partitions(), config.replicationFactor(), Map.of()));
      topics.ensure(
          new TopicSpec(
              config.predictionsTopic(), partitions, config.replicationFactor(), Map.of()));
      topics.ensure(
          new TopicSpec(config.deadLetterTopic(), 1, config.replicationFactor(), Map.of()));
      if (config.consumers() > partitions) {
        log.warn(
            "{} scoring consumers but topic {} has {} partitions: {} will stay idle",
            config.consumers(),
            config.imagesTopic(),
            partitions,
            config.consumers() - partitions);
      }
    }
  }

  public ModelHolder models() {
    return holder;
  }

  public Optional<ServingModel> model() {
    return holder.current();
  }

  public boolean isReady() {
    return holder.isReady();
  }

  public int httpPort() {
    return endpoint.port();
  }

  /** Live accuracy over the rolling window of labelled events (NaN before the first). */
  public double liveAccuracy() {
    return metrics.liveAccuracy();
  }

  public io.micrometer.core.instrument.MeterRegistry registry() {
    return endpoint.registry();
  }

  /** Blocks until the scorer stops; 0 after a clean stop, 1 after a failure. */
  public int awaitStopped() throws InterruptedException {
    stopped.await();
    return exitCode.get();
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    follower.stop();
    loops.forEach(ScoringLoop::stop);
    for (Thread t : threads) {
      try {
        t.join(15_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    clientMetrics.forEach(KafkaClientMetrics::close);
    lag.close();
    endpoint.close();
    api.close();
    stopped.countDown();
  }
}
