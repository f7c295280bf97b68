package io.streamlearn.learner;

import java.nio.ByteBuffer;

/**
 * The samples waiting to be trained, as a ring in one byte array: {@code [count][start]}, then
 * {@code capacity} slots of {@code [label, inputs...]}, the oldest at {@code start}. The array is
 * allocated once and is the very one the state store holds (put after every append): the store's
 * cache keeps the reference and writes its content at flush, which is then the newest (see {@link
 * TrainingState}).
 */
final class SampleRing {
  /** Bytes before the first slot: the count and the start index. */
  static final int HEADER = 8;

  /** The header of the format-2 list of waiting samples ({@code [count][samples...]}). */
  private static final int LIST_HEADER = 4;

  private final byte[] bytes;
  private final int capacity;
  private final int sampleBytes;

  SampleRing(int capacity, int sampleBytes) {
    this.capacity = capacity;
    this.sampleBytes = sampleBytes;
    this.bytes = new byte[HEADER + capacity * sampleBytes];
  }

  /** Bytes of a ring of {@code capacity} samples of {@code sampleBytes}. */
  static long encodedSize(long capacity, int sampleBytes) {
    return HEADER + capacity * sampleBytes;
  }

  int capacity() {
    return capacity;
  }

  /** Samples waiting. */
  int count() {
    return ByteBuffer.wrap(bytes).getInt(0);
  }

  /** The slot of the waiting sample {@code ahead} places after the oldest. */
  int index(int ahead) {
    return (ByteBuffer.wrap(bytes).getInt(4) + ahead) % capacity;
  }

  /** Where slot {@code index} begins in {@link #bytes()}: its label, then its inputs. */
  int offset(int index) {
    return HEADER + index * sampleBytes;
  }

  /** The ring as stored; rewritten in place. */
  byte[] bytes() {
    return bytes;
  }

  /** Appends {@code sample} ({@code [label, inputs...]}) behind the newest. */
  void add(byte[] sample) {
    int count = count();
    if (count == capacity) {
      throw new IllegalStateException(
          "no room for another waiting sample: " + count + " wait already");
    }
    System.arraycopy(sample, 0, bytes, offset(index(count)), sampleBytes);
    ByteBuffer.wrap(bytes).putInt(0, count + 1);
  }

  /** Removes the oldest {@code count} samples (trained and taken). */
  void removeOldest(int count) {
    int start = index(count);
    ByteBuffer.wrap(bytes).putInt(0, count() - count).putInt(4, start);
  }

  /**
   * Copies stored waiting samples, oldest first, into this (empty) ring from slot 0: a ring as
   * {@link #bytes()} holds it, or with {@code list} a format-2 list.
   *
   * @throws IllegalStateException naming {@code owner} when the stored bytes are not a valid ring
   *     or list, or hold more samples than this ring can
   */
  void restore(byte[] stored, boolean list, String owner) {
    ByteBuffer in = ByteBuffer.wrap(stored);
    int header = list ? LIST_HEADER : HEADER;
    int count = stored.length >= header ? in.getInt(0) : -1;
    int start = list || stored.length < header ? 0 : in.getInt(4);
    int ring = (stored.length - header) / sampleBytes;
    if (count < 0 || count > capacity || count > ring || start < 0 || (ring > 0 && start >= ring)) {
      throw new IllegalStateException(
          "learner state of "
              + owner
              + " holds a malformed list of waiting samples ("
              + stored.length
              + " bytes, count "
              + count
              + ", start "
              + start
              + ")");
    }
    for (int i = 0; i < count; i++) {
      System.arraycopy(
          stored, header + ((start + i) % ring) * sampleBytes, bytes, offset(i), sampleBytes);
    }
    ByteBuffer.wrap(bytes).putInt(0, count).putInt(4, 0);
  }
}
