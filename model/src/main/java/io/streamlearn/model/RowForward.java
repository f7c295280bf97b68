package io.streamlearn.model;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The forward pass of a {@link DenseNetwork} one input row at a time, in plain Java over heap
 * copies of the weights: for scoring a few rows, where a GEMM's fixed cost (packing the whole first
 * weight matrix, about 100 µs for 784x100) dwarfs the arithmetic. The first layer skips zero
 * pixels, which are most of an MNIST digit. Same mathematics as {@link DenseNetwork#forward}; sums
 * run in another order, so results agree to float rounding. Immutable and safe to share between
 * threads; each caller brings its own scratch rows.
 */
public final class RowForward {
  private final int[] sizes;
  // layer l, input i: row i of W[l], length sizes[l+1]. One array per row, so that the inner loop
  // indexes both of its
  // arrays alike and the JIT can vectorise it (with one flat array and an offset it cannot rule out
  // an overlap).
  private final float[][][] weights;
  private final float[][] biases;
  private final int widest;

  private RowForward(int[] sizes, float[][][] weights, float[][] biases) {
    this.sizes = sizes;
    this.weights = weights;
    this.biases = biases;
    int w = 0;
    for (int s : sizes) {
      w = Math.max(w, s);
    }
    this.widest = w;
  }

  /** A copy of {@code network}'s current weights (float32 networks only). */
  public static RowForward of(DenseNetwork network) {
    int layers = network.layers();
    int[] sizes = network.sizes();
    float[][][] w = new float[layers][][];
    float[][] b = new float[layers][];
    INDArray[] parameters = network.parameters();
    for (int l = 0; l < layers; l++) {
      float[] flat = parameters[2 * l].data().asFloat();
      w[l] = new float[sizes[l]][];
      for (int i = 0; i < sizes[l]; i++) {
        w[l][i] = java.util.Arrays.copyOfRange(flat, i * sizes[l + 1], (i + 1) * sizes[l + 1]);
      }
      b[l] = parameters[2 * l + 1].data().asFloat();
    }
    return new RowForward(sizes, w, b);
  }

  /** One thread's working memory: two rows as wide as the widest layer. */
  public static final class Scratch {
    private final float[] a;
    private final float[] z;

    private Scratch(int widest) {
      a = new float[widest];
      z = new float[widest];
    }
  }

  public Scratch newScratch() {
    return new Scratch(widest);
  }

  public int outputs() {
    return sizes[sizes.length - 1];
  }

  /**
   * Class probabilities of one input, written to {@code out[outOffset .. outOffset+outputs)}.
   *
   * @param pixels the input as unsigned bytes {@code pixels[offset .. offset+inputs)}, multiplied
   *     by {@code scale}
   */
  public void probabilities(
      byte[] pixels, int offset, float scale, float[] out, int outOffset, Scratch scratch) {
    float[] a = scratch.a;
    float[] z = scratch.z;
    // layer 0: (784) x (784, h) -> (h), summing only the rows of W whose pixel is not zero
    int width = sizes[1];
    float[][] w0 = weights[0];
    System.arraycopy(biases[0], 0, z, 0, width);
    for (int i = 0; i < sizes[0]; i++) {
      int v = pixels[offset + i] & 0xff;
      if (v != 0) {
        axpy(v * scale, w0[i], z, width);
      }
    }
    hiddenAndSoftmax(a, z, out, outOffset);
  }

  /**
   * Class probabilities of one input already transformed, {@code x[0 .. inputs)}, written to {@code
   * out[outOffset .. outOffset+outputs)}.
   */
  public void probabilities(float[] x, float[] out, int outOffset, Scratch scratch) {
    float[] z = scratch.z;
    int width = sizes[1];
    float[][] w0 = weights[0];
    System.arraycopy(biases[0], 0, z, 0, width);
    for (int i = 0; i < sizes[0]; i++) {
      float v = x[i];
      if (v != 0) {
        axpy(v, w0[i], z, width);
      }
    }
    hiddenAndSoftmax(scratch.a, z, out, outOffset);
  }

  /**
   * Layers 1 and up from the first layer's pre-activations in {@code z} ({@code a} the other
   * scratch row): ReLU on the layer below, then its weights, and softmax on the last.
   */
  private void hiddenAndSoftmax(float[] a, float[] z, float[] out, int outOffset) {
    int last = sizes.length - 2;
    for (int l = 1; l <= last; l++) {
      float[] swap = a;
      a = z;
      z = swap;
      int in = sizes[l];
      int outWidth = sizes[l + 1];
      System.arraycopy(biases[l], 0, z, 0, outWidth);
      float[][] w = weights[l];
      for (int i = 0; i < in; i++) {
        float v = a[i];
        if (v > 0) {
          axpy(v, w[i], z, outWidth);
        }
      }
    }
    softmax(z, sizes[sizes.length - 1], out, outOffset);
  }

  private static void axpy(float alpha, float[] x, float[] y, int n) {
    for (int j = 0; j < n; j++) {
      y[j] += alpha * x[j];
    }
  }

  private static void softmax(float[] logits, int n, float[] out, int outOffset) {
    float max = Float.NEGATIVE_INFINITY;
    for (int j = 0; j < n; j++) {
      max = Math.max(max, logits[j]);
    }
    double sum = 0;
    for (int j = 0; j < n; j++) {
      sum += Math.exp(logits[j] - max);
    }
    for (int j = 0; j < n; j++) {
      out[outOffset + j] = (float) (Math.exp(logits[j] - max) / sum);
    }
  }
}
