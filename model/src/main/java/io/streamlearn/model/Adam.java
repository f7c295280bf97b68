package io.streamlearn.model;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Adam, as in Kingma and Ba, "Adam: A Method for Stochastic Optimization" (ICLR 2015), Algorithm 1,
 * textbook form:
 *
 * <pre>
 *   t = t + 1
 *   m = beta1 m + (1 - beta1) g
 *   v = beta2 v + (1 - beta2) g^2
 *   theta = theta - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + epsilon)
 * </pre>
 *
 * The moment estimates are flat heap arrays, one per parameter tensor; the update is one plain Java
 * pass over each.
 */
public final class Adam {
  /**
   * Adam's hyperparameters.
   *
   * @param learningRate the step size alpha (before any schedule)
   * @param beta1 decay of the first-moment estimate, in [0, 1)
   * @param beta2 decay of the second-moment estimate, in [0, 1)
   * @param epsilon added to the denominator for numerical stability, > 0
   */
  public record Settings(double learningRate, double beta1, double beta2, double epsilon) {
    public Settings {
      if (!(learningRate > 0)
          || !(beta1 >= 0 && beta1 < 1)
          || !(beta2 >= 0 && beta2 < 1)
          || !(epsilon > 0)) {
        throw new IllegalArgumentException("invalid Adam settings " + this);
      }
    }

    public static Settings defaults() {
      return new Settings(1e-3, 0.9, 0.999, 1e-8);
    }
  }

  private final Settings settings;
  private final boolean doublePrecision;
  // Moments live on the heap: the update runs over plain arrays, which the JIT vectorises;
  // parameters and gradients
  // are copied in and out of ND4J's memory in bulk (memcpy speed), several times faster than
  // element access.
  private final float[][] m32;
  private final float[][] v32;
  private final float[] p32;
  private final float[][] g32;
  private final double[][] m64;
  private final double[][] v64;
  private final double[] p64;
  private final double[][] g64;
  private long step;

  /** Zero moments shaped like {@code parameters}. */
  public Adam(Settings settings, INDArray[] parameters) {
    this.settings = settings;
    this.doublePrecision = parameters[0].dataType() == DataType.DOUBLE;
    int n = parameters.length;
    int largest = 0;
    for (INDArray p : parameters) {
      largest = Math.max(largest, Math.toIntExact(p.length()));
    }
    if (doublePrecision) {
      m64 = new double[n][];
      v64 = new double[n][];
      for (int k = 0; k < n; k++) {
        m64[k] = new double[Math.toIntExact(parameters[k].length())];
        v64[k] = new double[m64[k].length];
      }
      p64 = new double[largest];
      g64 = new double[n][];
      for (int k = 0; k < n; k++) {
        g64[k] = new double[m64[k].length];
      }
      m32 = v32 = g32 = null;
      p32 = null;
    } else {
      m32 = new float[n][];
      v32 = new float[n][];
      for (int k = 0; k < n; k++) {
        m32[k] = new float[Math.toIntExact(parameters[k].length())];
        v32[k] = new float[m32[k].length];
      }
      p32 = new float[largest];
      g32 = new float[n][];
      for (int k = 0; k < n; k++) {
        g32[k] = new float[m32[k].length];
      }
      m64 = v64 = g64 = null;
      p64 = null;
    }
  }

  public Settings settings() {
    return settings;
  }

  /** Steps taken so far (t). */
  public long step() {
    return step;
  }

  /**
   * Copies the moment estimates of float32 parameters into {@code first} and {@code second}, one
   * flat vector each in parameter order (a checkpoint); the step is {@link #step()}.
   */
  public void saveMoments(FloatVector first, FloatVector second) {
    requireFloat32();
    int at = 0;
    for (int k = 0; k < m32.length; k++) {
      first.write(at, FloatBuffer.wrap(m32[k]), m32[k].length);
      second.write(at, FloatBuffer.wrap(v32[k]), v32[k].length);
      at += m32[k].length;
    }
  }

  /** Restores what {@link #saveMoments} saved, and the step count it belongs to. */
  public void restore(long step, FloatVector first, FloatVector second) {
    requireFloat32();
    int at = 0;
    for (int k = 0; k < m32.length; k++) {
      first.read(at, FloatBuffer.wrap(m32[k]), m32[k].length);
      second.read(at, FloatBuffer.wrap(v32[k]), v32[k].length);
      at += m32[k].length;
    }
    this.step = step;
  }

  private void requireFloat32() {
    if (doublePrecision) {
      throw new IllegalStateException("Adam's state is saved for float32 parameters only");
    }
  }

