package io.streamlearn.learner;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamlearn.learner.LearnerSettings.Config;
import io.streamlearn.model.Adam;
import io.streamlearn.model.BatchStats;
import io.streamlearn.model.DenseNetwork;
import io.streamlearn.model.InputTransform;
import io.streamlearn.model.ModelSpec;
import io.streamlearn.model.TrainingLoop;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What a restarted learner finds in its store (the Kafka Streams restore itself is the integration
 * tests' part; the TopologyTestDriver wipes its state directory on close).
 */
class TrainingStateTest {
  private static final int BATCH = 4;

  static Config config(int[] sizes, int batchSize, double emaDecay) {
    return config(ModelSpec.MNIST, sizes, batchSize, emaDecay);
  }

  static Config config(ModelSpec spec, int[] sizes, int batchSize, double emaDecay) {
    return new Config(
        "unused:9092",
        "learner-state-test",
        "m",
        "in",
        "out",
        "dlq",
        spec,
        spec.standardize() ? null : InputTransform.Scale.MNIST,
        sizes,
        batchSize,
        Adam.Settings.defaults(),
        1.0,
        1000L,
        emaDecay,
        42L,
        DenseNetwork.Init.HE,
        Duration.ofMillis(500),
        1000,
        Duration.ofMillis(1000),
        100,
        "at_least_once",
        0,
        1,
        100L,
        1,
        (short) 1,
        Path.of("unused"),
        io.streamlearn.core.http.HttpService.Limits.anyPort("metrics-port"),
        Map.of());
  }

  private static Config config(double emaDecay) {
    return config(new int[] {784, 8, 10}, BATCH, emaDecay);
  }

  static KeyValueStore<String, byte[]> store() {
    return store(new MockProcessorContext<String, byte[]>());
  }

  /** An in-memory learner store, without logging or caching, initialised in {@code context}. */
  static KeyValueStore<String, byte[]> store(MockProcessorContext<?, ?> context) {
    KeyValueStore<String, byte[]> store =
        Stores.keyValueStoreBuilder(
                Stores.inMemoryKeyValueStore(LearnerTopology.STATE_STORE),
                Serdes.String(),
                Serdes.ByteArray())
            .withLoggingDisabled()
            .withCachingDisabled()
            .build();
    store.init(context.getStateStoreContext(), store);
    return store;
  }

  /** Sample {@code n} in the learner's compact form: label, then 784 pixels. */
  static byte[] compact(int n) {
    byte[] sample = new byte[SampleLayout.MNIST.bytes()];
    sample[0] = (byte) LearnerTopologyTest.label(n);
    System.arraycopy(LearnerTopologyTest.pixels(n), 0, sample, 1, 784);
    return sample;
  }

  private static void add(
      TrainingState state, KeyValueStore<String, byte[]> store, int from, int count) {
    for (int n = from; n < from + count; n++) {
      state.addPending(compact(n), store);
    }
  }

  private static long steps;

  /**
   * Trains the oldest waiting samples (at most a batch) at once, as the trainer does in line;
   * stores nothing.
   */
  private static TrainingState.BatchOutcome trainPending(TrainingState state) {
    int count = Math.min(state.pendingCount(), BATCH);
    return state.finish(count, state.train(state.ringIndex(0), count, ++steps, true).step());
  }

  /** The same raw weights and the same published (averaged) weights. */
  private static void assertSameWeights(TrainingState expected, TrainingState actual) {
    assertArrayEquals(
        flat(expected.network.parameters()), flat(actual.network.parameters()), "raw weights");
    assertArrayEquals(
        flat(expected.publishedWeights()), flat(actual.publishedWeights()), "averaged weights");
  }

  static float[] flat(INDArray[] tensors) {
    int length = 0;
    for (INDArray t : tensors) {
      length += (int) t.length();
    }
    float[] out = new float[length];
    int at = 0;
    for (INDArray t : tensors) {
      int n = (int) t.length();
      t.data().asNioFloat().duplicate().get(out, at, n);
      at += n;
    }
    return out;
  }

  @Test
  void emptyStoreHoldsNoState() {
    assertNull(TrainingState.load(store(), config(0), 0));
  }

  @Test
  void savedStateLoadsWithItsLineageCountersVersionAndWaitingSamples() {
    Config config = config(0.9);
    KeyValueStore<String, byte[]> store = store();
    TrainingState original = TrainingState.fresh(config, 7);
    add(original, store, 0, BATCH);
    assertTrue(trainPending(original).applied());
    original.snapshotHeld();
    add(original, store, BATCH, BATCH); // a batch whose loss was not finite: skipped
    original.finish(BATCH, new TrainingLoop.Step(new BatchStats(BATCH, Double.NaN, 0), false));
    original.save(store);
    add(original, store, 2 * BATCH, 2);

    TrainingState loaded = TrainingState.load(store, config, 0);
    assertNotNull(loaded);
    assertEquals(original.runId(), loaded.runId());
    assertEquals(4, loaded.samplesTrained());
    assertEquals(1, loaded.batchesTrained());
    assertEquals(1, loaded.batchesSkipped());
    assertEquals(BATCH, loaded.samplesSkipped());
    assertEquals(7, loaded.lastVersion());
    assertEquals(0, loaded.batchesSinceSnapshot());
    assertEquals(2, loaded.pendingCount());
    assertEquals(1, loaded.adam.step());
    assertEquals(original.prequential.accuracy(), loaded.prequential.accuracy());
    assertEquals(original.prequential.loss(), loaded.prequential.loss());
    assertSameWeights(original, loaded);
  }

  /**
   * The trainer trains full batches on another thread while the next fills; a commit in between
   * stores the state from before them and their samples as still waiting. Restored from there, the
   * learner trains those batches again and reaches the very weights the original reached. Two
   * batches train before either is taken, so the second must not write into the copy of the state
   * the store holds; the first makes no copy, and the second's covers both.
   */
  @Test
  void stateStoredWhileBatchesTrainRestoresToTheSameWeights() {
    Config config = config(0.9);
    KeyValueStore<String, byte[]> store = store();
    TrainingState original = TrainingState.fresh(config, 0);
    original.save(store);
    add(original, store, 0, BATCH);
    TrainingState.Trained first =
        original.train(original.ringIndex(0), BATCH, 1, false); // nothing of it stored
    add(original, store, BATCH, BATCH);
    TrainingState.Trained second = original.train(original.ringIndex(BATCH), BATCH, 2, true);
    add(original, store, 2 * BATCH, BATCH); // the next batch fills behind them
    assertEquals(3 * BATCH, original.pendingCount());

    TrainingState restored = TrainingState.load(store, config, 0); // a crash here, then a restore
    assertEquals(
        3 * BATCH, restored.pendingCount(), "all three batches wait in the restored state");
    assertEquals(0, restored.batchesTrained());

    StateImages.Claim claim = original.claimLatest();
    assertEquals(2, claim.seq());
    original.finish(BATCH, first.step());
    original.finish(BATCH, second.step());
    original.putTrained(store, claim.image());
    assertEquals(BATCH, original.pendingCount(), "taking both leaves the third waiting");
    TrainingState afterTake = TrainingState.load(store, config, 0);
    assertEquals(2, afterTake.batchesTrained(), "and the store holds both trained");
    assertArrayEquals(flat(original.network.parameters()), flat(afterTake.network.parameters()));

    assertTrue(trainPending(original).applied());
    for (int b = 0; b < 3; b++) {
      assertTrue(trainPending(restored).applied());
    }
    assertEquals(0, original.pendingCount());
    assertEquals(0, restored.pendingCount());
    assertEquals(3, restored.batchesTrained());
    assertSameWeights(original, restored);
    assertEquals(original.prequential.loss(), restored.prequential.loss());
  }

  /**
   * A batch that trained without copying its result is captured afterwards, and that copy is what
   * gets stored.
   */
  @Test
  void batchTrainedWithoutACaptureIsCapturedWhenTaken() {
    Config config = config(0.9);
    KeyValueStore<String, byte[]> store = store();
    TrainingState state = TrainingState.fresh(config, 0);
    state.save(store);
    add(state, store, 0, BATCH);
    TrainingState.Trained trained = state.train(state.ringIndex(0), BATCH, 1, false);
    assertEquals(0, state.latestSeq(), "nothing captured yet");
    state.capture(1);
    StateImages.Claim claim = state.claimLatest();
    assertEquals(1, claim.seq());
    assertTrue(state.finish(BATCH, trained.step()).applied());
    state.putTrained(store, claim.image());

    TrainingState loaded = TrainingState.load(store, config, 0);
    assertEquals(1, loaded.batchesTrained());
    assertEquals(0, loaded.pendingCount());
    assertSameWeights(state, loaded);
  }

  @Test
  void noMoreSamplesWaitThanTheQueuedBatchesAndOneFillingBehind() {
    Config config = config(0);
    KeyValueStore<String, byte[]> store = store();
    TrainingState state = TrainingState.fresh(config, 0);
    assertEquals((TrainingState.MAX_QUEUED_BATCHES + 1) * BATCH, TrainingState.capacity(config));
    add(state, store, 0, TrainingState.capacity(config));
    assertThrows(IllegalStateException.class, () -> state.addPending(compact(99), store));
  }

  @Test
  void fewerBatchesQueueWhenTheyAreLargeAndNoneWhenTwoDoNotFitInOneRecord() {
    int[] sizes = {784, 8, 10};
    assertEquals(
        TrainingState.MAX_QUEUED_BATCHES, TrainingState.queuedBatches(config(sizes, 64, 0)));
    assertEquals(3, TrainingState.queuedBatches(config(sizes, 286, 0)));
    assertEquals(2, TrainingState.queuedBatches(config(sizes, 287, 0)));
    assertEquals(1, TrainingState.queuedBatches(config(sizes, 573, 0)));
    assertEquals(0, TrainingState.queuedBatches(config(sizes, 574, 0)));
    assertEquals(1024, TrainingState.capacity(config(sizes, 1024, 0)));
  }

  /**
   * The waiting samples wrap around the ring; a restore lays them out oldest first and trains them
   * in order.
   */
  @Test
  void waitingSamplesThatWrapAroundTheRingRestoreInOrder() {
    Config config = config(0);
    KeyValueStore<String, byte[]> store = store();
    TrainingState original = TrainingState.fresh(config, 0);
    original.save(store);
    int capacity = TrainingState.capacity(config);
    add(original, store, 0, 2);
    assertTrue(
        trainPending(original).applied()); // a flushed half batch: the ring now starts at index 2
    add(original, store, 2, capacity - 1); // fills the ring to its end and wraps to index 0
    original.save(store);

    TrainingState restored = TrainingState.load(store, config, 0);
    assertEquals(capacity - 1, restored.pendingCount());
    while (original.pendingCount() > 0) {
      assertTrue(trainPending(original).applied());
      assertTrue(trainPending(restored).applied());
    }
    assertEquals(0, restored.pendingCount());
    assertArrayEquals(flat(original.network.parameters()), flat(restored.network.parameters()));
  }

  @Test
  void loadedStateTrainsOnExactlyAsTheOriginalWould() {
    Config config = config(0.9);
    KeyValueStore<String, byte[]> store = store();
    TrainingState original = TrainingState.fresh(config, 0);
    add(original, store, 0, BATCH);
    trainPending(original);
    add(original, store, BATCH, BATCH);
    trainPending(original);
    original.save(store);
    add(original, store, 2 * BATCH, 2);

    TrainingState loaded = TrainingState.load(store, config, 0);
    for (TrainingState state : new TrainingState[] {original, loaded}) {
      add(state, store(), 2 * BATCH + 2, 2);
      assertTrue(trainPending(state).applied());
    }
    assertSameWeights(original, loaded);
    assertEquals(original.prequential.loss(), loaded.prequential.loss());
    assertEquals(3, loaded.batchesTrained());
    assertEquals(12, loaded.samplesTrained());
  }

  @Test
  void newerPublishedVersionWinsOverTheStoredOne() {
    Config config = config(0);
    KeyValueStore<String, byte[]> store = store();
    TrainingState.fresh(config, 7).save(store);
    assertEquals(100, TrainingState.load(store, config, 100).lastVersion());
    assertEquals(7, TrainingState.load(store, config, 3).lastVersion());
  }

  @Test
  void stateOfAnotherArchitectureOrBatchSizeIsRefused() {
    KeyValueStore<String, byte[]> store = store();
    TrainingState.fresh(config(0), 0).save(store);
    IllegalStateException sizes =
        assertThrows(
            IllegalStateException.class,
            () -> TrainingState.load(store, config(new int[] {784, 9, 10}, BATCH, 0), 0));
    assertTrue(sizes.getMessage().contains("[784, 8, 10]"), sizes.getMessage());
    assertThrows(
        IllegalStateException.class,
        () -> TrainingState.load(store, config(new int[] {784, 8, 10}, 8, 0), 0));
  }

  @Test
  void resumingWithAveragingNewlySwitchedOnPublishesTheTrainedWeightsNotZeros() {
    KeyValueStore<String, byte[]> store = store();
    TrainingState before = TrainingState.fresh(config(0), 0);
    add(before, store, 0, BATCH);
    trainPending(before);
    before.save(store); // one batch trained, none snapshotted yet
    float[] trained = flat(before.network.parameters());

    TrainingState resumed = TrainingState.load(store, config(0.9), 0);
    assertTrue(resumed.batchesSinceSnapshot() > 0, "the next tick would publish");
    float[] published = flat(resumed.publishedWeights());
    boolean allZero = true;
    for (float w : published) {
      allZero &= w == 0f;
    }
    assertFalse(allZero, "published weights are all zero");
    assertArrayEquals(trained, published, 1e-6f, "the average starts from the trained weights");
  }

  // --- feature models
  // ---------------------------------------------------------------------------------------------

  private static final ModelSpec FEATURES =
      new ModelSpec(3, 2, java.util.List.of("a", "b", "c"), java.util.List.of(), null, true);

  /** Feature sample {@code n}: three features of very different scales, label n % 2. */
  static float[] features(int n) {
    return new float[] {(n % 7) * 1e-3f, 5e3f + (n % 5) * 1e3f, -2f + (n % 3)};
  }

  static byte[] compactFeatures(int n) {
    SampleLayout layout = new SampleLayout(FEATURES);
    byte[] out = new byte[layout.bytes()];
    java.util.List<Float> values = new java.util.ArrayList<>();
    for (float f : features(n)) {
      values.add(f);
    }
    layout.write(
        io.streamlearn.contract.TrainingSample.newBuilder()
            .setSampleId("f-" + n)
            .setLabel(n % 2)
            .setPixels(java.nio.ByteBuffer.allocate(0))
            .setFeatures(values)
            .setSource("test")
            .setEventTime(java.time.Instant.EPOCH)
            .build(),
        out);
    return out;
  }

  @Test
  void aFeatureSampleIsHeldAsLabelThenFloats() {
    SampleLayout layout = new SampleLayout(FEATURES);
    byte[] sample = compactFeatures(5);
    float[] row = new float[3];
    layout.copyInputs(sample, 0, row);

    assertEquals(1 + 4 * 3, layout.bytes());
    assertEquals(1, layout.label(sample, 0));
    assertArrayEquals(features(5), row);
  }

  @Test
  void labelsPast255TakeTwoBytes() {
    ModelSpec wide = new ModelSpec(3, 300, java.util.List.of(), java.util.List.of(), null, true);
    SampleLayout layout = new SampleLayout(wide);
    byte[] out = new byte[layout.bytes()];
    layout.write(
        io.streamlearn.contract.TrainingSample.newBuilder()
            .setSampleId("x")
            .setLabel(299)
            .setPixels(java.nio.ByteBuffer.allocate(0))
            .setFeatures(java.util.List.of(1f, 2f, 3f))
            .setSource("test")
            .setEventTime(java.time.Instant.EPOCH)
            .build(),
        out);

    assertEquals(2 + 12, layout.bytes());
    assertEquals(299, layout.label(out, 0));
  }

  /**
   * Test, then train: a batch is scored with the statistics of the samples before it, then folded
   * into them, then trained with the new ones; the statistics are stored with the weights and load
   * back to the same transform.
   */
  @Test
  void standardizationStatisticsFollowTheSamplesAndSurviveARestart() {
    Config config = config(FEATURES, new int[] {3, 4, 2}, BATCH, 0);
    KeyValueStore<String, byte[]> store = store();
    TrainingState state = TrainingState.fresh(config, 0);
    assertEquals(0, ((InputTransform.Standardize) state.transform()).count());
    for (int n = 0; n < 3 * BATCH; n++) {
      state.addPending(compactFeatures(n), store);
    }
    for (int b = 0; b < 3; b++) {
      int count = Math.min(state.pendingCount(), BATCH);
      state.finish(count, state.train(state.ringIndex(0), count, ++steps, true).step());
    }
    state.save(store);

    InputTransform.Standardize t = (InputTransform.Standardize) state.transform();
    assertEquals(3 * BATCH, t.count());
    for (int i = 0; i < 3; i++) {
      double sum = 0;
      for (int n = 0; n < 3 * BATCH; n++) {
        sum += features(n)[i];
      }
      double mean = sum / (3 * BATCH);
      double squares = 0;
      for (int n = 0; n < 3 * BATCH; n++) {
        squares += (features(n)[i] - mean) * (features(n)[i] - mean);
      }
      assertEquals((float) mean, t.mean()[i], Math.ulp((float) mean) * 2, "mean " + i);
      assertEquals(
          (float) (squares / (3 * BATCH)),
          t.variance()[i],
          Math.ulp((float) (squares / (3 * BATCH))) * 2,
          "variance " + i);
    }
    TrainingState loaded = TrainingState.load(store, config, 0);
    assertEquals(t, loaded.transform());
    assertSameWeights(state, loaded);
  }

  @Test
  void aStateOfAnotherInputKindIsRefusedNamingTheKeys() {
    KeyValueStore<String, byte[]> store = store();
    TrainingState.fresh(config(0), 0).save(store);
    ModelSpec features =
        new ModelSpec(784, 10, java.util.List.of(), java.util.List.of(), null, true);

    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> TrainingState.load(store, config(features, new int[] {784, 8, 10}, BATCH, 0), 0));
    assertTrue(e.getMessage().contains("image 28x28 scale inputs"), e.getMessage());
    assertTrue(e.getMessage().contains("of features standardize inputs"), e.getMessage());
    assertTrue(e.getMessage().contains("'image-shape', 'normalize'"), e.getMessage());
  }

  @Test
  void anMnistCheckpointStaysVersionOneAndAFeatureOneRecordsItsKind() {
    KeyValueStore<String, byte[]> store = store();
    TrainingState.fresh(config(0), 0).save(store);
    assertNull(TrainingState.CHECKPOINT.decode(store.get(TrainingState.META)).getInputKind());

    TrainingState.fresh(config(FEATURES, new int[] {3, 4, 2}, BATCH, 0), 0).save(store);
    assertEquals(
        "features standardize",
        TrainingState.CHECKPOINT.decode(store.get(TrainingState.META)).getInputKind());
  }
}
