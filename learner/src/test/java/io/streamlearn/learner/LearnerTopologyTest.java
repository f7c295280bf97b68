package io.streamlearn.learner;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.streamlearn.contract.Activation;
import io.streamlearn.contract.DenseLayer;
import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.contract.TrainingSample;
import io.streamlearn.contract.WeightsKind;
import io.streamlearn.contract.avro.Codecs;
import io.streamlearn.contract.avro.InputShape;
import io.streamlearn.contract.avro.InvalidPayloadException;
import io.streamlearn.contract.avro.PayloadError;
import io.streamlearn.core.kafka.DeadLetter;
import io.streamlearn.learner.LearnerSettings.Config;
import io.streamlearn.model.Adam;
import io.streamlearn.model.BatchStats;
import io.streamlearn.model.DenseNetwork;
import io.streamlearn.model.InputTransform;
import io.streamlearn.model.ModelSpec;
import io.streamlearn.model.Snapshots;
import io.streamlearn.model.WeightAverage;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The learner topology under {@link TopologyTestDriver}: batching, idle flush, snapshot cadence and
 * versions, snapshot contents, dead letters, skipped non-finite batches and repeatability. Time is
 * the driver's mock wall clock, which starts at {@link #T0} and moves only when a test advances it;
 * the trainer's wall-clock punctuation then fires once per advance (at the advanced-to time) when a
 * tick is due.
 */
class LearnerTopologyTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  private static final int[] SIZES = {784, 8, 10};
  private static final String MODEL = "mnist-test";
  private static final long HOUR = 3_600_000L;

  /** The trainer's punctuation period with the default flush-idle of 500 ms: max(10, 500 / 5). */
  private static final long TICK = 100;

  @TempDir Path tmp;
  private int harnesses;

  // --- configuration and harness
  // ---------------------------------------------------------------------------------

  /** A mutable stand-in for the Config record's components, with small, fast defaults. */
  private final class Settings {
    int batchSize = 4;
    Adam.Settings adam = Adam.Settings.defaults();
    double lrDecayRate = 1.0;
    double emaDecay = 0;
    long seed = 42;
    long flushIdleMs = 500;
    int snapshotEvery = 1000;
    long snapshotIntervalMs = 1000;
    int prequentialWindow = 100;
    Map<String, String> kafka = Map.of();
    ModelSpec spec = ModelSpec.MNIST;
    InputTransform.Scale scale = InputTransform.Scale.MNIST;
    int[] sizes = SIZES.clone();

    Config build() {
      Path stateDir = tmp.resolve("state-" + harnesses++);
      return new Config(
          "unused:9092",
          "learner-ttd",
          MODEL,
          "train-in",
          "snapshots-out",
          "dead-letters-out",
          spec,
          spec.standardize() ? null : scale,
          sizes,
          batchSize,
          adam,
          lrDecayRate,
          1000L,
          emaDecay,
          seed,
          DenseNetwork.Init.HE,
          Duration.ofMillis(flushIdleMs),
          snapshotEvery,
          Duration.ofMillis(snapshotIntervalMs),
          prequentialWindow,
          "at_least_once",
          0,
          1,
          100L,
          1,
          (short) 1,
          stateDir,
          io.streamlearn.core.http.HttpService.Limits.anyPort("metrics-port"),
          kafka);
    }
  }

  private Config config(Consumer<Settings> changes) {
    Settings s = new Settings();
    changes.accept(s);
    return s.build();
  }

  /** One driver over the learner topology, with its input and output topics and its meters. */
  private static final class Harness implements AutoCloseable {
    final Config config;
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    final LearnerMetrics metrics = new LearnerMetrics(registry); // held: gauges reference it weakly
    final TopologyTestDriver driver;
    final TestInputTopic<byte[], byte[]> training;
    final TestOutputTopic<String, byte[]> snapshots;
    final TestOutputTopic<byte[], byte[]> deadLetters;
    private int nextSample;

    /**
     * Milliseconds the driver's wall clock has advanced past T0: the trainer's clock for snapshots.
     */
    private volatile long advanced;

    Harness(Config config) {
      this(config, 0);
    }

    Harness(Config config, long newestPublishedVersion) {
      this(config, newestPublishedVersion, true);
    }

    /**
     * @param repartition false: the one-partition topology, where the trainer decodes and
     *     dead-letters itself
     */
    Harness(Config config, long newestPublishedVersion, boolean repartition) {
      this.config = config;
      driver =
          new TopologyTestDriver(
              LearnerTopology.build(
                  config,
                  metrics,
                  repartition,
                  () -> T0.toEpochMilli() + advanced,
                  context -> Trainer.forwarding(context, newestPublishedVersion)),
              LearnerTopology.streamsProperties(config),
              T0);
      training =
          driver.createInputTopic(
              config.trainingTopic(),
              new ByteArraySerializer(),
              new ByteArraySerializer(),
              T0,
              Duration.ZERO);
      snapshots =
          driver.createOutputTopic(
              config.snapshotTopic(), new StringDeserializer(), new ByteArrayDeserializer());
      deadLetters =
          driver.createOutputTopic(
              config.deadLetterTopic(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /** Sends the next {@code count} valid samples (sample numbers continue across calls). */
    void sendValid(int count) {
      for (int i = 0; i < count; i++) {
        int n = nextSample++;
        training.pipeInput(utf8("s-" + n), validSample(n));
      }
    }

    void send(byte[] key, byte[] value) {
      training.pipeInput(key, value);
    }

    void advance(long millis) {
      advanced += millis;
      driver.advanceWallClockTime(Duration.ofMillis(millis));
    }

    /**
     * The snapshots published since the last call, decoded, after checking their key is the model
     * id.
     */
    List<ModelSnapshot> newSnapshots() {
      List<ModelSnapshot> out = new ArrayList<>();
      for (TestRecord<String, byte[]> r : snapshots.readRecordsToList()) {
        assertEquals(config.modelId(), r.key(), "snapshot key");
        out.add(Codecs.MODEL_SNAPSHOT.decode(r.value()));
      }
      return out;
    }

    double counter(String name) {
      return registry.get(name).counter().count();
    }

    double deadLetterCount(PayloadError reason) {
      return registry
          .get("streamlearn.learner.dead.letters")
          .tag("reason", reason.name())
          .counter()
          .count();
    }

    double gauge(String name) {
      return registry.get(name).gauge().value();
    }

    @Override
    public void close() {
      driver.close();
    }
  }

  // --- samples
  // ---------------------------------------------------------------------------------------------------

  static int label(int n) {
    return n % 10;
  }

  /** Varied, deterministic pixels for sample {@code n}. */
  static byte[] pixels(int n) {
    byte[] p = new byte[Codecs.PIXELS];
    for (int i = 0; i < p.length; i++) {
      p[i] = (byte) ((i * (n + 3) + 7 * n) & 0xff);
    }
    return p;
  }

  static TrainingSample.Builder sampleBuilder(int n) {
    return TrainingSample.newBuilder()
        .setSampleId("s-" + n)
        .setLabel(label(n))
        .setPixels(ByteBuffer.wrap(pixels(n)))
        .setSource("test")
        .setEventTime(Instant.EPOCH);
  }

  static byte[] validSample(int n) {
    return Codecs.TRAINING_SAMPLE.encode(sampleBuilder(n).build());
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static byte[] bytes(ByteBuffer buffer) {
    byte[] copy = new byte[buffer.remaining()];
    buffer.duplicate().get(copy);
    return copy;
  }

  static long[] versions(List<ModelSnapshot> snapshots) {
    return snapshots.stream().mapToLong(ModelSnapshot::getVersion).toArray();
  }

  static long[] samplesSeen(List<ModelSnapshot> snapshots) {
    return snapshots.stream().mapToLong(ModelSnapshot::getSamplesSeen).toArray();
  }

  static long[] batchesSeen(List<ModelSnapshot> snapshots) {
    return snapshots.stream().mapToLong(ModelSnapshot::getBatchesSeen).toArray();
  }

  // --- 1. batching
  // -----------------------------------------------------------------------------------------------

  @Test
  void threeOfFourSamplesTrainNothingUntilTheFourthArrives() {
    // Snapshot after every batch; a snapshot interval (1 s) shorter than flush-idle (5 s).
    try (Harness h =
        new Harness(
            config(
                s -> {
                  s.snapshotEvery = 1;
                  s.flushIdleMs = 5000;
                  s.snapshotIntervalMs = 1000;
                }))) {
      h.sendValid(3);
      h.advance(1000);
      h.advance(1000); // 2 s: two snapshot intervals, less than flush-idle
      assertEquals(List.of(), h.newSnapshots());
      assertEquals(0, h.counter("streamlearn.learner.batches"));
      assertEquals(0, h.counter("streamlearn.learner.samples"));

      h.sendValid(1);
      List<ModelSnapshot> first = h.newSnapshots();
      assertEquals(1, first.size());
      assertEquals(4, first.get(0).getSamplesSeen());
      assertEquals(1, first.get(0).getBatchesSeen());
      assertEquals(1, h.counter("streamlearn.learner.batches"));
      assertEquals(4, h.counter("streamlearn.learner.samples"));

      h.sendValid(4);
      List<ModelSnapshot> second = h.newSnapshots();
      assertArrayEquals(new long[] {8}, samplesSeen(second));
      assertArrayEquals(new long[] {2}, batchesSeen(second));
      assertEquals(2, h.counter("streamlearn.learner.batches"));
      assertEquals(8, h.counter("streamlearn.learner.samples"));
      assertEquals(0, h.counter("streamlearn.learner.batches.skipped"));
    }
  }

  @Test
  void fullBatchesAreTrainedAsTheyFillWithoutAnyWallClockTime() {
    try (Harness h = new Harness(config(s -> s.snapshotEvery = 1))) {
      h.sendValid(10); // two full batches, two samples waiting
      List<ModelSnapshot> snapshots = h.newSnapshots();
      assertArrayEquals(new long[] {4, 8}, samplesSeen(snapshots));
      assertArrayEquals(new long[] {1, 2}, batchesSeen(snapshots));
      assertEquals(8, h.counter("streamlearn.learner.samples"));
      assertEquals(8, h.gauge("streamlearn.learner.samples.seen"));
    }
  }

  /**
   * Batches train in the background, several queued; the stream thread takes their results when one
   * more is full than the queue holds (up to the newest batch that captured its result), or at a
   * tick, and until then the store holds the state from before them with their samples as waiting.
   */
  @Test
  void fullBatchesTrainInTheBackgroundAndCountOnceTakenWhenTheQueueIsFullOrATickPasses() {
    int queued = TrainingState.MAX_QUEUED_BATCHES;
    try (Harness h =
        new Harness(
            config(
                s -> {
                  s.snapshotEvery = 1000;
                  s.snapshotIntervalMs = HOUR;
                }))) {
      KeyValueStore<String, byte[]> store = h.driver.getKeyValueStore(LearnerTopology.STATE_STORE);
      h.sendValid(4 * queued);
      assertEquals(
          0, h.counter("streamlearn.learner.batches"), "the queue is full, nothing taken yet");
      TrainingState stored = TrainingState.load(store, h.config, 0);
      assertEquals(0, stored.batchesTrained(), "the store holds the state before them");
      assertEquals(4 * queued, stored.pendingCount(), "and their samples as waiting");
      h.sendValid(
          4); // one more full batch: the batches up to the newest captured result are taken first
      long taken = (long) h.counter("streamlearn.learner.batches");
      assertTrue(
          taken >= Trainer.CAPTURE_EVERY && taken <= queued && taken % Trainer.CAPTURE_EVERY == 0,
          "taken up to a batch that captured its result: " + taken);
      stored = TrainingState.load(store, h.config, 0);
      assertEquals(taken, stored.batchesTrained());
      assertEquals(4 * (queued + 1 - taken), stored.pendingCount());
      h.advance(TICK);
      assertEquals(queued + 1, h.counter("streamlearn.learner.batches"));
      assertEquals(4 * (queued + 1), h.gauge("streamlearn.learner.samples.seen"));
      stored = TrainingState.load(store, h.config, 0);
      assertEquals(queued + 1, stored.batchesTrained());
      assertEquals(0, stored.pendingCount());
      assertEquals(List.of(), h.newSnapshots());
    }
  }

  /** The same samples give the same weights whether batches train in the background or in line. */
  @Test
  void backgroundTrainingGivesTheWeightsOfTrainingInLine() {
    List<ModelSnapshot> inLine = train(42, 3);
    try (Harness h =
        new Harness(
            config(
                s -> {
                  s.snapshotEvery = 1000;
                  s.snapshotIntervalMs = 1000;
                  s.seed = 42;
                }))) {
      h.sendValid(4 * 3);
      h.advance(1000);
      List<ModelSnapshot> background = h.newSnapshots();
      assertArrayEquals(new long[] {3}, batchesSeen(background));
      assertSameWeights(inLine.get(2), background.get(0));
    }
  }

  // --- 2. idle flush
  // ---------------------------------------------------------------------------------------------

  @Test
  void halfFilledBatchIsTrainedOnceFlushIdlePassesWithoutNewSamples() {
    // flush-idle 500 ms, tick max(10, 500 / 5) = 100 ms; no interval snapshots within the test.
    try (Harness h =
        new Harness(
            config(
                s -> {
                  s.snapshotEvery = 1;
                  s.flushIdleMs = 500;
                  s.snapshotIntervalMs = HOUR;
                }))) {
      h.sendValid(3);
      h.advance(499);
      assertEquals(List.of(), h.newSnapshots());
      assertEquals(0, h.counter("streamlearn.learner.batches"));

      h.advance(1); // exactly flush-idle after the last sample
      List<ModelSnapshot> flushed = h.newSnapshots();
      assertArrayEquals(new long[] {3}, samplesSeen(flushed));
      assertArrayEquals(new long[] {1}, batchesSeen(flushed));
      assertEquals(T0.plusMillis(500), flushed.get(0).getCreatedAt());
      assertEquals(3, h.counter("streamlearn.learner.samples"));

      // The flush emptied the batch: four more samples make a full batch of their own.
      h.sendValid(3);
      assertEquals(List.of(), h.newSnapshots());
      h.sendValid(1);
      assertArrayEquals(new long[] {7}, samplesSeen(h.newSnapshots()));
      assertEquals(2, h.counter("streamlearn.learner.batches"));
    }
  }

  @Test
  void idleTimeCountsFromTheNewestSample() {
    try (Harness h =
        new Harness(
            config(
                s -> {
                  s.snapshotEvery = 1;
                  s.flushIdleMs = 500;
                  s.snapshotIntervalMs = HOUR;
                }))) {
      h.sendValid(2);
      h.advance(300);
      h.sendValid(1); // newest sample at T0 + 300
      h.advance(300); // 600 ms after the first sample, 300 after the newest
      h.advance(199);
      assertEquals(List.of(), h.newSnapshots());

      h.advance(1); // 500 ms after the newest sample
      List<ModelSnapshot> flushed = h.newSnapshots();
      assertArrayEquals(new long[] {3}, samplesSeen(flushed));
      assertEquals(T0.plusMillis(800), flushed.get(0).getCreatedAt());
    }
  }

  @Test
  void nothingIsFlushedWhenNoSampleWaits() {
    try (Harness h = new Harness(config(s -> s.snapshotEvery = 1))) {
      h.sendValid(4);
      assertEquals(1, h.newSnapshots().size());
      h.advance(500);
      h.advance(HOUR);
      assertEquals(List.of(), h.newSnapshots());
      assertEquals(1, h.counter("streamlearn.learner.batches"));
      assertEquals(0, h.counter("streamlearn.learner.batches.skipped"));
    }
  }

  // --- 3. snapshot cadence and versions
  // --------------------------------------------------------------------------

  @Test
  void snapshotEveryNBatchesPublishesAfterEachNthBatch() {
    try (Harness h =
        new Harness(
            config(
                s -> {
                  s.snapshotEvery = 2;
                  s.snapshotIntervalMs = HOUR;
                }))) {
      h.sendValid(4);
      assertEquals(List.of(), h.newSnapshots());
      h.sendValid(4 * 4); // batches 2 to 5
      List<ModelSnapshot> snapshots = h.newSnapshots();
      assertArrayEquals(new long[] {1, 2}, versions(snapshots));
      assertArrayEquals(new long[] {2, 4}, batchesSeen(snapshots));
      assertArrayEquals(new long[] {8, 16}, samplesSeen(snapshots));

      h.sendValid(4 * 3); // batches 6 to 8
      List<ModelSnapshot> more = h.newSnapshots();
      assertArrayEquals(new long[] {3, 4}, versions(more));
      assertArrayEquals(new long[] {6, 8}, batchesSeen(more));
      assertEquals(4, h.gauge("streamlearn.learner.snapshot.version"));
      assertEquals(4, h.counter("streamlearn.learner.snapshots"));
    }
  }

  @Test
  void snapshotIntervalPublishesOnlyWhenABatchWasTrainedSinceTheLastSnapshot() {
    // snapshot-interval 1000 ms, tick max(10, min(500, 1000) / 5) = 100 ms.
    try (Harness h =
        new Harness(
            config(
                s -> {
                  s.snapshotEvery = 1000;
                  s.snapshotIntervalMs = 1000;
                }))) {
      h.sendValid(4); // batch 1 at T0
      assertEquals(List.of(), h.newSnapshots());
      h.advance(999);
      assertEquals(List.of(), h.newSnapshots());
      h.advance(1);
      List<ModelSnapshot> first = h.newSnapshots();
      assertArrayEquals(new long[] {1}, versions(first));
      assertArrayEquals(new long[] {1}, batchesSeen(first));
      assertEquals(T0.plusMillis(1000), first.get(0).getCreatedAt());

      // Nothing trained since: no snapshot, however long.
      for (int i = 0; i < 10; i++) {
        h.advance(1000);
      }
      h.advance(HOUR);
      assertEquals(List.of(), h.newSnapshots());

      // A batch after a long pause: published at the next tick, since the interval has long passed.
      h.sendValid(4);
      assertEquals(List.of(), h.newSnapshots());
      h.advance(100);
      List<ModelSnapshot> second = h.newSnapshots();
      assertArrayEquals(new long[] {2}, versions(second));
      assertArrayEquals(new long[] {2}, batchesSeen(second));

      // The interval counts from that snapshot.
      h.sendValid(4);
      h.advance(999);
      assertEquals(List.of(), h.newSnapshots());
      h.advance(1);
      assertArrayEquals(new long[] {3}, versions(h.newSnapshots()));
      assertEquals(3, h.gauge("streamlearn.learner.snapshot.version"));
    }
  }

  @Test
  void learnerWithoutSamplesPublishesNothing() {
    try (Harness h = new Harness(config(s -> {}))) {
      for (int i = 0; i < 20; i++) {
        h.advance(1000);
      }
      h.advance(HOUR);
      assertTrue(h.snapshots.isEmpty());
      assertTrue(h.deadLetters.isEmpty());
      assertTrue(Double.isNaN(h.gauge("streamlearn.learner.snapshot.version")));
      assertEquals(0, h.counter("streamlearn.learner.snapshots"));
    }
  }

  @Test
  void versionsAreStrictlyIncreasingFromOne() {
    try (Harness h = new Harness(config(s -> s.snapshotEvery = 1))) {
      h.sendValid(4 * 3);
      h.advance(1000); // nothing new trained: no extra snapshot
      h.sendValid(4);
      assertArrayEquals(new long[] {1, 2, 3, 4}, versions(h.newSnapshots()));
    }
  }

  @Test
  void versionsContinueAfterTheNewestPublishedVersion() {
    try (Harness h = new Harness(config(s -> s.snapshotEvery = 1), 41)) {
      h.sendValid(4 * 3);
      assertArrayEquals(new long[] {42, 43, 44}, versions(h.newSnapshots()));
      assertEquals(44, h.gauge("streamlearn.learner.snapshot.version"));
    }
  }

  @Test
  void snapshotsCarryTheModelIdentityTheArchitectureAndAValidChecksum() {
    try (Harness h = new Harness(config(s -> s.snapshotEvery = 1))) {
      h.sendValid(4);
      h.advance(250);
      h.sendValid(4 * 2);
      List<ModelSnapshot> snapshots = h.newSnapshots();
      assertEquals(3, snapshots.size());
      String runId = snapshots.get(0).getRunId();
      assertEquals(runId, UUID.fromString(runId).toString());
      for (ModelSnapshot s : snapshots) {
        assertEquals(MODEL, s.getModelId());
        assertEquals(runId, s.getRunId());
        assertEquals(WeightsKind.RAW, s.getWeightsKind());
        assertEquals(1f / 255f, s.getInputScale());
        List<DenseLayer> layers = s.getLayers();
        assertEquals(2, layers.size());
        assertEquals(784, layers.get(0).getInputs());
        assertEquals(8, layers.get(0).getOutputs());
        assertEquals(Activation.RELU, layers.get(0).getActivation());
        assertEquals(784 * 8 * 4, layers.get(0).getWeights().remaining());
        assertEquals(8 * 4, layers.get(0).getBias().remaining());
        assertEquals(8, layers.get(1).getInputs());
        assertEquals(10, layers.get(1).getOutputs());
        assertEquals(Activation.SOFTMAX, layers.get(1).getActivation());
        assertEquals(8 * 10 * 4, layers.get(1).getWeights().remaining());
        assertEquals(10 * 4, layers.get(1).getBias().remaining());
        assertArrayEquals(Snapshots.checksum(layers), bytes(s.getChecksum()));
        DenseNetwork loaded = Snapshots.toNetwork(s, null);
        assertArrayEquals(SIZES, loaded.sizes());
        assertNotNull(s.getPrequentialAccuracy());
        assertNotNull(s.getPrequentialLoss());
      }
      assertEquals(T0, snapshots.get(0).getCreatedAt());
      assertEquals(T0.plusMillis(250), snapshots.get(1).getCreatedAt());
      // Each snapshot holds the weights after its batches: consecutive ones differ.
      assertFalse(
          Arrays.equals(
              bytes(snapshots.get(0).getChecksum()), bytes(snapshots.get(1).getChecksum())));
      assertFalse(
          Arrays.equals(
              bytes(snapshots.get(1).getChecksum()), bytes(snapshots.get(2).getChecksum())));
    }
  }

  /**
   * An independent replay of what the learner should do with samples 0, 1, 2, ... in full batches,
   * built from the model's public API: seeded network, test-then-train, one Adam step per batch,
   * the weight average when on.
   */
  private static final class Replay {
    final Config config;
    final DenseNetwork network;
    final Adam adam;
    final WeightAverage average;
    int nextSample;

    Replay(Config config) {
      this.config = config;
      network = DenseNetwork.initialized(config.sizes(), DataType.FLOAT, config.seed());
      adam = new Adam(config.adam(), network.parameters());
      average =
          config.emaDecay() > 0 ? new WeightAverage(config.emaDecay(), network.parameters()) : null;
    }

    /** Scores then trains on the next full batch; returns the score. */
    BatchStats trainBatch() {
      int b = config.batchSize();
      INDArray x = network.newInput(b);
      int[] y = new int[b];
      for (int r = 0; r < b; r++) {
        int n = nextSample++;
        DenseNetwork.setInputRow(x, r, pixels(n), 0, Snapshots.INPUT_SCALE);
        y[r] = label(n);
      }
      BatchStats stats = network.computeGradients(x, y);
      adam.apply(network.parameters(), network.gradients(), config.learningRate(adam.step() + 1));
      if (average != null) {
        average.update(network.parameters());
      }
      return stats;
    }

    ModelSnapshot raw() {
      return snapshotOf(network.parameters());
    }

    ModelSnapshot published() {
      return snapshotOf(average != null ? average.parameters() : network.parameters());
    }

    private ModelSnapshot snapshotOf(INDArray[] weights) {
      return Snapshots.build(
          new Snapshots.Header(MODEL, 1, T0, "replay", WeightsKind.RAW, 0, 0, null, null),
          config.sizes(),
          weights);
    }
  }

  private static void assertSameWeights(ModelSnapshot expected, ModelSnapshot actual) {
    for (int l = 0; l < expected.getLayers().size(); l++) {
      assertArrayEquals(
          bytes(expected.getLayers().get(l).getWeights()),
          bytes(actual.getLayers().get(l).getWeights()),
          "weights of layer " + l);
      assertArrayEquals(
          bytes(expected.getLayers().get(l).getBias()),
          bytes(actual.getLayers().get(l).getBias()),
          "bias of layer " + l);
    }
    assertArrayEquals(bytes(expected.getChecksum()), bytes(actual.getChecksum()));
  }

  @Test
  void rawSnapshotsHoldOneAdamStepPerBatchFromTheSeededWeightsAndThePreUpdateScores() {
    Config config = config(s -> s.snapshotEvery = 1);
    Replay replay = new Replay(config);
    ModelSnapshot initial = replay.raw();
    try (Harness h = new Harness(config)) {
      h.sendValid(4 * 3);
      List<ModelSnapshot> snapshots = h.newSnapshots();
      assertEquals(3, snapshots.size());
      int samples = 0;
      int correct = 0;
      double loss = 0;
      for (int b = 0; b < 3; b++) {
        BatchStats scored = replay.trainBatch();
        samples += scored.samples();
        correct += scored.correct();
        loss += scored.lossSum();
        ModelSnapshot s = snapshots.get(b);
        assertSameWeights(replay.raw(), s);
        // Prequential: each batch scored by the forward pass before its update (window of 100 holds
        // them all).
        assertEquals(
            correct / (double) samples,
            s.getPrequentialAccuracy(),
            1e-12,
            "accuracy after batch " + b);
        assertEquals(loss / samples, s.getPrequentialLoss(), 1e-12, "loss after batch " + b);
      }
      assertFalse(
          Arrays.equals(bytes(initial.getChecksum()), bytes(snapshots.get(0).getChecksum())));
      assertEquals(loss / samples, h.gauge("streamlearn.learner.prequential.loss"), 1e-12);
    }
  }

  @Test
  void emaDecayPublishesTheWeightAverageAsEma() {
    Config config =
        config(
            s -> {
              s.snapshotEvery = 1;
              s.emaDecay = 0.9;
            });
    Replay replay = new Replay(config);
    try (Harness h = new Harness(config)) {
      h.sendValid(4 * 3);
      List<ModelSnapshot> snapshots = h.newSnapshots();
      assertEquals(3, snapshots.size());
      for (int b = 0; b < 3; b++) {
        replay.trainBatch();
        ModelSnapshot s = snapshots.get(b);
        assertEquals(WeightsKind.EMA, s.getWeightsKind());
        assertArrayEquals(Snapshots.checksum(s.getLayers()), bytes(s.getChecksum()));
        Snapshots.toNetwork(s, SIZES);
        assertSameWeights(replay.published(), s);
      }
      // By the third batch the average is not the raw weights.
      assertFalse(
          Arrays.equals(bytes(replay.raw().getChecksum()), bytes(snapshots.get(2).getChecksum())));
    }
  }

  // --- 4. dead letters
  // -------------------------------------------------------------------------------------------

  /** A record the learner must dead-letter, and why. */
  record BadInput(String name, byte[] key, byte[] value, PayloadError reason) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<BadInput> badInputs() {
    byte[] random = new byte[300];
    new Random(7).nextBytes(random);
    random[0] = 0x00; // not the C3 01 marker

    byte[] unknownFingerprint = validSample(100);
    Arrays.fill(unknownFingerprint, 2, 10, (byte) 0x5A);

    byte[] valid = validSample(101);
    byte[] truncated = Arrays.copyOf(valid, valid.length - 10);
    byte[] shortHeader = {(byte) 0xC3, 0x01, 0x12, 0x34, 0x56};
    byte[] trailing = Arrays.copyOf(valid, valid.length + 1);

    byte[] pixels783 =
        Codecs.TRAINING_SAMPLE.encode(
            sampleBuilder(102).setPixels(ByteBuffer.wrap(new byte[783])).build());
    byte[] label10 = Codecs.TRAINING_SAMPLE.encode(sampleBuilder(103).setLabel(10).build());
    byte[] labelMinus1 = Codecs.TRAINING_SAMPLE.encode(sampleBuilder(104).setLabel(-1).build());

    return Stream.of(
        new BadInput(
            "random bytes", new byte[] {(byte) 0xFF, 0x00, 0x7F}, random, PayloadError.BAD_MARKER),
        new BadInput(
            "unknown schema fingerprint",
            utf8("bad-fp"),
            unknownFingerprint,
            PayloadError.UNKNOWN_SCHEMA),
        new BadInput("cut inside the record", utf8("bad-cut"), truncated, PayloadError.TRUNCATED),
        new BadInput("shorter than the header", null, shortHeader, PayloadError.TRUNCATED),
        new BadInput("bytes after the record", utf8("bad-tail"), trailing, PayloadError.MALFORMED),
        new BadInput("783 pixels", utf8("bad-783"), pixels783, PayloadError.BAD_PIXEL_COUNT),
        new BadInput("label 10", utf8("bad-10"), label10, PayloadError.BAD_LABEL),
        new BadInput("label -1", utf8("bad-minus-1"), labelMinus1, PayloadError.BAD_LABEL),
        new BadInput("null value", utf8("bad-null"), null, PayloadError.TRUNCATED));
  }

  private static String expectedDetail(BadInput bad) {
    InvalidPayloadException e =
        assertThrows(
            InvalidPayloadException.class,
            () -> InputShape.MNIST.check(Codecs.TRAINING_SAMPLE.decode(bad.value())));
    assertEquals(bad.reason(), e.reason(), "the test input is not the intended kind of bad");
    return e.detail();
  }

  private static void assertDeadLetter(
      BadInput bad, long offset, Config config, TestRecord<byte[], byte[]> out) {
    assertArrayEquals(bad.key(), out.key(), "original key");
    assertArrayEquals(bad.value(), out.value(), "original value");
    Headers headers = out.headers();
    assertEquals(6, headers.toArray().length, "the dead-letter headers, no others");
    assertEquals(bad.reason().name(), DeadLetter.header(headers, DeadLetter.REASON));
    assertEquals(expectedDetail(bad), DeadLetter.header(headers, DeadLetter.DETAIL));
    assertEquals("learner", DeadLetter.header(headers, DeadLetter.SERVICE));
    assertEquals(config.trainingTopic(), DeadLetter.header(headers, DeadLetter.SOURCE_TOPIC));
    assertEquals("0", DeadLetter.header(headers, DeadLetter.SOURCE_PARTITION));
    assertEquals(Long.toString(offset), DeadLetter.header(headers, DeadLetter.SOURCE_OFFSET));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badInputs")
  void badInputIsDeadLetteredWithItsOriginalBytesAndTheStreamGoesOn(BadInput bad) {
    try (Harness h = new Harness(config(s -> s.snapshotEvery = 1))) {
      h.sendValid(2); // offsets 0, 1
      h.send(bad.key(), bad.value()); // offset 2
      h.sendValid(2); // offsets 3, 4: the batch of four valid samples fills

      List<TestRecord<byte[], byte[]>> dead = h.deadLetters.readRecordsToList();
      assertEquals(1, dead.size());
      assertDeadLetter(bad, 2, h.config, dead.get(0));
      for (PayloadError reason : PayloadError.values()) {
        assertEquals(reason == bad.reason() ? 1 : 0, h.deadLetterCount(reason), reason.name());
      }

      List<ModelSnapshot> snapshots = h.newSnapshots();
      assertArrayEquals(new long[] {4}, samplesSeen(snapshots));
      assertEquals(4, h.counter("streamlearn.learner.samples"));
      assertEquals(1, h.counter("streamlearn.learner.batches"));
    }
  }

  @ParameterizedTest(name = "repartition {0}")
  @ValueSource(booleans = {true, false})
  void everyKindOfBadInputInOneStreamIsDeadLetteredInOrderAndCounted(boolean repartition) {
    List<BadInput> bad = badInputs().toList();
    try (Harness h = new Harness(config(s -> s.snapshotEvery = 1), 0, repartition)) {
      long offset = 0;
      List<Long> badOffsets = new ArrayList<>();
      for (BadInput b : bad) {
        h.sendValid(1);
        offset++;
        h.send(b.key(), b.value());
        badOffsets.add(offset++);
      }
      h.sendValid(4 * 3 - bad.size()); // complete three batches of valid samples

      List<TestRecord<byte[], byte[]>> dead = h.deadLetters.readRecordsToList();
      assertEquals(bad.size(), dead.size());
      for (int i = 0; i < bad.size(); i++) {
        assertDeadLetter(bad.get(i), badOffsets.get(i), h.config, dead.get(i));
      }
      for (PayloadError reason : PayloadError.values()) {
        long expected = bad.stream().filter(b -> b.reason() == reason).count();
        assertEquals(expected, h.deadLetterCount(reason), reason.name());
      }
      assertArrayEquals(new long[] {4, 8, 12}, samplesSeen(h.newSnapshots()));
      assertEquals(12, h.counter("streamlearn.learner.samples"));
    }
  }

  @ParameterizedTest(name = "repartition {0}")
  @ValueSource(booleans = {true, false})
  void headersTheRecordAlreadyCarriedAreKeptBesideTheDeadLetterHeaders(boolean repartition) {
    BadInput bad =
        badInputs().filter(b -> b.reason() == PayloadError.BAD_LABEL).findFirst().orElseThrow();
    try (Harness h = new Harness(config(s -> {}), 0, repartition)) {
      Headers original =
          new org.apache.kafka.common.header.internals.RecordHeaders()
              .add("trace-id", utf8("abc-123"));
      h.training.pipeInput(new TestRecord<>(bad.key(), bad.value(), original));
      TestRecord<byte[], byte[]> out = h.deadLetters.readRecord();
      assertEquals("abc-123", DeadLetter.header(out.headers(), "trace-id"));
      assertEquals(7, out.headers().toArray().length);
      assertEquals("BAD_LABEL", DeadLetter.header(out.headers(), DeadLetter.REASON));
      assertEquals("0", DeadLetter.header(out.headers(), DeadLetter.SOURCE_OFFSET));
    }
  }

  @Test
  void validSamplesProduceNoDeadLetters() {
    try (Harness h = new Harness(config(s -> s.snapshotEvery = 1))) {
      h.sendValid(8);
      assertTrue(h.deadLetters.isEmpty());
      for (PayloadError reason : PayloadError.values()) {
        assertEquals(0, h.deadLetterCount(reason), reason.name());
      }
    }
  }

  // --- 5. skipped non-finite batches
  // -----------------------------------------------------------------------------

  @Test
  void batchesWithNonFiniteLossAreSkippedCountedAndNeverSnapshotted() {
    // A learning rate of 1e38 makes the first step's weights non-finite in float32 (1e38 / (1 -
    // 0.9) overflows),
    // so every later forward pass has a non-finite loss.
    try (Harness h =
        new Harness(
            config(
                s -> {
                  s.adam = new Adam.Settings(1e38, 0.9, 0.999, 1e-8);
                  s.snapshotEvery = 1000;
                  s.snapshotIntervalMs = 1000;
                }))) {
      h.sendValid(4 * 3); // batch 1 applied, batches 2 and 3 skipped
      h.advance(
          TICK); // batch 3 trained in the background: its result is taken at the next punctuation
      assertEquals(1, h.counter("streamlearn.learner.batches"));
      assertEquals(2, h.counter("streamlearn.learner.batches.skipped"));
      assertEquals(4, h.counter("streamlearn.learner.samples"));

      // The applied batch left non-finite weights: the snapshot is refused, never published.
      h.advance(1000);
      assertEquals(List.of(), h.newSnapshots());
      assertEquals(1, h.counter("streamlearn.learner.snapshots.refused"));

      // Only skipped batches from here on (two full ones and one flushed when idle).
      h.sendValid(4 * 2 + 2);
      h.advance(500);
      assertEquals(5, h.counter("streamlearn.learner.batches.skipped"));
      h.advance(1000);
      h.advance(HOUR);
      assertEquals(List.of(), h.newSnapshots());
      assertEquals(1, h.counter("streamlearn.learner.batches"));
      assertEquals(4, h.counter("streamlearn.learner.samples"));
      assertEquals(4, h.gauge("streamlearn.learner.samples.seen"));
      assertTrue(
          Double.isNaN(h.gauge("streamlearn.learner.snapshot.version")),
          "no snapshot was published");
    }
  }

  @Test
  void skippedBatchesNeitherCountTowardsSnapshotEveryNorTriggerIt() {
    try (Harness h =
        new Harness(
            config(
                s -> {
                  s.adam = new Adam.Settings(1e38, 0.9, 0.999, 1e-8);
                  s.snapshotEvery = 1;
                  s.snapshotIntervalMs = HOUR;
                }))) {
      h.sendValid(4);
      assertEquals(List.of(), h.newSnapshots(), "non-finite weights are not published");
      assertEquals(1, h.counter("streamlearn.learner.snapshots.refused"));
      h.sendValid(4 * 5);
      assertEquals(List.of(), h.newSnapshots());
      assertEquals(
          1, h.counter("streamlearn.learner.snapshots.refused"), "skipped batches trigger nothing");
      assertEquals(5, h.counter("streamlearn.learner.batches.skipped"));
      assertEquals(1, h.counter("streamlearn.learner.batches"));
    }
  }

  // --- producer settings
  // ----------------------------------------------------------------------------------------

  @Test
  void samplesCrossingTheRepartitionTopicAreCompressedFloatVectorsAloneAreNot() {
    Config config = config(s -> {});
    String compression = StreamsConfig.producerPrefix(ProducerConfig.COMPRESSION_TYPE_CONFIG);
    assertEquals(
        "none",
        LearnerTopology.streamsProperties(config, 1).get(compression),
        "one partition: the producer writes only state and snapshot floats");
    assertEquals(
        "lz4",
        LearnerTopology.streamsProperties(config, 3).get(compression),
        "three partitions: MNIST samples cross the repartition topic");
    Config userChoice = config(s -> s.kafka = Map.of(compression, "zstd"));
    assertEquals(
        "zstd",
        LearnerTopology.streamsProperties(userChoice, 1).get(compression),
        "a --kafka property wins");
  }

  // --- 6. repeatability
  // ------------------------------------------------------------------------------------------

  private List<ModelSnapshot> train(long seed, int batches) {
    try (Harness h =
        new Harness(
            config(
                s -> {
                  s.snapshotEvery = 1;
                  s.seed = seed;
                }))) {
      h.sendValid(4 * batches);
      List<ModelSnapshot> snapshots = h.newSnapshots();
      assertEquals(batches, snapshots.size());
      return snapshots;
    }
  }

  @Test
  void sameSamplesInTheSameOrderWithTheSameSeedGiveByteIdenticalWeights() {
    List<ModelSnapshot> a = train(42, 3);
    List<ModelSnapshot> b = train(42, 3);
    for (int i = 0; i < 3; i++) {
      assertSameWeights(a.get(i), b.get(i));
      assertEquals(a.get(i).getVersion(), b.get(i).getVersion());
      assertEquals(a.get(i).getPrequentialLoss(), b.get(i).getPrequentialLoss());
      assertEquals(a.get(i).getPrequentialAccuracy(), b.get(i).getPrequentialAccuracy());
    }
    // Each fresh state is its own lineage.
    assertNotEquals(a.get(0).getRunId(), b.get(0).getRunId());
  }

  @Test
  void anotherSeedGivesOtherWeights() {
    ModelSnapshot a = train(42, 1).get(0);
    ModelSnapshot b = train(43, 1).get(0);
    assertFalse(
        Arrays.equals(
            bytes(a.getLayers().get(0).getWeights()), bytes(b.getLayers().get(0).getWeights())));
  }

  // --- task revival: Kafka Streams may call init() again on the same processor after close()
  // ---------------------

  /**
   * The trainer over an in-memory store, driven directly through a MockProcessorContext (no
   * driver).
   */
  private static final class DirectTrainer {
    final MockProcessorContext<byte[], byte[]> context = new MockProcessorContext<>();
    final KeyValueStore<String, byte[]> store = TrainingStateTest.store(context);
    final Trainer trainer;

    /** What the output's {@code open()} says is already published; the next init() sees it. */
    SnapshotVersions.Newest published = SnapshotVersions.Newest.NONE;

    DirectTrainer(Config config) {
      context.addStateStore(store);
      context.setCurrentSystemTimeMs(T0.toEpochMilli());
      trainer =
          new Trainer(
              config,
              new LearnerMetrics(new SimpleMeterRegistry()),
              false,
              T0::toEpochMilli,
              c ->
                  new Trainer.SnapshotOutput() {
                    final Trainer.SnapshotOutput forwarding = Trainer.forwarding(c, 0);

                    @Override
                    public SnapshotVersions.Newest open() {
                      return published;
                    }

                    @Override
                    public void publish(byte[] key, byte[] value, long timestamp) {
                      forwarding.publish(key, value, timestamp);
                    }

                    @Override
                    public void close() {}
                  });
      trainer.init(context);
    }

    void send(int from, int to) {
      for (int n = from; n < to; n++) {
        byte[] compact = new byte[SampleLayout.MNIST.bytes()];
        compact[0] = (byte) label(n);
        System.arraycopy(pixels(n), 0, compact, 1, Codecs.PIXELS);
        trainer.process(new Record<>(utf8(MODEL), compact, T0.toEpochMilli()));
      }
    }

    private long tickAt = T0.toEpochMilli();

    /**
     * Runs the newest punctuation an hour after the last: everything waiting trains, a snapshot is
     * due.
     */
    void tick() {
      tickAt += HOUR;
      List<MockProcessorContext.CapturedPunctuator> ticks = context.scheduledPunctuators();
      ticks.get(ticks.size() - 1).getPunctuator().punctuate(tickAt);
    }

    /** {@link #tick()}, then the snapshot it published. */
    ModelSnapshot flushAndSnapshot() {
      tick();
      List<MockProcessorContext.CapturedForward<? extends byte[], ? extends byte[]>> out =
          context.forwarded();
      assertFalse(out.isEmpty(), "no snapshot after the flush");
      return Codecs.MODEL_SNAPSHOT.decode(out.get(out.size() - 1).record().value());
    }
  }

  @Test
  void aTrainerClosedAndInitialisedAgainMidQueueTrainsWhatAFreshOneTrains() {
    Config config = config(s -> {});
    assertTrue(
        TrainingState.queuedBatches(config) >= 2,
        "the test needs batches queued in the background");

    DirectTrainer revived = new DirectTrainer(config);
    revived.send(0, 10); // two full batches queued (not taken), two samples waiting
    revived.trainer.close();
    revived.trainer.init(revived.context); // the revival: same instance, same store
    revived.send(10, 16);
    ModelSnapshot afterRevival = revived.flushAndSnapshot();
    revived.trainer.close();

    DirectTrainer fresh = new DirectTrainer(config);
    fresh.send(0, 16);
    ModelSnapshot expected = fresh.flushAndSnapshot();
    fresh.trainer.close();

    assertEquals(16, expected.getSamplesSeen());
    assertEquals(expected.getSamplesSeen(), afterRevival.getSamplesSeen(), "samples trained");
    assertEquals(expected.getBatchesSeen(), afterRevival.getBatchesSeen(), "batches trained");
    assertSameWeights(expected, afterRevival);
  }

  @Test
  void aRestartedLearnerPublishesNothingUntilItHasPassedTheSnapshotAlreadyOutOfItsLineage() {
    Config config = config(s -> {});
    DirectTrainer learner = new DirectTrainer(config);
    learner.trainer.close();
    String runId = TrainingState.load(learner.store, config, 0).runId();
    // v5 of this lineage went out from a state that was never committed: it had seen 12 samples
    learner.published = new SnapshotVersions.Newest(5, runId, 12);
    learner.trainer.init(learner.context);

    learner.send(0, 12);
    learner.tick();
    assertTrue(
        learner.context.forwarded().isEmpty(),
        "a snapshot of 12 samples would not be newer than v5's 12");

    learner.send(12, 16);
    ModelSnapshot next = learner.flushAndSnapshot();
    learner.trainer.close();
    assertEquals(6, next.getVersion(), "versions continue after the one out");
    assertEquals(16, next.getSamplesSeen());
    assertEquals(runId, next.getRunId());
  }

  @Test
  void aLearnerOfAnotherLineageIsNotHeldBackBySamplesOfTheSnapshotOut() {
    Config config = config(s -> {});
    DirectTrainer learner = new DirectTrainer(config);
    learner.trainer.close();
    learner.published = new SnapshotVersions.Newest(5, "another-run", 1_000_000);
    learner.trainer.init(learner.context);

    learner.send(0, 8);
    ModelSnapshot next = learner.flushAndSnapshot();
    learner.trainer.close();
    assertEquals(6, next.getVersion());
    assertEquals(8, next.getSamplesSeen());
  }

  // --- feature models
  // ---------------------------------------------------------------------------------------------

  private static final ModelSpec TABULAR =
      new ModelSpec(
          3, 3, List.of("age", "income", "score"), List.of("low", "mid", "high"), null, true);

  private Config tabular(Consumer<Settings> more) {
    return config(
        s -> {
          s.spec = TABULAR;
          s.sizes = new int[] {3, 8, 3};
          more.accept(s);
        });
  }

  static List<Float> tabularFeatures(int n) {
    return List.of((float) (20 + n % 50), 3e4f + 1e3f * (n % 11), (n % 7) * 0.01f);
  }

  static byte[] featureSample(int label, List<Float> features, ByteBuffer pixels) {
    return Codecs.TRAINING_SAMPLE.encode(
        TrainingSample.newBuilder()
            .setSampleId("f")
            .setLabel(label)
            .setPixels(pixels)
            .setFeatures(features)
            .setSource("test")
            .setEventTime(T0)
            .build());
  }

  @ParameterizedTest(name = "repartition {0}")
  @ValueSource(booleans = {true, false})
  void aFeatureModelTrainsAndItsSnapshotsCarryTheSpecAndTheRunningStatistics(boolean repartition) {
    try (Harness h = new Harness(tabular(s -> s.snapshotEvery = 3), 0, repartition)) {
      for (int n = 0; n < 12; n++) {
        h.send(utf8("f-" + n), featureSample(n % 3, tabularFeatures(n), ByteBuffer.allocate(0)));
      }
      List<ModelSnapshot> snapshots = h.newSnapshots();
      assertEquals(1, snapshots.size(), "three batches of four: one snapshot");
      ModelSnapshot snapshot = snapshots.get(0);
      assertEquals(12, snapshot.getSamplesSeen());
      Snapshots.Input input = Snapshots.input(snapshot);
      assertEquals(TABULAR, input.spec());
      InputTransform.Standardize t = (InputTransform.Standardize) input.transform();
      assertEquals(12, t.count());
      for (int i = 0; i < 3; i++) {
        double sum = 0;
        for (int n = 0; n < 12; n++) {
          sum += tabularFeatures(n).get(i);
        }
        double mean = sum / 12;
        double squares = 0;
        for (int n = 0; n < 12; n++) {
          double d = tabularFeatures(n).get(i) - mean;
          squares += d * d;
        }
        float variance = (float) (squares / 12);
        assertEquals((float) mean, t.mean()[i], Math.ulp((float) mean) * 2, "mean " + i);
        assertEquals(variance, t.variance()[i], Math.ulp(variance) * 2, "variance " + i);
      }
      assertArrayEquals(Snapshots.checksum(snapshot), bytes(snapshot.getChecksum()));
      assertEquals(0, h.deadLetters.readRecordsToList().size());
    }
  }

  /** Every way a record can fail a feature model, each with its own reason, in one stream. */
  @Test
  void aFeatureModelDeadLettersEachBadCombinationWithItsOwnReason() {
    ByteBuffer none = ByteBuffer.allocate(0);
    List<Float> nan = new ArrayList<>(tabularFeatures(1));
    nan.set(1, Float.NaN);
    List<byte[]> bad =
        List.of(
            featureSample(0, null, ByteBuffer.wrap(pixels(3))),
            featureSample(0, tabularFeatures(0), ByteBuffer.wrap(new byte[3])),
            featureSample(0, null, none),
            featureSample(0, List.of(1f, 2f), none),
            featureSample(3, tabularFeatures(0), none),
            featureSample(-1, tabularFeatures(0), none),
            featureSample(0, nan, none));
    List<PayloadError> reasons =
        List.of(
            PayloadError.WRONG_INPUT_KIND,
            PayloadError.PIXELS_AND_FEATURES,
            PayloadError.NO_INPUT,
            PayloadError.BAD_FEATURE_COUNT,
            PayloadError.BAD_LABEL,
            PayloadError.BAD_LABEL,
            PayloadError.NOT_FINITE);
    try (Harness h = new Harness(tabular(s -> {}))) {
      for (int i = 0; i < bad.size(); i++) {
        h.send(utf8("bad-" + i), bad.get(i));
        h.send(utf8("good-" + i), featureSample(i % 3, tabularFeatures(i), none));
      }
      List<TestRecord<byte[], byte[]>> letters = h.deadLetters.readRecordsToList();
      assertEquals(bad.size(), letters.size());
      for (int i = 0; i < bad.size(); i++) {
        assertArrayEquals(bad.get(i), letters.get(i).value(), "original bytes " + i);
        assertEquals(
            reasons.get(i).name(),
            DeadLetter.header(letters.get(i).headers(), DeadLetter.REASON),
            "reason of " + i);
      }
      assertEquals(2, h.deadLetterCount(PayloadError.BAD_LABEL));
      h.advance(HOUR);
      assertEquals(bad.size(), h.counter("streamlearn.learner.samples"), "the good ones trained");
    }
  }

  @Test
  void anImageModelDeadLettersFeatures() {
    try (Harness h = new Harness(config(s -> {}))) {
      h.send(utf8("f"), featureSample(1, tabularFeatures(0), ByteBuffer.allocate(0)));

      TestRecord<byte[], byte[]> letter = h.deadLetters.readRecord();
      assertEquals(
          PayloadError.WRONG_INPUT_KIND.name(),
          DeadLetter.header(letter.headers(), DeadLetter.REASON));
    }
  }
}
