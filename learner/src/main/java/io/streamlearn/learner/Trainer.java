package io.streamlearn.learner;

import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.contract.WeightsKind;
import io.streamlearn.contract.avro.Codecs;
import io.streamlearn.contract.avro.InvalidPayloadException;
import io.streamlearn.learner.LearnerSettings.Config;
import io.streamlearn.model.Snapshots;
import java.time.Duration;
import java.time.Instant;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training processor, in the one task that owns the model: gathers samples into mini-batches,
 * scores each batch then trains on it (prequential), trains a half-filled batch after {@code
 * flush-idle} without new samples, and publishes a ModelSnapshot every {@code snapshot-every}
 * batches or {@code snapshot-interval}, whichever comes first, never when nothing was trained since
 * the last one ({@link SnapshotCadence}). Snapshots go out through a {@link SnapshotOutput}: a
 * {@link SnapshotPublisher} with a transaction of its own per snapshot, which fences earlier
 * publishers of this model before the version sequence is read, so versions stay unique across
 * crashes and zombies.
 *
 * <p>Full batches train one after the other on a thread of their own ({@link TrainingQueue}, up to
 * {@value TrainingState#MAX_QUEUED_BATCHES} queued) while the stream thread reads, decodes and
 * stores the samples behind them, so the Kafka work and the training overlap and a pause in one
 * does not stall the other. The stream thread takes the results (counters, the state put,
 * snapshots) when the queue is full (up to the newest batch that copied its state for the store:
 * every {@value #CAPTURE_EVERY}th does), at each punctuation, and before a batch that trains in
 * line: one due a snapshot, an idle flush, or any batch when batches are too large to queue in one
 * stored record. Until taken, a batch's samples stay in the store as waiting and the store holds
 * the state from before it: a commit covers exactly the samples it covers, and after a crash those
 * batches train again from the same weights, to the same result.
 */
final class Trainer implements Processor<byte[], byte[], byte[], byte[]> {
  private static final Logger log = LoggerFactory.getLogger(Trainer.class);

  private final Config config;
  private final LearnerMetrics metrics;
  private final boolean decodes;

  /**
   * Read when a snapshot goes out. Kafka Streams' {@code currentSystemTimeMs()} is taken once per
   * run of records and the snapshot-due batch first waits for the queued ones: stamping it with
   * that time made snapshots look up to ~20 ms older than they were.
   */
  private final LongSupplier wallClock;

  private final Function<ProcessorContext<byte[], byte[]>, SnapshotOutput> outputs;
  private SnapshotOutput output;
  private final byte[] modelKey;
  private final SampleLayout layout;
  private final byte[] sample;
  private ProcessorContext<byte[], byte[]> context;
  private KeyValueStore<String, byte[]> store;
  private TrainingState state;
  private long lastArrivalMs;
  private long lastSnapshotMs;
  private SnapshotCadence cadence;
  private TrainingQueue training;

  /**
   * No snapshot is published until the state has trained more samples than this (see {@link
   * #init}).
   */
  private long holdUntilSamples;

  /**
   * Every this many queued batches, one copies its result for the store ({@link
   * TrainingState#capture}), and the stream thread takes batches up to a captured one. The copy is
   * about a sixth of a training step, which is why not every batch makes one.
   */
  static final int CAPTURE_EVERY = 4;

  /** Where snapshots go. */
  interface SnapshotOutput extends AutoCloseable {
    /**
     * Prepares to publish; returns the newest snapshot of the model already published ({@code
     * NONE}: none).
     */
    SnapshotVersions.Newest open();

    /** Publishes a snapshot, or hands it over to be published; throws if an earlier one failed. */
    void publish(byte[] key, byte[] value, long timestamp);

    /**
     * Throws if a publication failed (called at every tick, so a failure stops the learner
     * promptly).
     */
    default void check() {}

    @Override
    void close();
  }

  /**
   * Snapshots forwarded to the topology's sink: they go out inside the Kafka Streams transaction,
   * together with the state that numbers them, each asking for a commit. What topology tests use,
   * with the newest version they say is already published; the learner uses {@link
   * SnapshotPublisher}.
   */
  static SnapshotOutput forwarding(
      ProcessorContext<byte[], byte[]> context, long newestPublishedVersion) {
    return new SnapshotOutput() {
      @Override
      public SnapshotVersions.Newest open() {
        return SnapshotVersions.Newest.version(newestPublishedVersion);
      }

      @Override
      public void publish(byte[] key, byte[] value, long timestamp) {
        context.forward(new Record<>(key, value, timestamp));
        context.commit();
      }

      @Override
      public void close() {}
    };
  }

  /**
   * @param decodes true when the trainer reads the training topic itself (one partition, no
   *     repartition hop): it then decodes TrainingSample records and forwards dead letters
   *     (recognised downstream by their reason header) beside the snapshots; false when it reads
   *     compact samples from the repartition topic
   */
  Trainer(
      Config config,
      LearnerMetrics metrics,
      boolean decodes,
      LongSupplier wallClock,
      Function<ProcessorContext<byte[], byte[]>, SnapshotOutput> outputs) {
    this.config = config;
    this.wallClock = wallClock;
    this.outputs = outputs;
    this.metrics = metrics;
    this.decodes = decodes;
    this.modelKey = config.modelId().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    this.layout = new SampleLayout(config.spec());
    this.sample = new byte[layout.bytes()];
  }

  @Override
  public void init(ProcessorContext<byte[], byte[]> context) {
    // Kafka Streams may call init() again on this instance after close() (when it revives a task):
    // everything kept
    // between records starts over here, from the state in the store.
    this.context = context;
    if (context.taskId().partition() != 0) {
      // More than one trainer task would train more than one network: never let that happen
      // silently.
      throw new IllegalStateException(
          "the training topic of model "
              + config.modelId()
              + " gained partitions"
              + " while the learner ran without repartitioning (task "
              + context.taskId()
              + "): restart the learner");
    }
    this.store = context.getStateStore(LearnerTopology.STATE_STORE);
    output = outputs.apply(context);
    // The SnapshotPublisher reads the newest snapshot after fencing any earlier publisher.
    SnapshotVersions.Newest newest = output.open();
    try {
      state = TrainingState.load(store, config, newest.version());
    } catch (RuntimeException e) {
      output.close(); // a state of another model: the learner stops, without a producer left open
      throw e;
    }
    if (state == null) {
      state = TrainingState.fresh(config, newest.version());
      state.save(store);
      log.info(
          "model {}: new state, run {}, {} parameters, versions continue after {}",
          config.modelId(),
          state.runId(),
          state.network.parameterCount(),
          state.lastVersion());
    } else {
      log.info(
          "model {}: resumed run {} at {} samples, {} batches, {} waiting, snapshot version {}",
          config.modelId(),
          state.runId(),
          state.samplesTrained(),
          state.batchesTrained(),
          state.pendingCount(),
          state.lastVersion());
    }
    // A snapshot of this lineage may have come from a state that was never committed (snapshots go
    // out in
    // transactions of their own): its batches train again now. Until the state has passed that
    // snapshot's samples,
    // publishing would serve a model that has seen fewer samples than the one already out.
    holdUntilSamples = state.runId().equals(newest.runId()) ? newest.samplesSeen() : 0;
    if (holdUntilSamples > state.samplesTrained()) {
      log.info(
          "model {}: snapshot v{} of run {} has seen {} samples, this state {}: no snapshot until it has"
              + " trained past them",
          config.modelId(),
          newest.version(),
          state.runId(),
          holdUntilSamples,
          state.samplesTrained());
    }
    publishProgress();
    cadence = SnapshotCadence.of(config);
    training =
        new TrainingQueue(
            state,
            TrainingState.queuedBatches(config),
            CAPTURE_EVERY,
            context.applicationId() + "-" + context.taskId() + "-training");
    long now = context.currentSystemTimeMs();
    lastArrivalMs = now;
    lastSnapshotMs = now;
    long tick =
        Math.max(
            10, Math.min(config.flushIdle().toMillis(), config.snapshotInterval().toMillis()) / 5);
    context.schedule(Duration.ofMillis(tick), PunctuationType.WALL_CLOCK_TIME, this::tick);
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    byte[] compact;
    if (decodes) {
      try {
        layout.decodeInto(record.value(), sample);
      } catch (InvalidPayloadException e) {
        context.forward(
            SampleDecoder.deadLetter(record, context.recordMetadata().orElseThrow(), e, metrics));
        return;
      }
      compact = sample;
    } else {
      compact = record.value();
      if (compact == null || compact.length != layout.bytes()) {
        throw new IllegalStateException(
            "internal sample of "
                + (compact == null ? 0 : compact.length)
                + " bytes on the repartition topic, expected "
                + layout.bytes());
      }
    }
    lastArrivalMs = context.currentSystemTimeMs();
    startFullBatches(lastArrivalMs); // a restored state may hold full batches
    state.addPending(compact, store);
    startFullBatches(lastArrivalMs);
  }

  /** Starts training every full batch waiting behind the queued ones. */
  private void startFullBatches(long now) {
    while (state.pendingCount() - training.queuedSamples() >= config.batchSize()) {
      int count = config.batchSize();
      boolean snapshotDue =
          cadence.dueByBatches(state.batchesSinceSnapshot() + training.size() + 1);
      if (!training.background() || snapshotDue) {
        trainInLine(count, now); // a due snapshot goes out at once
      } else {
        if (training.full()) {
          put(training.takeOldestCaptured(this::takeOne));
        }
        training.submit(count);
      }
    }
  }

  /**
   * Takes every queued batch (waiting for them), then trains the oldest {@code count} waiting
   * samples here.
   */
  private void trainInLine(int count, long now) {
    put(training.takeAll(this::takeOne));
    boolean[] applied = {false};
    put(training.trainHere(count, (n, timed) -> applied[0] = takeOne(n, timed)));
    if (applied[0] && cadence.dueByBatches(state.batchesSinceSnapshot())) {
      publish(now);
    }
  }

  /** Puts the state as of the last batch taken ({@code image}, claimed), unless none was taken. */
  private void put(int image) {
    if (image >= 0) {
      state.putTrained(store, image);
      publishProgress();
    }
  }

  private void tick(long now) {
    output.check();
    put(training.takeAll(this::takeOne));
    if (state.pendingCount() > 0 && now - lastArrivalMs >= config.flushIdle().toMillis()) {
      trainInLine(Math.min(state.pendingCount(), config.batchSize()), now);
    }
    if (cadence.dueByTime(state.batchesSinceSnapshot(), now - lastSnapshotMs)) {
      publish(now);
    }
  }

  /**
   * Counts one trained batch (the oldest waiting samples); the caller stores the state. Whether it
   * applied.
   */
  private boolean takeOne(int count, TrainingQueue.Timed timed) {
    TrainingState.BatchOutcome outcome = state.finish(count, timed.trained().step());
    metrics.batch(outcome.stats().samples(), timed.nanos(), outcome.applied());
    if (!outcome.applied()) {
      log.warn(
          "model {}: skipped a batch of {} samples with a non-finite loss or gradient ({} skipped so far)",
          config.modelId(),
          outcome.stats().samples(),
          state.batchesSkipped());
    }
    return outcome.applied();
  }

  private void publish(long now) {
    if (state.samplesTrained() <= holdUntilSamples) {
      // Held (see init): the cadence goes on as if published, so batches keep training in the
      // background.
      lastSnapshotMs = now;
      state.snapshotHeld();
      state.saveMeta(store);
      return;
    }
    INDArray[] weights =
        state.publishedWeights(); // the EMA's are computed on each call: once per snapshot
    if (!TrainingState.allFinite(weights)) {
      // Never publish weights a scorer would have to refuse; the state keeps training (or skipping)
      // as it is.
      lastSnapshotMs = now;
      metrics.snapshotRefused();
      log.error(
          "model {}: weights after {} batches are not finite; no snapshot published",
          config.modelId(),
          state.batchesTrained());
      return;
    }
    long version = state.lastVersion() + 1;
    long publishedAt = Math.max(now, wallClock.getAsLong());
    double accuracy = state.prequential.accuracy();
    double loss = state.prequential.loss();
    ModelSnapshot snapshot =
        Snapshots.build(
            new Snapshots.Header(
                config.modelId(),
                version,
                Instant.ofEpochMilli(publishedAt),
                state.runId(),
                state.average != null ? WeightsKind.EMA : WeightsKind.RAW,
                state.samplesTrained(),
                state.batchesTrained(),
                Double.isNaN(accuracy) ? null : accuracy,
                Double.isNaN(loss) ? null : loss),
            config.sizes(),
            weights,
            config.spec(),
            state.transform());
    byte[] bytes = Codecs.MODEL_SNAPSHOT.encode(snapshot);
    output.publish(modelKey, bytes, publishedAt);
    state.published(version);
    state.saveMeta(store);
    lastSnapshotMs = now;
    metrics.snapshot(version, bytes.length);
    log.info(
        "model {}: snapshot v{} ({} samples, {} batches, prequential accuracy {}, {} bytes) to {}",
        config.modelId(),
        version,
        state.samplesTrained(),
        state.batchesTrained(),
        Double.isNaN(accuracy) ? "-" : String.format("%.4f", accuracy),
        bytes.length,
        config.snapshotTopic());
  }

  @Override
  public void close() {
    // Batches still queued are not taken: the store holds them as waiting, and a restart trains
    // them again.
    if (output != null) {
      output.close();
    }
    if (training != null) {
      training.close();
    }
  }

  private void publishProgress() {
    metrics.progress(
        state.prequential.accuracy(),
        state.prequential.loss(),
        state.prequential.cumulativeAccuracy(),
        state.samplesTrained());
  }
}
