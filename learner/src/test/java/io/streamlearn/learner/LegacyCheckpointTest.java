package io.streamlearn.learner;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamlearn.learner.LearnerSettings.Config;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.zip.GZIPInputStream;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A learner of the previous release left its store in format 3 (the hand-packed {@code meta}); this
 * release must load it, train on exactly as that learner would have, and from then on write the
 * Avro checkpoint. The fixture {@code learner-state-format3.bin.gz} was written by the previous
 * release's own code (commit e300901): a [784, 8, 10] network, batch 4, averaging 0.9, three
 * batches trained, one held snapshot; beside the store it holds that learner's counters and
 * weights, and its weights after one more batch of samples 12-15.
 */
class LegacyCheckpointTest {
  private static final int BATCH = 4;

  private static Config config() {
    return TrainingStateTest.config(new int[] {784, 8, 10}, BATCH, 0.9);
  }

  private static KeyValueStore<String, byte[]> store() {
    return TrainingStateTest.store();
  }

  /** The fixture's entries: {@code store:<key>} and {@code expected:<what>}. */
  private static Map<String, byte[]> fixture() throws IOException {
    Map<String, byte[]> entries = new HashMap<>();
    try (InputStream resource =
            LegacyCheckpointTest.class.getResourceAsStream("learner-state-format3.bin.gz");
        DataInputStream in = new DataInputStream(new GZIPInputStream(resource))) {
      int count = in.readInt();
      for (int i = 0; i < count; i++) {
        String key = in.readUTF();
        byte[] value = new byte[in.readInt()];
        in.readFully(value);
        entries.put(key, value);
      }
    }
    return entries;
  }

  private static KeyValueStore<String, byte[]> legacyStore(Map<String, byte[]> fixture) {
    KeyValueStore<String, byte[]> store = store();
    fixture.forEach(
        (key, value) -> {
          if (key.startsWith("store:")) {
            store.put(key.substring("store:".length()), value);
          }
        });
    return store;
  }

  private static float[] floats(byte[] littleEndian) {
    float[] out = new float[littleEndian.length / 4];
    ByteBuffer.wrap(littleEndian).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
    return out;
  }

  private static float[] flat(INDArray[] tensors) {
    return TrainingStateTest.flat(tensors);
  }

  private static byte[] compact(int n) {
    return TrainingStateTest.compact(n);
  }

  @Test
  void formatThreeStateLoadsWithItsCountersWeightsAndWaitingSamples() throws IOException {
    Map<String, byte[]> fixture = fixture();
    KeyValueStore<String, byte[]> store = legacyStore(fixture);
    assertTrue(LegacyCheckpoint.isLegacy(store.get(TrainingState.META)), "the fixture is legacy");
    Properties expected = new Properties();
    expected.load(
        new StringReader(new String(fixture.get("expected:counters"), StandardCharsets.UTF_8)));

    TrainingState loaded = TrainingState.load(store, config(), 0);
    assertNotNull(loaded);
    assertEquals(expected.getProperty("runId"), loaded.runId());
    assertEquals(Long.parseLong(expected.getProperty("samplesTrained")), loaded.samplesTrained());
    assertEquals(Long.parseLong(expected.getProperty("batchesTrained")), loaded.batchesTrained());
    assertEquals(Long.parseLong(expected.getProperty("samplesSkipped")), loaded.samplesSkipped());
    assertEquals(Long.parseLong(expected.getProperty("batchesSkipped")), loaded.batchesSkipped());
    assertEquals(Long.parseLong(expected.getProperty("lastVersion")), loaded.lastVersion());
    assertEquals(
        Long.parseLong(expected.getProperty("batchesTrained"))
            - Long.parseLong(expected.getProperty("batchesAtLastSnapshot")),
        loaded.batchesSinceSnapshot());
    assertEquals(Long.parseLong(expected.getProperty("adamStep")), loaded.adam.step());
    // The dump's in-memory store kept a reference to the live ring, which the one more batch then
    // emptied in place (as Kafka Streams' cache would between flushes): no sample waits.
    assertEquals(0, loaded.pendingCount());
    assertEquals(
        Double.parseDouble(expected.getProperty("accuracy")), loaded.prequential.accuracy());
    assertEquals(Double.parseDouble(expected.getProperty("loss")), loaded.prequential.loss());
    assertEquals(
        Double.parseDouble(expected.getProperty("cumulativeLoss")),
        loaded.prequential.cumulativeLoss());
    assertArrayEquals(floats(fixture.get("expected:raw")), flat(loaded.network.parameters()));
    assertArrayEquals(floats(fixture.get("expected:published")), flat(loaded.publishedWeights()));
  }

  @Test
  void upgradedStateTrainsOnExactlyAsThePreviousReleaseDidAndIsWrittenAsAvro() throws IOException {
    Map<String, byte[]> fixture = fixture();
    KeyValueStore<String, byte[]> store = legacyStore(fixture);
    TrainingState loaded = TrainingState.load(store, config(), 0);
    loaded.save(store); // the first put after the upgrade writes the new format
    assertFalse(LegacyCheckpoint.isLegacy(store.get(TrainingState.META)));
    assertNotNull(TrainingState.CHECKPOINT.decode(store.get(TrainingState.META)));

    TrainingState reloaded = TrainingState.load(store, config(), 0);
    for (TrainingState state : new TrainingState[] {loaded, reloaded}) {
      for (int n = 12; n < 16; n++) { // the batch the previous release trained after the dump
        state.addPending(compact(n), store());
      }
      assertEquals(BATCH, state.pendingCount());
      TrainingState.Trained trained = state.train(state.ringIndex(0), BATCH, 99, true);
      assertTrue(state.finish(BATCH, trained.step()).applied());
      assertArrayEquals(
          floats(fixture.get("expected:raw-after-batch")),
          flat(state.network.parameters()),
          "raw weights after one more batch");
      assertArrayEquals(
          floats(fixture.get("expected:published-after-batch")),
          flat(state.publishedWeights()),
          "averaged weights after one more batch");
    }
  }

  @Test
  void truncatedLegacyStateIsRefusedNamingTheFault() throws IOException {
    KeyValueStore<String, byte[]> store = legacyStore(fixture());
    byte[] meta = store.get(TrainingState.META);
    store.put(TrainingState.META, Arrays.copyOf(meta, meta.length - 3));
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> TrainingState.load(store, config(), 0));
    assertTrue(e.getMessage().contains("ends inside a field"), e.getMessage());
  }

  @Test
  void unknownMetaIsRefusedNamingTheApplication() {
    KeyValueStore<String, byte[]> store = store();
    store.put(TrainingState.META, new byte[] {0, 0, 0, 9, 1, 2, 3});
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> TrainingState.load(store, config(), 0));
    assertTrue(e.getMessage().contains("learner-state-test"), e.getMessage());
  }
}
