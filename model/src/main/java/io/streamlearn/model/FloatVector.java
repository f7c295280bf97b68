package io.streamlearn.model;

import java.nio.FloatBuffer;

/**
 * A flat float32 vector that optimizer and average state is written into and read back from (a
 * checkpoint's chunks, a copy of the state): positions count floats from the start of the first
 * parameter tensor, in the order of {@link DenseNetwork#parameters()}. Lets {@link Adam} and {@link
 * WeightAverage} save and restore their state without handing out their live arrays.
 */
public interface FloatVector {
  /** Copies {@code count} floats of {@code source} (from its index 0) to position {@code at}. */
  void write(int at, FloatBuffer source, int count);

  /**
   * Copies {@code count} floats from position {@code at} into {@code target} (from its index 0).
   */
  void read(int at, FloatBuffer target, int count);

  /** A vector over {@code values} (not copied). */
  static FloatVector of(float[] values) {
    return new FloatVector() {
      @Override
      public void write(int at, FloatBuffer source, int count) {
        source.duplicate().position(0).limit(count).get(values, at, count);
      }

      @Override
      public void read(int at, FloatBuffer target, int count) {
        target.duplicate().position(0).put(values, at, count);
      }
    };
  }
}
