package io.streamlearn.scorer;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.streamlearn.contract.avro.PayloadError;
import java.time.Clock;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The scorer's own meters, all named {@code streamlearn.scorer.*} (Prometheus: {@code
 * streamlearn_scorer_*}). Gauges read the model in use at scrape time; they are NaN before the
 * first model.
 */
final class ScorerMetrics implements ModelHolder.Listener {
  /** Per predicted class, grown when a model with more classes is applied. */
  private volatile Counter[] predictions = new Counter[0];

  private final Map<PayloadError, Counter> deadLetters = new EnumMap<>(PayloadError.class);
  private final Map<SnapshotRejection, Counter> rejected = new EnumMap<>(SnapshotRejection.class);
  private final Counter applied;
  private final Timer batchLatency;
  private final Timer endToEnd;
  private final LiveAccuracy liveAccuracy;
  private final MeterRegistry registry;
  private volatile ServingModel model;

  /**
   * @param classes the classes to count from the start (more are added when a model has them)
   */
  ScorerMetrics(MeterRegistry registry, int classes, int accuracyWindow, Clock clock) {
    this.registry = registry;
    countClasses(classes);
    for (PayloadError reason : PayloadError.values()) {
      deadLetters.put(
          reason,
          Counter.builder("streamlearn.scorer.dead.letters")
              .description("Image events sent to the dead-letter topic")
              .tag("reason", reason.name())
              .register(registry));
    }
    for (SnapshotRejection reason : SnapshotRejection.values()) {
      rejected.put(
          reason,
          Counter.builder("streamlearn.scorer.snapshots.rejected")
              .description("Snapshots refused; the model in use stayed")
              .tag("reason", reason.name())
              .register(registry));
    }
    applied =
        Counter.builder("streamlearn.scorer.snapshots.applied")
            .description("Snapshots loaded and swapped in")
            .register(registry);
    batchLatency =
        Timer.builder("streamlearn.scorer.batch.latency")
            .description("Time to decode, score and encode one micro-batch of events")
            .publishPercentileHistogram()
            .minimumExpectedValue(Duration.ofNanos(10_000))
            .maximumExpectedValue(Duration.ofSeconds(10))
            .register(registry);
    endToEnd =
        Timer.builder("streamlearn.scorer.end.to.end.latency")
            .description("From an event's eventTime to its prediction being made")
            .publishPercentileHistogram()
            .minimumExpectedValue(Duration.ofMillis(1))
            .maximumExpectedValue(Duration.ofMinutes(10))
            .register(registry);
    liveAccuracy = new LiveAccuracy(accuracyWindow);
    Gauge.builder("streamlearn.scorer.live.accuracy", liveAccuracy, LiveAccuracy::value)
        .description("Accuracy over the last accuracy-window scored events that carried a label")
        .register(registry);
    Gauge.builder(
            "streamlearn.scorer.model.version",
            this,
            m -> m.model == null ? Double.NaN : m.model.version())
        .description("Version of the snapshot in use")
        .register(registry);
    Gauge.builder(
            "streamlearn.scorer.model.age",
            this,
            m ->
                m.model == null
                    ? Double.NaN
                    : (clock.millis() - m.model.createdAt().toEpochMilli()) / 1000.0)
        .description("Seconds since the snapshot in use was created")
        .baseUnit("seconds")
        .register(registry);
  }

  /** Registers a prediction counter for every class below {@code classes}. */
  private synchronized void countClasses(int classes) {
    Counter[] now = predictions;
    if (classes <= now.length) {
      return;
    }
    Counter[] grown = java.util.Arrays.copyOf(now, classes);
    for (int c = now.length; c < classes; c++) {
      grown[c] =
          Counter.builder("streamlearn.scorer.predictions")
              .description("Predictions published, by predicted class index (tag digit)")
              .tag("digit", Integer.toString(c))
              .register(registry);
    }
    predictions = grown;
  }

  @Override
  public void applied(ServingModel model) {
    countClasses(model.spec().classes());
    this.model = model;
    applied.increment();
  }

  @Override
  public void rejected(SnapshotRejection reason) {
    rejected.get(reason).increment();
  }

  void prediction(int digit, Integer label, long endToEndMillis) {
    Counter[] counters = predictions;
    if (digit >= counters.length) {
      // A model with more classes is swapped in before the holder tells the listener.
      countClasses(digit + 1);
      counters = predictions;
    }
    counters[digit].increment();
    endToEnd.record(Math.max(0, endToEndMillis), TimeUnit.MILLISECONDS);
    if (label != null) {
      liveAccuracy.add(label == digit);
    }
  }

  void batch(long nanos) {
    batchLatency.record(nanos, TimeUnit.NANOSECONDS);
  }

  void deadLetter(PayloadError reason) {
    deadLetters.get(reason).increment();
  }

  double liveAccuracy() {
    return liveAccuracy.value();
  }

  MeterRegistry registry() {
    return registry;
  }
}
