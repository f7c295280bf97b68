package io.streamlearn.learner;

import io.streamlearn.model.FloatVector;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * A float vector kept in the state store as records of at most 512 KiB ({@code <name>/0}, {@code
 * <name>/1}, ...), so each changelog record stays under Kafka's default 1 MB limit whatever the
 * model size. The chunk arrays are allocated once and rewritten in place; see {@link TrainingState}
 * for why that is safe with the caching store.
 */
final class FloatChunks implements FloatVector {
  static final int CHUNK_FLOATS = 128 * 1024;

  private final String name;
  private final int length;
  private final byte[][] chunks;
  private final FloatBuffer[] views;

  FloatChunks(String name, int length) {
    this.name = name;
    this.length = length;
    int count = Math.max(1, (length + CHUNK_FLOATS - 1) / CHUNK_FLOATS);
    chunks = new byte[count][];
    views = new FloatBuffer[count];
    for (int c = 0; c < count; c++) {
      int floats = Math.min(CHUNK_FLOATS, length - c * CHUNK_FLOATS);
      chunks[c] = new byte[4 * floats];
      views[c] = ByteBuffer.wrap(chunks[c]).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    }
  }

  int length() {
    return length;
  }

  /** Copies {@code count} floats from {@code source} (from its index 0) to position {@code at}. */
  @Override
  public void write(int at, FloatBuffer source, int count) {
    for (int done = 0; done < count; ) {
      int position = at + done;
      int chunk = position / CHUNK_FLOATS;
      int offset = position % CHUNK_FLOATS;
      int n = Math.min(count - done, CHUNK_FLOATS - offset);
      FloatBuffer from = source.duplicate();
      from.limit(done + n).position(done);
      views[chunk].duplicate().position(offset).put(from);
      done += n;
    }
  }

  void write(int at, float[] source) {
    write(at, FloatBuffer.wrap(source), source.length);
  }

  /**
   * Copies {@code count} floats from position {@code at} into {@code target} (from its index 0).
   */
  @Override
  public void read(int at, FloatBuffer target, int count) {
    for (int done = 0; done < count; ) {
      int position = at + done;
      int chunk = position / CHUNK_FLOATS;
      int offset = position % CHUNK_FLOATS;
      int n = Math.min(count - done, CHUNK_FLOATS - offset);
      FloatBuffer from = views[chunk].duplicate();
      from.limit(offset + n).position(offset);
      target.duplicate().position(done).put(from);
      done += n;
    }
  }

  void read(int at, float[] target) {
    read(at, FloatBuffer.wrap(target), target.length);
  }

  void put(KeyValueStore<String, byte[]> store) {
    for (int c = 0; c < chunks.length; c++) {
      store.put(name + "/" + c, chunks[c]);
    }
  }

  /**
   * Loads every chunk; false when the store does not hold this vector (or holds one of another
   * size).
   */
  boolean load(KeyValueStore<String, byte[]> store) {
    for (int c = 0; c < chunks.length; c++) {
      byte[] stored = store.get(name + "/" + c);
      if (stored == null || stored.length != chunks[c].length) {
        return false;
      }
      System.arraycopy(stored, 0, chunks[c], 0, stored.length);
    }
    return true;
  }
}
