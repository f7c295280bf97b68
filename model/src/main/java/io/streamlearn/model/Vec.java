package io.streamlearn.model;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Element access to a dense ND4J array's off-heap memory, for the element-wise loops (bias,
 * activations, softmax, Adam) that are far cheaper in plain Java than as separate ND4J ops (each of
 * which costs 10-30 µs to launch). Float32 in production, float64 for gradient checks; values pass
 * through as double.
 */
abstract sealed class Vec permits Vec.F32, Vec.F64 {
  static Vec of(INDArray array) {
    if (array.isView() || array.offset() != 0 || array.ordering() != 'c') {
      throw new IllegalArgumentException("expected a dense, c-ordered array that is not a view");
    }
    int length = Math.toIntExact(array.length());
    DataType type = array.dataType();
    if (type == DataType.FLOAT) {
      return new F32(array.data().asNioFloat(), length);
    }
    if (type == DataType.DOUBLE) {
      return new F64(array.data().asNioDouble(), length);
    }
    throw new IllegalArgumentException("unsupported data type " + type);
  }

  final int length;

  Vec(int length) {
    this.length = length;
  }

  abstract double get(int i);

  abstract void set(int i, double value);

  static final class F32 extends Vec {
    private final FloatBuffer buffer;

    F32(FloatBuffer buffer, int length) {
      super(length);
      this.buffer = buffer;
    }

    @Override
    double get(int i) {
      return buffer.get(i);
    }

    @Override
    void set(int i, double value) {
      buffer.put(i, (float) value);
    }
  }

  static final class F64 extends Vec {
    private final DoubleBuffer buffer;

    F64(DoubleBuffer buffer, int length) {
      super(length);
      this.buffer = buffer;
    }

    @Override
    double get(int i) {
      return buffer.get(i);
    }

    @Override
    void set(int i, double value) {
      buffer.put(i, value);
    }
  }
}
