package io.streamlearn.model;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A fully connected network: ReLU hidden layers, a softmax output, mean cross-entropy loss. Layer l
 * computes {@code a[l+1] = act(a[l] W[l] + b[l])} with {@code W[l]} of shape (sizes[l],
 * sizes[l+1]), row-major, as the ModelSnapshot contract lays it out. The five matrix products of a
 * 784-100-10 training step are ND4J GEMMs into preallocated arrays; the element-wise work is plain
 * Java over the same memory (see {@link Vec}). Nothing is allocated per batch once a batch size has
 * been seen.
 *
 * <p>Backpropagation as in any textbook (e.g. Goodfellow et al., Deep Learning, 6.5); softmax with
 * cross-entropy gives the output delta {@code (p - onehot(y)) / B}.
 */
public final class DenseNetwork {
  private final int[] sizes;
  private final DataType dataType;
  private final INDArray[] weights;
  private final INDArray[] biases;
  private final INDArray[] weightGradients;
  private final INDArray[] biasGradients;
  private final Map<Integer, Activations> activations = new HashMap<>();

  /**
   * Per-batch-size buffers: a[0] is the input (not owned), a[L] the probabilities; d[l] the deltas.
   */
  private final class Activations {
    final INDArray[] a;
    final INDArray[] d;

    Activations(int batch) {
      a = new INDArray[sizes.length];
      d = new INDArray[sizes.length];
      for (int l = 1; l < sizes.length; l++) {
        a[l] = Nd4j.create(dataType, batch, sizes[l]);
        d[l] = weightGradients == null ? null : Nd4j.create(dataType, batch, sizes[l]);
      }
    }
  }

  private DenseNetwork(int[] sizes, DataType dataType) {
    if (sizes.length < 2) {
      throw new IllegalArgumentException("a network needs at least an input and an output size");
    }
    this.sizes = sizes.clone();
    this.dataType = dataType;
    int layers = sizes.length - 1;
    weights = new INDArray[layers];
    biases = new INDArray[layers];
    weightGradients = new INDArray[layers];
    biasGradients = new INDArray[layers];
    for (int l = 0; l < layers; l++) {
      weights[l] = Nd4j.create(dataType, sizes[l], sizes[l + 1]);
      biases[l] = Nd4j.create(dataType, sizes[l + 1]);
      weightGradients[l] = Nd4j.create(dataType, sizes[l], sizes[l + 1]);
      biasGradients[l] = Nd4j.create(dataType, sizes[l + 1]);
    }
  }

  /**
   * A forward-only network over {@code shared}'s weights (not copied), with activation buffers of
   * its own.
   */
  private DenseNetwork(DenseNetwork shared) {
    this.sizes = shared.sizes;
    this.dataType = shared.dataType;
    this.weights = shared.weights;
    this.biases = shared.biases;
    this.weightGradients = null;
    this.biasGradients = null;
  }

  /**
   * A forward-only view of this network for another thread: it reads the same weight arrays (which
   * must then no longer change) and has its own activation buffers, so several threads can score
   * with one set of weights. {@link #computeGradients} is refused on a view.
   */
  public DenseNetwork inferenceView() {
    return new DenseNetwork(this);
  }

  /** How the initial weights are drawn; biases start at zero. */
  public enum Init {
    /**
     * He normal, {@code N(0, 2/fan_in)} (He et al. 2015), for ReLU layers; Glorot uniform for the
     * softmax layer.
     */
    HE,
    /**
     * Glorot uniform, {@code U(±sqrt(6/(fan_in+fan_out)))} (Glorot and Bengio 2010), for every
     * layer (Keras).
     */
    GLOROT
  }

  /** A network with seeded initial weights (see {@link Init}). */
  public static DenseNetwork initialized(int[] sizes, DataType dataType, long seed, Init init) {
    DenseNetwork network = new DenseNetwork(sizes, dataType);
    SplittableRandom random = new SplittableRandom(seed);
    for (int l = 0; l < network.layers(); l++) {
      Vec w = Vec.of(network.weights[l]);
      int fanIn = sizes[l];
      int fanOut = sizes[l + 1];
      boolean he = init == Init.HE && l < network.layers() - 1;
      double std = Math.sqrt(2.0 / fanIn);
      double limit = Math.sqrt(6.0 / (fanIn + fanOut));
      for (int i = 0; i < w.length; i++) {
        w.set(i, he ? gaussian(random) * std : (2 * random.nextDouble() - 1) * limit);
      }
    }
    return network;
  }

  /** He initialisation (see {@link Init#HE}). */
  public static DenseNetwork initialized(int[] sizes, DataType dataType, long seed) {
    return initialized(sizes, dataType, seed, Init.HE);
  }

  /**
   * A network of the given shape with all parameters zero, to be filled by {@link #parameters()}.
   */
  public static DenseNetwork zeros(int[] sizes, DataType dataType) {
    return new DenseNetwork(sizes, dataType);
  }

