package io.streamlearn.learner;

import io.streamlearn.learner.LearnerSettings.Config;
import io.streamlearn.model.Adam;
import io.streamlearn.model.BatchStats;
import io.streamlearn.model.DenseNetwork;
import io.streamlearn.model.Snapshots;
import io.streamlearn.model.TrainingLoop;
import io.streamlearn.model.WeightAverage;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.UUID;
import org.apache.kafka.streams.state.KeyValueStore;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Everything the learner must not lose: the network's weights, Adam's moments and step, the weight average, the
 * samples waiting in the current batch, the counters, the snapshot version and the prequential figures. Lives in
 * memory for speed and is written to the changelogged store so that whatever a commit covers is in the store:
 *
 * <ul>
 *   <li>{@code pending}: the waiting samples ({@code [count][label, 784 pixels]...}), put after every sample;
 *   <li>{@code params/i}, {@code adam-m/i}, {@code adam-v/i}, {@code ema/i}: float32 vectors in chunks under 1 MB,
 *       put after every batch;
 *   <li>{@code meta}: counters, version, run id, Adam's step, prequential window, put after every batch.
 * </ul>
 *
 * The store caches (Kafka Streams' record cache), so repeated puts of a key between commits reach the changelog as
 * one record per commit. The byte arrays put are allocated once and rewritten in place before each put: the cache
 * keeps the reference and writes its content at flush, which is then the newest state, and the changelog producer
 * and RocksDB copy on write. This keeps the per-batch cost to one copy of the state (no allocation).
 */
final class TrainingState {
  static final String META = "meta";
  static final String PENDING = "pending";
  private static final int FORMAT = 2;
  /** Bytes of one waiting sample: the label, then 784 pixels. */
  static final int SAMPLE_BYTES = 1 + LearnerSettings.INPUTS;

  private final Config config;
  final DenseNetwork network;
  final Adam adam;
  final WeightAverage average;
  final Prequential prequential;
  private final TrainingLoop loop;
  private final float[] row = new float[LearnerSettings.INPUTS];
  private final byte[] pending;
  private final FloatChunks params;
  private final FloatChunks moment1;
  private final FloatChunks moment2;
  private final FloatChunks averageChunks;

  String runId;
  long samplesTrained;
  long batchesTrained;
  long samplesSkipped;
  long batchesSkipped;
  long lastVersion;
  long batchesAtLastSnapshot;

  private TrainingState(Config config, DenseNetwork network) {
    this.config = config;
    this.network = network;
    this.adam = new Adam(config.adam(), network.parameters());
    this.prequential = new Prequential(config.prequentialWindow(), config.batchSize());
    this.pending = new byte[4 + config.batchSize() * SAMPLE_BYTES];
    int count = Math.toIntExact(network.parameterCount());
    this.params = new FloatChunks("params", count);
    this.moment1 = new FloatChunks("adam-m", count);
    this.moment2 = new FloatChunks("adam-v", count);
    this.average = config.emaDecay() > 0 ? new WeightAverage(config.emaDecay(), network.parameters()) : null;
    this.averageChunks = average != null ? new FloatChunks("ema", count) : null;
    this.loop = new TrainingLoop(network, adam, average, config::learningRate, config.batchSize());
  }

  /** A new lineage: seeded initial weights, a fresh run id, versions after {@code newestPublishedVersion}. */
  static TrainingState fresh(Config config, long newestPublishedVersion) {
    TrainingState state =
        new TrainingState(config, DenseNetwork.initialized(config.sizes(), DataType.FLOAT, config.seed(), config.init()));
    state.runId = UUID.randomUUID().toString();
    state.lastVersion = newestPublishedVersion;
    return state;
  }

  /** The state in the store, or null when the store holds none. */
  static TrainingState load(KeyValueStore<String, byte[]> store, Config config, long newestPublishedVersion) {
    byte[] meta = store.get(META);
    if (meta == null) {
      return null;
    }
    ByteBuffer in = ByteBuffer.wrap(meta);
    int format = in.getInt();
    if (format != FORMAT) {
      throw new IllegalStateException("learner state format " + format + " is not " + FORMAT);
    }
    int[] sizes = new int[in.getInt()];
    for (int i = 0; i < sizes.length; i++) {
      sizes[i] = in.getInt();
    }
    int batchSize = in.getInt();
    if (!Arrays.equals(sizes, config.sizes()) || batchSize != config.batchSize()) {
      throw new IllegalStateException("the learner state of application " + config.applicationId() + " holds a "
          + Arrays.toString(sizes) + " network with batch size " + batchSize + ", but the configuration asks for "
          + Arrays.toString(config.sizes()) + " with batch size " + config.batchSize()
          + " (keys 'hidden', 'batch-size'): use another --application-id for another model");
    }
    TrainingState state = new TrainingState(config, DenseNetwork.zeros(sizes, DataType.FLOAT));
    byte[] runId = new byte[in.getInt()];
    in.get(runId);
    state.runId = new String(runId, StandardCharsets.UTF_8);
    state.adam.restoreStep(in.getLong());
    state.samplesTrained = in.getLong();
    state.batchesTrained = in.getLong();
    state.samplesSkipped = in.getLong();
    state.batchesSkipped = in.getLong();
    state.lastVersion = Math.max(in.getLong(), newestPublishedVersion);
    state.batchesAtLastSnapshot = in.getLong();
    boolean hadAverage = in.get() == 1;
    long averageSteps = in.getLong();
    state.prequential.readFrom(in);

    INDArray[] parameters = state.network.parameters();
    if (!state.params.load(store) || !state.moment1.load(store) || !state.moment2.load(store)) {
      throw new IllegalStateException("learner state of " + config.applicationId() + " is incomplete");
    }
    float[][] m = state.adam.firstMoments();
    float[][] v = state.adam.secondMoments();
    int at = 0;
    for (int k = 0; k < parameters.length; k++) {
      int n = Math.toIntExact(parameters[k].length());
      state.params.read(at, parameters[k].data().asNioFloat(), n);
      state.moment1.read(at, m[k]);
      state.moment2.read(at, v[k]);
      at += n;
    }
    if (state.average != null) {
      if (hadAverage && state.averageChunks.load(store)) {
        readInto(state.averageChunks, state.average.rawAverage());
        state.average.restore(averageSteps);
      } else {
        state.average.update(parameters); // averaging just switched on: it starts from the trained weights
      }

    }
    byte[] waiting = store.get(PENDING);
    if (waiting != null && waiting.length == state.pending.length) {
      System.arraycopy(waiting, 0, state.pending, 0, waiting.length);
    }
    return state;
  }

  private static void readInto(FloatChunks chunks, INDArray[] tensors) {
    int at = 0;
    for (INDArray t : tensors) {
      int n = Math.toIntExact(t.length());
      chunks.read(at, t.data().asNioFloat(), n);
      at += n;
    }
  }

  int pendingCount() {
    return ByteBuffer.wrap(pending).getInt(0);
  }

  /** Appends a sample ({@code [label, 784 pixels]}) to the waiting batch and stores the batch. */
  void addPending(byte[] sample, KeyValueStore<String, byte[]> store) {
    int count = pendingCount();
    System.arraycopy(sample, 0, pending, 4 + count * SAMPLE_BYTES, SAMPLE_BYTES);
    ByteBuffer.wrap(pending).putInt(0, count + 1);
    store.put(PENDING, pending);
  }

  /** What training the waiting batch did. */
  record BatchOutcome(BatchStats stats, boolean applied) {}

  /**
   * Scores the waiting samples with the current weights (prequential: test), then, if loss and gradients are
   * finite, applies one Adam step (train). Empties the waiting batch. Does not store anything.
   */
  BatchOutcome trainPending() {
    int count = pendingCount();
    INDArray x = count == config.batchSize() ? loop.input() : network.newInput(count);
    int[] y = count == config.batchSize() ? loop.labels() : new int[count];
    for (int r = 0; r < count; r++) {
      int offset = 4 + r * SAMPLE_BYTES;
      y[r] = pending[offset];
      DenseNetwork.setInputRow(x, r, pending, offset + 1, Snapshots.INPUT_SCALE, row);
    }
    ByteBuffer.wrap(pending).putInt(0, 0);
    TrainingLoop.Step step = loop.step(x, y);
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

  /** Writes the whole state to the store (after a batch). */
  void save(KeyValueStore<String, byte[]> store) {
    INDArray[] parameters = network.parameters();
    float[][] m = adam.firstMoments();
    float[][] v = adam.secondMoments();
    int at = 0;
    for (int k = 0; k < parameters.length; k++) {
      int n = Math.toIntExact(parameters[k].length());
      params.write(at, parameters[k].data().asNioFloat(), n);
      moment1.write(at, m[k]);
      moment2.write(at, v[k]);
      at += n;
    }
    params.put(store);
    moment1.put(store);
    moment2.put(store);
    if (average != null) {
      at = 0;
      for (INDArray t : average.rawAverage()) {
        int n = Math.toIntExact(t.length());
        averageChunks.write(at, t.data().asNioFloat(), n);
        at += n;
      }
      averageChunks.put(store);
    }
    store.put(PENDING, pending);
    saveMeta(store);
  }

  /** Writes the counters and version (after a snapshot). */
  void saveMeta(KeyValueStore<String, byte[]> store) {
    byte[] id = runId.getBytes(StandardCharsets.UTF_8);
    int[] sizes = network.sizes();
    ByteBuffer out = ByteBuffer.allocate(
        4 + 4 + 4 * sizes.length + 4 + 4 + id.length + 8 * 7 + 1 + 8 + prequential.encodedSize());
    out.putInt(FORMAT).putInt(sizes.length);
    for (int s : sizes) {
      out.putInt(s);
    }
    out.putInt(config.batchSize()).putInt(id.length).put(id);
    out.putLong(adam.step()).putLong(samplesTrained).putLong(batchesTrained).putLong(samplesSkipped)
        .putLong(batchesSkipped).putLong(lastVersion).putLong(batchesAtLastSnapshot);
    out.put((byte) (average != null ? 1 : 0)).putLong(average != null ? average.steps() : 0);
    prequential.writeTo(out);
    store.put(META, out.array());
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

  /** The weights snapshots publish: the average when weight averaging is on, else the raw weights. */
  INDArray[] publishedWeights() {
    return average != null ? average.parameters() : network.parameters();
  }
}
