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
import io.streamlearn.model.DenseNetwork;
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
 * What a restarted learner finds in its store (the Kafka Streams restore itself is the integration tests' part; the
 * TopologyTestDriver wipes its state directory on close).
 */
class TrainingStateTest {
  private static final int BATCH = 4;

  private static Config config(int[] sizes, int batchSize, double emaDecay) {
    return new Config("unused:9092", "learner-state-test", "m", "in", "out", "dlq", sizes, batchSize,
        Adam.Settings.defaults(), 1.0, 1000L, emaDecay, 42L, DenseNetwork.Init.HE, Duration.ofMillis(500), 1000,
        Duration.ofMillis(1000), 100, "at_least_once", 0, 1, 100L, 1, (short) 1, Path.of("unused"), 0, Map.of());
  }

  private static Config config(double emaDecay) {
    return config(new int[] {784, 8, 10}, BATCH, emaDecay);
  }

  private static KeyValueStore<String, byte[]> store() {
    KeyValueStore<String, byte[]> store = Stores.keyValueStoreBuilder(
            Stores.inMemoryKeyValueStore(LearnerTopology.STATE_STORE), Serdes.String(), Serdes.ByteArray())
        .withLoggingDisabled()
        .withCachingDisabled()
        .build();
    store.init(new MockProcessorContext<String, byte[]>().getStateStoreContext(), store);
    return store;
  }

  /** Sample {@code n} in the learner's compact form: label, then 784 pixels. */
  private static byte[] compact(int n) {
    byte[] sample = new byte[TrainingState.SAMPLE_BYTES];
    sample[0] = (byte) LearnerTopologyTest.label(n);
    System.arraycopy(LearnerTopologyTest.pixels(n), 0, sample, 1, LearnerSettings.INPUTS);
    return sample;
  }

  private static void add(TrainingState state, KeyValueStore<String, byte[]> store, int from, int count) {
    for (int n = from; n < from + count; n++) {
      state.addPending(compact(n), store);
    }
  }

  private static float[] flat(INDArray[] tensors) {
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
    assertTrue(original.trainPending().applied());
    original.batchesSkipped = 3;
    original.samplesSkipped = 12;
    original.batchesAtLastSnapshot = 1;
    original.save(store);
    add(original, store, BATCH, 2);

    TrainingState loaded = TrainingState.load(store, config, 0);
    assertNotNull(loaded);
    assertEquals(original.runId, loaded.runId);
    assertEquals(4, loaded.samplesTrained);
    assertEquals(1, loaded.batchesTrained);
    assertEquals(3, loaded.batchesSkipped);
    assertEquals(12, loaded.samplesSkipped);
    assertEquals(7, loaded.lastVersion);
    assertEquals(1, loaded.batchesAtLastSnapshot);
    assertEquals(2, loaded.pendingCount());
    assertEquals(1, loaded.adam.step());
    assertEquals(original.prequential.accuracy(), loaded.prequential.accuracy());
    assertEquals(original.prequential.loss(), loaded.prequential.loss());
    assertArrayEquals(flat(original.network.parameters()), flat(loaded.network.parameters()));
    assertArrayEquals(flat(original.publishedWeights()), flat(loaded.publishedWeights()));
  }

  @Test
  void loadedStateTrainsOnExactlyAsTheOriginalWould() {
    Config config = config(0.9);
    KeyValueStore<String, byte[]> store = store();
    TrainingState original = TrainingState.fresh(config, 0);
    add(original, store, 0, BATCH);
    original.trainPending();
    add(original, store, BATCH, BATCH);
    original.trainPending();
    original.save(store);
    add(original, store, 2 * BATCH, 2);

    TrainingState loaded = TrainingState.load(store, config, 0);
    for (TrainingState state : new TrainingState[] {original, loaded}) {
      add(state, store(), 2 * BATCH + 2, 2);
      assertTrue(state.trainPending().applied());
    }
    assertArrayEquals(flat(original.network.parameters()), flat(loaded.network.parameters()), "raw weights");
    assertArrayEquals(flat(original.publishedWeights()), flat(loaded.publishedWeights()), "averaged weights");
    assertEquals(original.prequential.loss(), loaded.prequential.loss());
    assertEquals(3, loaded.batchesTrained);
    assertEquals(12, loaded.samplesTrained);
  }

  @Test
  void newerPublishedVersionWinsOverTheStoredOne() {
    Config config = config(0);
    KeyValueStore<String, byte[]> store = store();
    TrainingState.fresh(config, 7).save(store);
    assertEquals(100, TrainingState.load(store, config, 100).lastVersion);
    assertEquals(7, TrainingState.load(store, config, 3).lastVersion);
  }

  @Test
  void stateOfAnotherArchitectureOrBatchSizeIsRefused() {
    KeyValueStore<String, byte[]> store = store();
    TrainingState.fresh(config(0), 0).save(store);
    IllegalStateException sizes = assertThrows(IllegalStateException.class,
        () -> TrainingState.load(store, config(new int[] {784, 9, 10}, BATCH, 0), 0));
    assertTrue(sizes.getMessage().contains("[784, 8, 10]"), sizes.getMessage());
    assertThrows(IllegalStateException.class,
        () -> TrainingState.load(store, config(new int[] {784, 8, 10}, 8, 0), 0));
  }

  @Test
  void resumingWithAveragingNewlySwitchedOnPublishesTheTrainedWeightsNotZeros() {
    KeyValueStore<String, byte[]> store = store();
    TrainingState before = TrainingState.fresh(config(0), 0);
    add(before, store, 0, BATCH);
    before.trainPending();
    before.save(store); // one batch trained, none snapshotted yet
    float[] trained = flat(before.network.parameters());

    TrainingState resumed = TrainingState.load(store, config(0.9), 0);
    assertTrue(resumed.batchesTrained > resumed.batchesAtLastSnapshot, "the next tick would publish");
    float[] published = flat(resumed.publishedWeights());
    boolean allZero = true;
    for (float w : published) {
      allZero &= w == 0f;
    }
    assertFalse(allZero, "published weights are all zero");
    assertArrayEquals(trained, published, 1e-6f, "the average starts from the trained weights");
  }
}
