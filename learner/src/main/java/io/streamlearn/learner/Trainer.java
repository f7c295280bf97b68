package io.streamlearn.learner;

import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.contract.WeightsKind;
import io.streamlearn.core.avro.Codecs;
import io.streamlearn.core.avro.InvalidPayloadException;
import io.streamlearn.learner.LearnerSettings.Config;
import io.streamlearn.model.Snapshots;
import java.time.Duration;
import java.time.Instant;
import org.apache.kafka.streams.processor.PunctuationType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training processor, in the one task that owns the model: gathers samples into mini-batches, scores each batch
 * then trains on it (prequential), trains a half-filled batch after {@code flush-idle} without new samples, and
 * publishes a ModelSnapshot every {@code snapshot-every} batches or {@code snapshot-interval}, whichever comes
 * first, never when nothing was trained since the last one. Snapshots go out inside the exactly-once transaction
 * together with the state that numbers them, and each asks for a commit so readers see it at once.
 */
final class Trainer implements Processor<byte[], byte[], byte[], byte[]> {
  private static final Logger log = LoggerFactory.getLogger(Trainer.class);

  private final Config config;
  private final LearnerMetrics metrics;
  private final long newestPublishedVersion;
  private final boolean decodes;
  private final byte[] modelKey;
  private final byte[] sample = new byte[TrainingState.SAMPLE_BYTES];
  private ProcessorContext<byte[], byte[]> context;
  private KeyValueStore<String, byte[]> store;
  private TrainingState state;
  private long lastArrivalMs;
  private long lastSnapshotMs;

  /**
   * @param decodes true when the trainer reads the training topic itself (one partition, no repartition hop): it
   *     then decodes TrainingSample records and forwards dead letters (recognised downstream by their reason
   *     header) beside the snapshots; false when it reads compact samples from the repartition topic
   */
  Trainer(Config config, LearnerMetrics metrics, long newestPublishedVersion, boolean decodes) {
    this.config = config;
    this.metrics = metrics;
    this.newestPublishedVersion = newestPublishedVersion;
    this.decodes = decodes;
    this.modelKey = config.modelId().getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  @Override
  public void init(ProcessorContext<byte[], byte[]> context) {
    this.context = context;
    if (context.taskId().partition() != 0) {
      // More than one trainer task would train more than one network: never let that happen silently.
      throw new IllegalStateException("the training topic of model " + config.modelId() + " gained partitions"
          + " while the learner ran without repartitioning (task " + context.taskId() + "): restart the learner");
    }
    this.store = context.getStateStore(LearnerTopology.STATE_STORE);
    state = TrainingState.load(store, config, newestPublishedVersion);
    if (state == null) {
      state = TrainingState.fresh(config, newestPublishedVersion);
      state.save(store);
      log.info("model {}: new state, run {}, {} parameters, versions continue after {}", config.modelId(),
          state.runId, state.network.parameterCount(), state.lastVersion);
    } else {
      log.info("model {}: resumed run {} at {} samples, {} batches, {} waiting, snapshot version {}",
          config.modelId(), state.runId, state.samplesTrained, state.batchesTrained, state.pendingCount(),
          state.lastVersion);
    }
    publishProgress();
    long now = context.currentSystemTimeMs();
    lastArrivalMs = now;
    lastSnapshotMs = now;
    long tick = Math.max(10, Math.min(config.flushIdle().toMillis(), config.snapshotInterval().toMillis()) / 5);
    context.schedule(Duration.ofMillis(tick), PunctuationType.WALL_CLOCK_TIME, this::tick);
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    byte[] compact;
    if (decodes) {
      try {
        SampleDecoder.decodeInto(record.value(), sample);
      } catch (InvalidPayloadException e) {
        context.forward(SampleDecoder.deadLetter(record, context.recordMetadata().orElseThrow(), e, metrics));
        return;
      }
      compact = sample;
    } else {
      compact = record.value();
      if (compact == null || compact.length != TrainingState.SAMPLE_BYTES) {
        throw new IllegalStateException("internal sample of " + (compact == null ? 0 : compact.length)
            + " bytes on the repartition topic, expected " + TrainingState.SAMPLE_BYTES);
      }
    }
    state.addPending(compact, store);
    lastArrivalMs = context.currentSystemTimeMs();
    if (state.pendingCount() == config.batchSize()) {
      trainBatch(lastArrivalMs);
    }
  }

  private void tick(long now) {
    if (state.pendingCount() > 0 && now - lastArrivalMs >= config.flushIdle().toMillis()) {
      trainBatch(now);
    }
    if (state.batchesTrained > state.batchesAtLastSnapshot
        && now - lastSnapshotMs >= config.snapshotInterval().toMillis()) {
      publish(now);
    }
  }

  private void trainBatch(long now) {
    long start = System.nanoTime();
    TrainingState.BatchOutcome outcome = state.trainPending();
    metrics.batch(outcome.stats().samples(), System.nanoTime() - start, outcome.applied());
    if (!outcome.applied()) {
      log.warn("model {}: skipped a batch of {} samples with a non-finite loss or gradient ({} skipped so far)",
          config.modelId(), outcome.stats().samples(), state.batchesSkipped);
    }
    state.save(store);
    publishProgress();
    if (outcome.applied() && state.batchesTrained - state.batchesAtLastSnapshot >= config.snapshotEvery()) {
      publish(now);
    }
  }

  private void publish(long now) {
    INDArray[] weights = state.publishedWeights(); // the EMA's are computed on each call: once per snapshot
    if (!TrainingState.allFinite(weights)) {
      // Never publish weights a scorer would have to refuse; the state keeps training (or skipping) as it is.
      lastSnapshotMs = now;
      metrics.snapshotRefused();
      log.error("model {}: weights after {} batches are not finite; no snapshot published", config.modelId(),
          state.batchesTrained);
      return;
    }
    long version = state.lastVersion + 1;
    double accuracy = state.prequential.accuracy();
    double loss = state.prequential.loss();
    ModelSnapshot snapshot = Snapshots.build(
        new Snapshots.Header(config.modelId(), version, Instant.ofEpochMilli(now), state.runId,
            state.average != null ? WeightsKind.EMA : WeightsKind.RAW, state.samplesTrained, state.batchesTrained,
            Double.isNaN(accuracy) ? null : accuracy, Double.isNaN(loss) ? null : loss),
        config.sizes(), weights);
    byte[] bytes = Codecs.MODEL_SNAPSHOT.encode(snapshot);
    context.forward(new Record<>(modelKey, bytes, now));
    state.lastVersion = version;
    state.batchesAtLastSnapshot = state.batchesTrained;
    state.saveMeta(store);
    lastSnapshotMs = now;
    metrics.snapshot(version, bytes.length);
    context.commit();
    log.info("model {}: snapshot v{} ({} samples, {} batches, prequential accuracy {}, {} bytes) to {}",
        config.modelId(), version, state.samplesTrained, state.batchesTrained,
        Double.isNaN(accuracy) ? "-" : String.format("%.4f", accuracy), bytes.length, config.snapshotTopic());
  }

  private void publishProgress() {
    metrics.progress(state.prequential.accuracy(), state.prequential.loss(), state.prequential.cumulativeAccuracy(),
        state.samplesTrained);
  }
}
