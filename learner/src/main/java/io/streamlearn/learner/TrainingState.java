package io.streamlearn.learner;

import io.streamlearn.contract.avro.AvroCodec;
import io.streamlearn.contract.avro.InvalidPayloadException;
import io.streamlearn.learner.LearnerSettings.Config;
import io.streamlearn.learner.avro.LearnerCheckpoint;
import io.streamlearn.model.Adam;
import io.streamlearn.model.BatchStats;
import io.streamlearn.model.DenseNetwork;
import io.streamlearn.model.InputTransform;
import io.streamlearn.model.ModelSpec;
import io.streamlearn.model.Standardizer;
import io.streamlearn.model.TrainingLoop;
import io.streamlearn.model.WeightAverage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import org.apache.kafka.streams.state.KeyValueStore;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Everything the learner must not lose: the network's weights, Adam's moments and step, the weight
 * average, the samples waiting in the current batch, the counters, the snapshot version and the
 * prequential figures. Lives in memory for speed and is written to the changelogged store so that
 * whatever a commit covers is in the store:
 *
 * <ul>
 *   <li>{@code pending}: the waiting samples, put after every sample: the batches queued or
 *       training, if any, and the one filling behind them, as a ring ({@link SampleRing}: {@code
 *       [count][start][sample]...}, each sample in its {@link SampleLayout}, MNIST's {@code [label,
 *       784 pixels]}, the oldest at {@code start});
 *   <li>{@code params/i}, {@code adam-m/i}, {@code adam-v/i}, {@code ema/i}: float32 vectors in
 *       chunks under 1 MB, put whenever trained batches are taken;
 *   <li>{@code standardizer}: a standardizing model's running statistics ({@link StateImages}), put
 *       with them;
 *   <li>{@code meta}: a {@link LearnerCheckpoint} (Avro single-object encoding): counters, version,
 *       run id, Adam's step, prequential window, put with them. A {@code meta} in the hand-packed
 *       formats of earlier releases is read once ({@link LegacyCheckpoint}).
 * </ul>
 *
 * <p>Batches may train on another thread ({@link #train}), one after the other, while samples are
 * appended behind them. Some trainings end by copying the new weights, moments and average into one
 * of three images ({@link StateImages}, {@link #capture}): one that is neither stored nor holding
 * the newest captured result. {@link #finish} and {@link #putTrained} then count the batches up to
 * that one and put its image. The store therefore always holds the state after the last batch
 * taken, with the samples of the batches not taken yet (queued, training, or trained without a
 * capture) as waiting.
 *
 * <p>The store caches (Kafka Streams' record cache), so repeated puts of a key between commits
 * reach the changelog as one record per commit. The byte arrays put are allocated once and
 * rewritten in place before each put: the cache keeps the reference and writes its content at
 * flush, which is then the newest state, and the changelog producer and RocksDB copy on write. This
 * keeps the per-batch cost to one copy of the state (no allocation).
 */
final class TrainingState {
  static final String META = "meta";
  static final String PENDING = "pending";

  /** The input kind a checkpoint without one (of the first release, or MNIST's) holds. */
  static final String MNIST_KIND = "image 28x28 scale";

  /** What a spec takes and how it transforms it, as the checkpoint records it. */
  static String inputKind(ModelSpec spec) {
    return (spec.images() ? "image " + spec.image() : "features")
        + (spec.standardize() ? " standardize" : " scale");
  }

  /** The checkpoint's codec: Avro single-object encoding, every released version readable. */
  static final AvroCodec<LearnerCheckpoint> CHECKPOINT =
      AvroCodec.of(LearnerCheckpoint.class, checkpoint -> {});

  private final Config config;
  private final SampleLayout layout;

  /** {@link #inputKind} of the configured spec, as the checkpoint records it. */
  private final String kind;

  final DenseNetwork network;
  final Adam adam;
  final WeightAverage average;
  final Prequential prequential;
  private final TrainingLoop loop;
  private final float[] row;

  /**
   * The running statistics of a standardizing model (null for a scaled one): updated with each
   * batch after it is scored and before it trains, on the thread that trains.
   */
  private final Standardizer standardizer;

  /**
   * What the inputs go through: the configured scale, or the statistics frozen after the last batch
   * trained. Written by the training thread, read by the stream thread when no training runs.
   */
  private volatile InputTransform transform;

  /** The waiting samples, as the store holds them. */
  private final SampleRing pending;

  /** Three copies of the float state, for the store (see {@link StateImages}). */
  private final StateImages images;

  private String runId;
  private long samplesTrained;
  private long batchesTrained;
  private long samplesSkipped;
  private long batchesSkipped;
  private long lastVersion;
  private long batchesAtLastSnapshot;

  private TrainingState(Config config, DenseNetwork network) {
    this.config = config;
    this.layout = new SampleLayout(config.spec());
    this.kind = inputKind(config.spec());
    this.row = new float[config.spec().inputs()];
    this.network = network;
    this.adam = new Adam(config.adam(), network.parameters());
    this.prequential = new Prequential(config.prequentialWindow(), config.batchSize());
    this.pending = new SampleRing(capacity(config), layout.bytes());
    this.standardizer =
        config.spec().standardize() ? new Standardizer(config.spec().inputs()) : null;
    this.transform = standardizer != null ? standardizer.freeze() : config.scale();
    this.average =
        config.emaDecay() > 0 ? new WeightAverage(config.emaDecay(), network.parameters()) : null;
    this.images = new StateImages(network, adam, average, standardizer);
    this.loop = new TrainingLoop(network, adam, average, config::learningRate, config.batchSize());
  }

  /**
   * A new lineage: seeded initial weights, a fresh run id, versions after {@code
   * newestPublishedVersion}.
   */
  static TrainingState fresh(Config config, long newestPublishedVersion) {
    TrainingState state =
        new TrainingState(
            config,
            DenseNetwork.initialized(config.sizes(), DataType.FLOAT, config.seed(), config.init()));
    state.runId = UUID.randomUUID().toString();
    state.lastVersion = newestPublishedVersion;
    return state;
  }

  /** The state in the store, or null when the store holds none. */
  static TrainingState load(
      KeyValueStore<String, byte[]> store, Config config, long newestPublishedVersion) {
    byte[] meta = store.get(META);
    if (meta == null) {
      return null;
    }
    boolean legacy = LegacyCheckpoint.isLegacy(meta);
    LearnerCheckpoint checkpoint;
    try {
      checkpoint = legacy ? LegacyCheckpoint.read(meta) : CHECKPOINT.decode(meta);
    } catch (InvalidPayloadException | IllegalStateException e) {
      throw new IllegalStateException(
          "the learner state of application "
              + config.applicationId()
              + " does not decode: "
              + e.getMessage(),
          e);
    }
    int[] sizes = checkpoint.getLayerSizes().stream().mapToInt(Integer::intValue).toArray();
    int batchSize = checkpoint.getBatchSize();
    String kind = Objects.requireNonNullElse(checkpoint.getInputKind(), MNIST_KIND);
    if (!Arrays.equals(sizes, config.sizes())
        || batchSize != config.batchSize()
        || !kind.equals(inputKind(config.spec()))) {
      throw new IllegalStateException(
          "the learner state of application "
              + config.applicationId()
              + " holds a "
              + Arrays.toString(sizes)
              + " network of "
              + kind
              + " inputs with batch size "
              + batchSize
              + ", but the configuration asks for "
              + Arrays.toString(config.sizes())
              + " of "
              + inputKind(config.spec())
              + " inputs with batch size "
              + config.batchSize()
              + " (keys 'inputs', 'hidden', 'classes', 'image-shape', 'normalize', 'batch-size'): use"
              + " another --application-id for another model");
    }
    TrainingState state = new TrainingState(config, DenseNetwork.zeros(sizes, DataType.FLOAT));
    state.runId = checkpoint.getRunId();
    state.samplesTrained = checkpoint.getSamplesTrained();
    state.batchesTrained = checkpoint.getBatchesTrained();
    state.samplesSkipped = checkpoint.getSamplesSkipped();
    state.batchesSkipped = checkpoint.getBatchesSkipped();
    state.lastVersion = Math.max(checkpoint.getLastVersion(), newestPublishedVersion);
    state.batchesAtLastSnapshot = checkpoint.getBatchesAtLastSnapshot();
    state.prequential.restore(checkpoint.getPrequential());
    Long averageSteps = checkpoint.getAverageSteps();
    long adamStep = checkpoint.getAdamStep();
    boolean hadAverage = averageSteps != null;

    if (!state.images.load(store, adamStep, hadAverage, hadAverage ? averageSteps : 0)) {
      throw new IllegalStateException(
          "learner state of " + config.applicationId() + " is incomplete");
    }
    if (state.standardizer != null) {
      state.transform = state.standardizer.freeze();
    }
    byte[] waiting = store.get(PENDING);
    if (waiting != null) {
      state.pending.restore(
          waiting,
          legacy && LegacyCheckpoint.format(meta) == LegacyCheckpoint.FORMAT_LIST,
          config.applicationId());
    }
    return state;
  }

  /**
   * Largest stored list of waiting samples: under Kafka's default 1 MB record limit, with room to
   * spare.
   */
  static final int PENDING_LIMIT_BYTES = 900_000;

  /** Most batches queued or training on the trainer's thread at once. */
  static final int MAX_QUEUED_BATCHES = 8;

  /**
   * Batches that may be queued or training on another thread while the next fills: up to {@value
   * #MAX_QUEUED_BATCHES}, as many as fit beside the filling one in one stored record; 0 (train in
   * line) for batches of more than 573 samples.
   */
  static int queuedBatches(Config config) {
    long perBatch = (long) config.batchSize() * new SampleLayout(config.spec()).bytes();
    long fit = (PENDING_LIMIT_BYTES - SampleRing.HEADER) / perBatch - 1;
    return (int) Math.max(0, Math.min(MAX_QUEUED_BATCHES, fit));
  }

  /** Waiting samples the state can hold: the queued batches and a full one behind them. */
  static int capacity(Config config) {
    return (queuedBatches(config) + 1) * config.batchSize();
  }

  /** The ring index of the waiting sample {@code ahead} places after the oldest. */
  int ringIndex(int ahead) {
    return pending.index(ahead);
  }

  int pendingCount() {
    return pending.count();
  }

  /** Appends a sample (in {@link SampleLayout}) to the waiting samples and stores them. */
  void addPending(byte[] sample, KeyValueStore<String, byte[]> store) {
    pending.add(sample);
    store.put(PENDING, pending.bytes());
  }

  /** What training the waiting batch did. */
  record BatchOutcome(BatchStats stats, boolean applied) {}

  /** Training step number {@code seq}. */
  record Trained(TrainingLoop.Step step, long seq) {}

  /**
   * Scores the {@code count} waiting samples from ring index {@code first} with the current weights
   * (prequential: test), then, if loss and gradients are finite, applies one Adam step (train);
   * with {@code capture}, copies the resulting state into a free image ({@link #capture}). Touches
   * only those samples, the weights, Adam's moments, the average, the loop's buffers and that
   * image: it may run on another thread while samples are appended behind and earlier batches are
   * taken, as long as nothing else reads the weights until it returns. Counts nothing: see {@link
   * #finish}.
   */
  Trained train(int first, int count, long seq, boolean capture) {
    INDArray x = count == config.batchSize() ? loop.input() : network.newInput(count);
    int[] y = count == config.batchSize() ? loop.labels() : new int[count];
    fill(x, y, first, count);
    TrainingLoop.Step step;
    if (standardizer == null) {
      step = loop.step(x, y); // the transform is fixed: the step's forward pass is the test
    } else {
      // Test with the statistics so far, then fold the batch into them and train with the new.
      BatchStats scored = network.forward(x, y);
      byte[] samples = pending.bytes();
      for (int r = 0; r < count; r++) {
        layout.copyInputs(samples, pending.offset((first + r) % pending.capacity()), row);
        standardizer.add(row);
      }
      transform = standardizer.freeze();
      fill(x, y, first, count);
      step = new TrainingLoop.Step(scored, loop.step(x, y).applied());
    }
    if (capture) {
      capture(seq);
    }
    return new Trained(step, seq);
  }

  /**
   * Puts the {@code count} waiting samples from ring index {@code first}, transformed, into x, y.
   */
  private void fill(INDArray x, int[] y, int first, int count) {
    byte[] samples = pending.bytes();
    InputTransform t = transform;
    for (int r = 0; r < count; r++) {
      int offset = pending.offset((first + r) % pending.capacity());
      y[r] = layout.label(samples, offset);
      if (layout.images()) {
        DenseNetwork.setInputRow(x, r, samples, offset + layout.inputsAt(), t, row);
      } else {
        layout.copyInputs(samples, offset, row);
        DenseNetwork.setInputRow(x, r, row, t);
      }
    }
  }

  /**
   * The transform the live weights were trained with (for a snapshot; read when no training runs).
   */
  InputTransform transform() {
    return transform;
  }

  /**
   * Copies the live state, as training step {@code seq} left it, into a free image and makes it the
   * newest ({@link StateImages#capture}). Called by {@link #train}, or by the thread that takes the
   * results once no training runs (a step that did not capture).
   */
  void capture(long seq) {
    images.capture(seq);
  }

  /** The training step of the newest captured image. */
  long latestSeq() {
    return images.latestSeq();
  }

  /** Makes the newest captured image the stored one ({@link StateImages#claimLatest}). */
  StateImages.Claim claimLatest() {
    return images.claimLatest();
  }

  /**
   * Takes the result of {@link #train} for the oldest {@code count} waiting samples: removes them,
   * counts it.
   */
  BatchOutcome finish(int count, TrainingLoop.Step step) {
    pending.removeOldest(count);
    BatchStats stats = step.stats();
    if (!step.applied()) {
      batchesSkipped++;
      samplesSkipped += count;
      return new BatchOutcome(stats, false);
    }
    prequential.record(stats);
    batchesTrained++;
    samplesTrained += count;
    return new BatchOutcome(stats, true);
  }

  /**
   * Puts the state as of the last batch taken: {@code image} (claimed by {@link #claimLatest}), the
   * waiting samples, the counters.
   */
  void putTrained(KeyValueStore<String, byte[]> store, int image) {
    images.put(store, image);
    store.put(PENDING, pending.bytes());
    saveMeta(store);
  }

  /** Captures the live state into the stored image and writes the whole state to the store. */
  void save(KeyValueStore<String, byte[]> store) {
    putTrained(store, images.captureStored());
  }

  /** Writes the checkpoint: counters, version, Adam's step, prequential window. */
  void saveMeta(KeyValueStore<String, byte[]> store) {
    List<Integer> sizes = new ArrayList<>();
    for (int size : network.sizes()) {
      sizes.add(size);
    }
    LearnerCheckpoint checkpoint =
        LearnerCheckpoint.newBuilder()
            .setLayerSizes(sizes)
            .setBatchSize(config.batchSize())
            .setRunId(runId)
            .setAdamStep(adam.step())
            .setSamplesTrained(samplesTrained)
            .setBatchesTrained(batchesTrained)
            .setSamplesSkipped(samplesSkipped)
            .setBatchesSkipped(batchesSkipped)
            .setLastVersion(lastVersion)
            .setBatchesAtLastSnapshot(batchesAtLastSnapshot)
            .setAverageSteps(average != null ? average.steps() : null)
            .setPrequential(prequential.toRecord())
            .setInputKind(kind.equals(MNIST_KIND) ? null : kind)
            .build();
    store.put(META, CHECKPOINT.encode(checkpoint));
  }

  /**
   * Snapshot {@code version} was published after the batches trained so far: the next versions
   * follow it and the cadence counts from here.
   */
  void published(long version) {
    lastVersion = version;
    batchesAtLastSnapshot = batchesTrained;
  }

  /**
   * A snapshot was due but held (its samples are already in a published one): the cadence counts
   * from here as if it had been published.
   */
  void snapshotHeld() {
    batchesAtLastSnapshot = batchesTrained;
  }

  String runId() {
    return runId;
  }

  long samplesTrained() {
    return samplesTrained;
  }

  long batchesTrained() {
    return batchesTrained;
  }

  long samplesSkipped() {
    return samplesSkipped;
  }

  long batchesSkipped() {
    return batchesSkipped;
  }

  /** The version of the newest snapshot published (or found published at start). */
  long lastVersion() {
    return lastVersion;
  }

  /** Batches trained since the last snapshot (published or held). */
  long batchesSinceSnapshot() {
    return batchesTrained - batchesAtLastSnapshot;
  }

  /** Whether every value of these tensors is finite. */
  static boolean allFinite(INDArray[] tensors) {
    for (INDArray t : tensors) {
      java.nio.FloatBuffer f = t.data().asNioFloat();
      for (int i = 0, n = Math.toIntExact(t.length()); i < n; i++) {
        if (!Float.isFinite(f.get(i))) {
          return false;
        }
      }
    }
    return true;
  }

  /**
   * The weights snapshots publish: the average when weight averaging is on, else the raw weights.
   */
  INDArray[] publishedWeights() {
    return average != null ? average.parameters() : network.parameters();
  }
}