  private static double gaussian(SplittableRandom random) {
    // Box-Muller on a SplittableRandom, so the initial weights depend on the seed alone.
    double u1 = 1.0 - random.nextDouble();
    double u2 = random.nextDouble();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  public int[] sizes() {
    return sizes.clone();
  }

  public int layers() {
    return sizes.length - 1;
  }

  public int inputs() {
    return sizes[0];
  }

  public int outputs() {
    return sizes[sizes.length - 1];
  }

  public DataType dataType() {
    return dataType;
  }

  /**
   * The parameters in order W[0], b[0], W[1], b[1], ...: live arrays, updated in place by training.
   */
  public INDArray[] parameters() {
    INDArray[] all = new INDArray[2 * layers()];
    for (int l = 0; l < layers(); l++) {
      all[2 * l] = weights[l];
      all[2 * l + 1] = biases[l];
    }
    return all;
  }

  /** The gradients of the last {@link #computeGradients}, in the order of {@link #parameters()}. */
  public INDArray[] gradients() {
    if (weightGradients == null) {
      throw new IllegalStateException("an inference view has no gradients");
    }
    INDArray[] all = new INDArray[2 * layers()];
    for (int l = 0; l < layers(); l++) {
      all[2 * l] = weightGradients[l];
      all[2 * l + 1] = biasGradients[l];
    }
    return all;
  }

  public long parameterCount() {
    long n = 0;
    for (int l = 0; l < layers(); l++) {
      n += (long) sizes[l] * sizes[l + 1] + sizes[l + 1];
    }
    return n;
  }

  /** A (rows, inputs) array of this network's data type, for inputs. */
  public INDArray newInput(int rows) {
    return Nd4j.create(dataType, rows, sizes[0]);
  }

  /**
   * Writes one input row: {@code pixels[offset .. offset+inputs)} (unsigned bytes) times {@code
   * scale}.
   */
  public static void setInputRow(INDArray x, int row, byte[] pixels, int offset, float scale) {
    setInputRow(x, row, pixels, offset, scale, new float[Math.toIntExact(x.columns())]);
  }

  /**
   * As {@link #setInputRow(INDArray, int, byte[], int, float)}, with a caller's scratch row (hot
   * loops).
   */
  public static void setInputRow(
      INDArray x, int row, byte[] pixels, int offset, float scale, float[] values) {
    int width = Math.toIntExact(x.columns());
    if (x.dataType() == DataType.FLOAT) {
      for (int i = 0; i < width; i++) {
        values[i] = (pixels[offset + i] & 0xff) * scale;
      }
      x.data().asNioFloat().put(row * width, values);
    } else {
      Vec v = Vec.of(x);
      for (int i = 0; i < width; i++) {
        v.set(row * width + i, (pixels[offset + i] & 0xff) * (double) scale);
      }
    }
  }

  /**
   * Puts pixels {@code pixels[offset, offset + width)} (unsigned bytes), through {@code transform},
   * into row {@code row} of {@code x}, using a caller's scratch row {@code values}.
   */
  public static void setInputRow(
      INDArray x, int row, byte[] pixels, int offset, InputTransform transform, float[] values) {
    if (transform instanceof InputTransform.Scale s) {
      setInputRow(x, row, pixels, offset, s.factor(), values);
      return;
    }
    int width = Math.toIntExact(x.columns());
    for (int i = 0; i < width; i++) {
      values[i] = pixels[offset + i] & 0xff;
    }
    setInputRow(x, row, values, transform);
  }

  /**
   * Puts {@code values[0, width)}, through {@code transform}, into row {@code row} of {@code x}
   * (transforming {@code values} in place).
   */
  public static void setInputRow(INDArray x, int row, float[] values, InputTransform transform) {
    int width = Math.toIntExact(x.columns());
    transform.apply(values, width);
    putRow(x, row, values, width);
  }

  private static void putRow(INDArray x, int row, float[] values, int width) {
    if (x.dataType() == DataType.FLOAT) {
      x.data().asNioFloat().put(row * width, values, 0, width);
    } else {
      Vec v = Vec.of(x);
      for (int i = 0; i < width; i++) {
        v.set(row * width + i, values[i]);
      }
    }
  }

  /**
   * Puts {@code values[0, width)}, each times {@code scale}, into row {@code row} of {@code x}
   * (scaling {@code values} in place).
   */
  public static void setInputRow(INDArray x, int row, float[] values, float scale) {
    int width = Math.toIntExact(x.columns());
    if (x.dataType() == DataType.FLOAT) {
      for (int i = 0; i < width; i++) {
        values[i] *= scale;
      }
      x.data().asNioFloat().put(row * width, values, 0, width);
    } else {
      Vec v = Vec.of(x);
      for (int i = 0; i < width; i++) {
        v.set(row * width + i, values[i] * (double) scale);
      }
    }
  }

  /**
   * Forward pass: leaves class probabilities in {@link #probabilities} for this batch size and,
   * when labels are given, returns the batch's loss and accuracy.
   *
   * @param x inputs, shape (B, inputs), already scaled
   * @param labels the true classes, length B, or null
   */
  public BatchStats forward(INDArray x, int[] labels) {
    int batch = Math.toIntExact(x.rows());
    Activations act = activationsFor(batch);
    act.a[0] = x;
    int last = layers() - 1;
    for (int l = 0; l <= last; l++) {
      // (B, sizes[l]) x (sizes[l], sizes[l+1]) -> (B, sizes[l+1])
      Nd4j.gemm(act.a[l], weights[l], act.a[l + 1], false, false, 1.0, 0.0);
      if (l < last) {
        addBiasRelu(Vec.of(act.a[l + 1]), Vec.of(biases[l]), batch, sizes[l + 1]);
      }
    }
    return softmaxAndLoss(Vec.of(act.a[last + 1]), Vec.of(biases[last]), batch, outputs(), labels);
  }

  /** The probabilities of the last forward pass with this batch size: shape (B, outputs). */
  public INDArray probabilities(int batch) {
    return activationsFor(batch).a[sizes.length - 1];
  }

  /**
   * Forward and backward pass: the gradients of the batch's mean cross-entropy land in {@link
   * #gradients()}. Returns the loss and accuracy measured by the forward pass, before any update.
   */
  public BatchStats computeGradients(INDArray x, int[] labels) {
    if (weightGradients == null) {
      throw new IllegalStateException("an inference view cannot compute gradients");
    }
    BatchStats stats = forward(x, labels);
    int batch = Math.toIntExact(x.rows());
    Activations act = activationsFor(batch);
    int top = layers();
    outputDelta(Vec.of(act.a[top]), Vec.of(act.d[top]), labels, batch, outputs());
    for (int l = top - 1; l >= 0; l--) {
      // (sizes[l], B) x (B, sizes[l+1]) -> (sizes[l], sizes[l+1])
      Nd4j.gemm(act.a[l], act.d[l + 1], weightGradients[l], true, false, 1.0, 0.0);
      columnSums(Vec.of(act.d[l + 1]), Vec.of(biasGradients[l]), batch, sizes[l + 1]);
      if (l > 0) {
        // (B, sizes[l+1]) x (sizes[l+1], sizes[l]) -> (B, sizes[l])
        Nd4j.gemm(act.d[l + 1], weights[l], act.d[l], false, true, 1.0, 0.0);
        reluBackward(Vec.of(act.d[l]), Vec.of(act.a[l]));
      }
    }
    return stats;
  }

  private Activations activationsFor(int batch) {
    Activations act = activations.get(batch);
    if (act == null) {
      if (activations.size() >= 40) {
        activations.clear(); // partial batches come in many sizes; keep few
      }
      act = new Activations(batch);
      activations.put(batch, act);
    }
    return act;
  }

  private static void addBiasRelu(Vec z, Vec bias, int batch, int width) {
    for (int r = 0, i = 0; r < batch; r++) {
      for (int j = 0; j < width; j++, i++) {
        double v = z.get(i) + bias.get(j);
        z.set(i, v > 0 ? v : 0);
      }
    }
  }

  /**
   * Adds the bias, turns logits into probabilities in place, and sums -log p(label) computed
   * stably.
   */
  private static BatchStats softmaxAndLoss(Vec z, Vec bias, int batch, int width, int[] labels) {
    double lossSum = 0;
    int correct = 0;
    for (int r = 0; r < batch; r++) {
      int row = r * width;
      double max = Double.NEGATIVE_INFINITY;
      int argmax = 0;
      for (int j = 0; j < width; j++) {
        double v = z.get(row + j) + bias.get(j);
        z.set(row + j, v);
        if (v > max) {
          max = v;
          argmax = j;
        }
      }
      double sum = 0;
      for (int j = 0; j < width; j++) {
        sum += Math.exp(z.get(row + j) - max);
      }
      if (labels != null) {
        double logit = z.get(row + labels[r]);
        lossSum += Math.log(sum) - (logit - max);
        if (argmax == labels[r]) {
          correct++;
        }
      }
      for (int j = 0; j < width; j++) {
        z.set(row + j, Math.exp(z.get(row + j) - max) / sum);
      }
    }
    return new BatchStats(batch, lossSum, correct);
  }

  private static void outputDelta(Vec probs, Vec delta, int[] labels, int batch, int width) {
    double scale = 1.0 / batch;
    for (int r = 0, i = 0; r < batch; r++) {
      for (int j = 0; j < width; j++, i++) {
        delta.set(i, (probs.get(i) - (labels[r] == j ? 1 : 0)) * scale);
      }
    }
  }

  private static void columnSums(Vec m, Vec out, int rows, int width) {
    for (int j = 0; j < width; j++) {
      out.set(j, 0);
    }
    for (int r = 0, i = 0; r < rows; r++) {
      for (int j = 0; j < width; j++, i++) {
        out.set(j, out.get(j) + m.get(i));
      }
    }
  }

  private static void reluBackward(Vec delta, Vec activation) {
    for (int i = 0; i < delta.length; i++) {
      if (activation.get(i) <= 0) {
        delta.set(i, 0);
      }
    }
  }

  @Override
  public String toString() {
    return "DenseNetwork" + Arrays.toString(sizes) + " " + dataType;
  }
}