  /** The first-moment estimates of float32 parameters (live arrays, for tests). */
  float[][] firstMoments() {
    return m32;
  }

  /** The moment estimates of float64 parameters (live arrays). */
  double[][] firstMoments64() {
    return m64;
  }

  double[][] secondMoments64() {
    return v64;
  }

  /**
   * One Adam step at the given learning rate (the schedule's value for this step), unless a
   * gradient is not finite: then nothing changes (not the parameters, the moments nor the step
   * count) and the result is false.
   */
  public boolean apply(INDArray[] parameters, INDArray[] gradients, double learningRate) {
    double sumOfSquares = 0;
    for (int k = 0; k < parameters.length; k++) {
      int n = Math.toIntExact(parameters[k].length());
      if (doublePrecision) {
        gradients[k].data().asNioDouble().get(0, g64[k], 0, n);
        sumOfSquares += sumOfSquares(g64[k], n);
      } else {
        gradients[k].data().asNioFloat().get(0, g32[k], 0, n);
        sumOfSquares += sumOfSquares(g32[k], n);
      }
    }
    if (!Double.isFinite(sumOfSquares)) {
      return false;
    }
    step++;
    double beta1 = settings.beta1();
    double beta2 = settings.beta2();
    double stepSize = learningRate / (1 - Math.pow(beta1, step)); // lr / bias correction of m
    double invSqrtCorrection2 =
        1 / Math.sqrt(1 - Math.pow(beta2, step)); // sqrt(v/c2) = sqrt(v) / sqrt(c2)
    for (int k = 0; k < parameters.length; k++) {
      int n = Math.toIntExact(parameters[k].length());
      if (doublePrecision) {
        DoubleBuffer p = parameters[k].data().asNioDouble();
        p.get(0, p64, 0, n);
        update64(
            p64,
            g64[k],
            m64[k],
            v64[k],
            n,
            beta1,
            beta2,
            stepSize,
            invSqrtCorrection2,
            settings.epsilon());
        p.put(0, p64, 0, n);
      } else {
        FloatBuffer p = parameters[k].data().asNioFloat();
        p.get(0, p32, 0, n);
        update32(
            p32,
            g32[k],
            m32[k],
            v32[k],
            n,
            (float) beta1,
            (float) beta2,
            (float) stepSize,
            (float) invSqrtCorrection2,
            (float) settings.epsilon());
        p.put(0, p32, 0, n);
      }
    }
    return true;
  }

  /**
   * Sum of squares with four accumulators (independent chains run in parallel); not finite if any
   * value is not.
   */
  private static double sumOfSquares(float[] x, int n) {
    double a = 0;
    double b = 0;
    double c = 0;
    double d = 0;
    int i = 0;
    for (; i + 3 < n; i += 4) {
      a += x[i] * x[i];
      b += x[i + 1] * x[i + 1];
      c += x[i + 2] * x[i + 2];
      d += x[i + 3] * x[i + 3];
    }
    for (; i < n; i++) {
      a += x[i] * x[i];
    }
    return a + b + c + d;
  }

  private static double sumOfSquares(double[] x, int n) {
    double sum = 0;
    for (int i = 0; i < n; i++) {
      sum += x[i] * x[i];
    }
    return sum;
  }

  private static void update32(
      float[] p,
      float[] g,
      float[] m,
      float[] v,
      int n,
      float beta1,
      float beta2,
      float stepSize,
      float invSqrtCorrection2,
      float epsilon) {
    float oneMinusBeta1 = 1 - beta1;
    float oneMinusBeta2 = 1 - beta2;
    for (int i = 0; i < n; i++) {
      float gi = g[i];
      float mi = beta1 * m[i] + oneMinusBeta1 * gi;
      float vi = beta2 * v[i] + oneMinusBeta2 * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] -= stepSize * mi / ((float) Math.sqrt(vi) * invSqrtCorrection2 + epsilon);
    }
  }

  private static void update64(
      double[] p,
      double[] g,
      double[] m,
      double[] v,
      int n,
      double beta1,
      double beta2,
      double stepSize,
      double invSqrtCorrection2,
      double epsilon) {
    for (int i = 0; i < n; i++) {
      double gi = g[i];
      double mi = beta1 * m[i] + (1 - beta1) * gi;
      double vi = beta2 * v[i] + (1 - beta2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] -= stepSize * mi / (Math.sqrt(vi) * invSqrtCorrection2 + epsilon);
    }
  }
}
