package io.streamlearn.learner;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.junit.jupiter.api.Test;

class FloatChunksTest {
  private static final int C = FloatChunks.CHUNK_FLOATS;

  private static KeyValueStore<String, byte[]> store() {
    KeyValueStore<String, byte[]> store =
        Stores.keyValueStoreBuilder(
                Stores.inMemoryKeyValueStore("chunks"), Serdes.String(), Serdes.ByteArray())
            .withLoggingDisabled()
            .withCachingDisabled()
            .build();
    MockProcessorContext<String, byte[]> context = new MockProcessorContext<>();
    store.init(context.getStateStoreContext(), store);
    return store;
  }

  private static float[] ramp(int n, float start) {
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      out[i] = start + i * 0.5f;
    }
    return out;
  }

  @Test
  void chunksHoldAtMostChunkFloatsAndTheRemainderGoesLast() {
    FloatChunks chunks = new FloatChunks("v", 2 * C + 5);
    KeyValueStore<String, byte[]> store = store();
    chunks.put(store);
    assertEquals(4 * C, store.get("v/0").length);
    assertEquals(4 * C, store.get("v/1").length);
    assertEquals(4 * 5, store.get("v/2").length);
    assertNull(store.get("v/3"));
    assertEquals(4 * C, 512 * 1024, "a chunk is 512 KiB");
  }

  @Test
  void floatsAreStoredLittleEndian() {
    FloatChunks chunks = new FloatChunks("v", 3);
    chunks.write(0, new float[] {1.0f, -2.5f, 0f});
    KeyValueStore<String, byte[]> store = store();
    chunks.put(store);
    byte[] expected =
        ByteBuffer.allocate(12)
            .order(ByteOrder.LITTLE_ENDIAN)
            .putFloat(1.0f)
            .putFloat(-2.5f)
            .putFloat(0f)
            .array();
    assertArrayEquals(expected, store.get("v/0"));
    assertArrayEquals(
        new byte[] {0, 0, (byte) 0x80, 0x3F}, java.util.Arrays.copyOf(store.get("v/0"), 4));
  }

  @Test
  void writesAndReadsThatCrossAChunkBoundaryRoundTrip() {
    FloatChunks chunks = new FloatChunks("v", 2 * C + 16);
    float[] span = ramp(C + 10, 1f); // from C - 3 into the third chunk
    chunks.write(C - 3, span);
    float[] back = new float[span.length];
    chunks.read(C - 3, back);
    assertArrayEquals(span, back);

    // Only the written range changed.
    float[] before = new float[1];
    chunks.read(C - 4, before);
    assertEquals(0f, before[0]);
    float[] after = new float[1];
    chunks.read(2 * C + 7, after);
    assertEquals(0f, after[0]);

    // Reading into a buffer copies count floats to its index 0, whatever its position.
    FloatBuffer target = FloatBuffer.allocate(4);
    target.position(3);
    chunks.read(C - 1, target, 4);
    assertArrayEquals(new float[] {span[2], span[3], span[4], span[5]}, target.array());
  }

  @Test
  void writeFromABufferCopiesFromItsIndexZero() {
    FloatChunks chunks = new FloatChunks("v", 8);
    FloatBuffer source = FloatBuffer.wrap(new float[] {9f, 8f, 7f, 6f});
    source.position(2);
    chunks.write(4, source, 3);
    float[] all = new float[8];
    chunks.read(0, all);
    assertArrayEquals(new float[] {0, 0, 0, 0, 9f, 8f, 7f, 0}, all);
  }

  @Test
  void loadRestoresWhatPutStored() {
    FloatChunks saved = new FloatChunks("params", C + 7);
    float[] values = ramp(C + 7, -3f);
    saved.write(0, values);
    KeyValueStore<String, byte[]> store = store();
    saved.put(store);

    FloatChunks loaded = new FloatChunks("params", C + 7);
    assertTrue(loaded.load(store));
    float[] back = new float[C + 7];
    loaded.read(0, back);
    assertArrayEquals(values, back);
  }

  @Test
  void loadFailsWhenAChunkIsMissingOrOfAnotherSize() {
    KeyValueStore<String, byte[]> store = store();
    assertFalse(new FloatChunks("params", C + 7).load(store), "empty store");

    new FloatChunks("params", C + 7).put(store);
    store.delete("params/1");
    assertFalse(new FloatChunks("params", C + 7).load(store), "second chunk missing");

    new FloatChunks("params", C + 7).put(store);
    assertFalse(new FloatChunks("params", C + 8).load(store), "vector of another size");
    assertFalse(new FloatChunks("other", C + 7).load(store), "another name");
    assertTrue(new FloatChunks("params", C + 7).load(store));
  }
}
