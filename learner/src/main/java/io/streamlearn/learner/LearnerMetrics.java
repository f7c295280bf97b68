package io.streamlearn.learner;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.streamlearn.contract.avro.PayloadError;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The learner's own meters, all named {@code streamlearn.learner.*} (Prometheus: {@code
 * streamlearn_learner_*}). Gauges read fields the stream thread publishes here; they are NaN until
 * there is something to report.
 */
final class LearnerMetrics {
  private final Counter samples;
  private final Counter batches;
  private final Counter skippedBatches;
  private final Map<PayloadError, Counter> deadLetters = new EnumMap<>(PayloadError.class);
  private final Timer batchCompute;
  private final Counter snapshots;
  private final DistributionSummary snapshotSize;
  private final Counter snapshotsRefused;
  private volatile double rollingAccuracy = Double.NaN;
  private volatile double rollingLoss = Double.NaN;
  private volatile double cumulativeAccuracy = Double.NaN;
  private volatile double version = Double.NaN;
  private volatile double samplesTotal = Double.NaN;
  private final Counter publicationFailures;
  private final Counter restored;
  private volatile boolean publisherFailed;

  LearnerMetrics(MeterRegistry registry) {
    samples =
        Counter.builder("streamlearn.learner.samples")
            .description("Samples trained on (this process)")
            .register(registry);
    batches =
        Counter.builder("streamlearn.learner.batches")
            .description("Mini-batches applied (this process)")
            .register(registry);
    skippedBatches =
        Counter.builder("streamlearn.learner.batches.skipped")
            .description("Mini-batches not applied because their loss or gradients were not finite")
            .register(registry);
    for (PayloadError reason : PayloadError.values()) {
      deadLetters.put(
          reason,
          Counter.builder("streamlearn.learner.dead.letters")
              .description("Training records sent to the dead-letter topic")
              .tag("reason", reason.name())
              .register(registry));
    }
    batchCompute =
        Timer.builder("streamlearn.learner.batch.compute")
            .description("Time to score and train one mini-batch (forward, backward, Adam)")
            .publishPercentileHistogram()
            .minimumExpectedValue(java.time.Duration.ofNanos(100_000))
            .maximumExpectedValue(java.time.Duration.ofSeconds(10))
            .register(registry);
    snapshots =
        Counter.builder("streamlearn.learner.snapshots")
            .description("Snapshots published")
            .register(registry);
    snapshotsRefused =
        Counter.builder("streamlearn.learner.snapshots.refused")
            .description("Snapshots not published because the weights were not finite")
            .register(registry);
    publicationFailures =
        Counter.builder("streamlearn.learner.snapshot.publication.failures")
            .description("Snapshot publications that failed (the learner stops and is not ready)")
            .register(registry);
    restored =
        Counter.builder("streamlearn.learner.state.restored")
            .description(
                "Changelog records replayed into the learner's state store (restores after a move or a lost"
                    + " state directory)")
            .register(registry);
    snapshotSize =
        DistributionSummary.builder("streamlearn.learner.snapshot.size")
            .baseUnit("bytes")
            .description("Encoded size of published snapshots")
            .register(registry);
    Gauge.builder("streamlearn.learner.prequential.accuracy", this, m -> m.rollingAccuracy)
        .description("Test-then-train accuracy over the rolling window")
        .register(registry);
    Gauge.builder("streamlearn.learner.prequential.loss", this, m -> m.rollingLoss)
        .description("Test-then-train mean cross-entropy over the rolling window")
        .register(registry);
    Gauge.builder(
            "streamlearn.learner.prequential.accuracy.cumulative", this, m -> m.cumulativeAccuracy)
        .description("Test-then-train accuracy since the state began")
        .register(registry);
    Gauge.builder("streamlearn.learner.snapshot.version", this, m -> m.version)
        .description("Version of the newest published snapshot")
        .register(registry);
    Gauge.builder("streamlearn.learner.samples.seen", this, m -> m.samplesTotal)
        .description("Samples trained on since the state began (survives restarts)")
        .register(registry);
  }

  void batch(int sampleCount, long nanos, boolean applied) {
    batchCompute.record(nanos, TimeUnit.NANOSECONDS);
    if (applied) {
      batches.increment();
      samples.increment(sampleCount);
    } else {
      skippedBatches.increment();
    }
  }

  void progress(
      double rollingAccuracy, double rollingLoss, double cumulativeAccuracy, long samplesTotal) {
    this.rollingAccuracy = rollingAccuracy;
    this.rollingLoss = rollingLoss;
    this.cumulativeAccuracy = cumulativeAccuracy;
    this.samplesTotal = samplesTotal;
  }

  void deadLetter(PayloadError reason) {
    deadLetters.get(reason).increment();
  }

  void snapshotRefused() {
    snapshotsRefused.increment();
  }

  void snapshotPublicationFailed() {
    publisherFailed = true;
    publicationFailures.increment();
  }

  /** False once a snapshot publication failed in this process. */
  boolean publisherHealthy() {
    return !publisherFailed;
  }

  void restored(long records) {
    restored.increment(records);
  }

  void snapshot(long version, int bytes) {
    this.version = version;
    snapshots.increment();
    snapshotSize.record(bytes);
  }
}
