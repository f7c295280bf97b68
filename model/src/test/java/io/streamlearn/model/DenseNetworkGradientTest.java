package io.streamlearn.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The backward pass against central finite differences of the loss, in float64 (float32 gives false
 * alarms).
 */
class DenseNetworkGradientTest {
  private static final double H = 1e-6;

  @Test
  void backwardPassMatchesFiniteDifferencesForEveryParameter() {
    int[] sizes = {7, 6, 5, 4};
    DenseNetwork network = DenseNetwork.initialized(sizes, DataType.DOUBLE, 3);
    int batch = 5;
    INDArray x = network.newInput(batch);
    SplittableRandom random = new SplittableRandom(11);
    Vec xs = Vec.of(x);
    for (int i = 0; i < xs.length; i++) {
      xs.set(i, random.nextDouble());
    }
    // Non-zero biases, so their gradients and the ReLU masks are exercised too.
    for (INDArray p : network.parameters()) {
      Vec v = Vec.of(p);
      if (p.rank() == 1) {
        for (int i = 0; i < v.length; i++) {
          v.set(i, 0.1 * (random.nextDouble() - 0.3));
        }
      }
    }
    int[] labels = {0, 3, 1, 2, 3};

    network.computeGradients(x, labels);
    INDArray[] parameters = network.parameters();
    INDArray[] gradients = network.gradients();
    double[][] analytic = new double[parameters.length][];
    for (int k = 0; k < parameters.length; k++) {
      analytic[k] = gradients[k].dup().data().asDouble();
    }

    int checked = 0;
    double worst = 0;
    for (int k = 0; k < parameters.length; k++) {
      Vec p = Vec.of(parameters[k]);
      for (int i = 0; i < p.length; i++) {
        double original = p.get(i);
        p.set(i, original + H);
        double plus = network.forward(x, labels).meanLoss();
        p.set(i, original - H);
        double minus = network.forward(x, labels).meanLoss();
        p.set(i, original);
        double numeric = (plus - minus) / (2 * H);
        double a = analytic[k][i];
        double relative = Math.abs(a - numeric) / Math.max(1e-7, Math.abs(a) + Math.abs(numeric));
        worst = Math.max(worst, relative);
        assertTrue(
            relative < 1e-5,
            "parameter tensor " + k + " element " + i + ": analytic " + a + ", numeric " + numeric);
        checked++;
      }
    }
    assertEquals(network.parameterCount(), checked);
    assertTrue(worst < 1e-5, "worst relative error " + worst);
  }

  @Test
  void forwardGivesProbabilitiesThatSumToOneAndTheLossOfTheLabels() {
    DenseNetwork network = DenseNetwork.initialized(new int[] {4, 3, 2}, DataType.DOUBLE, 1);
    INDArray x = network.newInput(2);
    x.assign(0.5);
    BatchStats stats = network.forward(x, new int[] {0, 1});
    INDArray probs = network.probabilities(2);
    double expectedLoss = -Math.log(probs.getDouble(0, 0)) - Math.log(probs.getDouble(1, 1));
    assertEquals(expectedLoss, stats.lossSum(), 1e-12);
    assertEquals(1.0, probs.getDouble(0, 0) + probs.getDouble(0, 1), 1e-12);
    assertEquals(2, stats.samples());
  }

  @Test
  void sameSeedGivesTheSameInitialWeights() {
    DenseNetwork a = DenseNetwork.initialized(new int[] {784, 100, 10}, DataType.FLOAT, 42);
    DenseNetwork b = DenseNetwork.initialized(new int[] {784, 100, 10}, DataType.FLOAT, 42);
    DenseNetwork c = DenseNetwork.initialized(new int[] {784, 100, 10}, DataType.FLOAT, 43);
    assertEquals(a.parameters()[0], b.parameters()[0]);
    assertTrue(!a.parameters()[0].equals(c.parameters()[0]));
    double std = a.parameters()[0].stdNumber().doubleValue();
    assertEquals(Math.sqrt(2.0 / 784), std, 0.002, "He initialisation");
  }
}
