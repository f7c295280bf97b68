package io.streamlearn.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Two Adam steps against values worked out by hand from Kingma and Ba's Algorithm 1. */
class AdamTest {
  @Test
  void float32StepAgreesWithFloat64Step() {
    INDArray single = Nd4j.createFromArray(1.0f, -2.0f, 0.25f);
    INDArray doubled = Nd4j.createFromArray(1.0, -2.0, 0.25);
    Adam a32 = new Adam(Adam.Settings.defaults(), new INDArray[] {single});
    Adam a64 = new Adam(Adam.Settings.defaults(), new INDArray[] {doubled});
    for (int step = 0; step < 3; step++) {
      a32.apply(
          new INDArray[] {single}, new INDArray[] {Nd4j.createFromArray(0.5f, -0.1f, 0.0f)}, 1e-3);
      a64.apply(
          new INDArray[] {doubled}, new INDArray[] {Nd4j.createFromArray(0.5, -0.1, 0.0)}, 1e-3);
    }
    for (int i = 0; i < 3; i++) {
      assertEquals(doubled.getDouble(i), single.getDouble(i), 1e-6);
      assertEquals(a64.firstMoments64()[0][i], a32.firstMoments()[0][i], 1e-7);
    }
  }

  @Test
  void refusesAStepWithANonFiniteGradientAndChangesNothing() {
    INDArray theta = Nd4j.createFromArray(1.0f, -2.0f);
    Adam adam = new Adam(Adam.Settings.defaults(), new INDArray[] {theta});
    org.junit.jupiter.api.Assertions.assertTrue(
        adam.apply(
            new INDArray[] {theta}, new INDArray[] {Nd4j.createFromArray(0.5f, -0.1f)}, 1e-3));
    float[] before = theta.toFloatVector();
    float[] m = adam.firstMoments()[0].clone();
    org.junit.jupiter.api.Assertions.assertFalse(
        adam.apply(
            new INDArray[] {theta}, new INDArray[] {Nd4j.createFromArray(Float.NaN, 0.1f)}, 1e-3));
    org.junit.jupiter.api.Assertions.assertFalse(
        adam.apply(
            new INDArray[] {theta},
            new INDArray[] {Nd4j.createFromArray(0.1f, Float.POSITIVE_INFINITY)},
            1e-3));
    org.junit.jupiter.api.Assertions.assertArrayEquals(before, theta.toFloatVector());
    org.junit.jupiter.api.Assertions.assertArrayEquals(m, adam.firstMoments()[0]);
    assertEquals(1, adam.step());
  }

  @Test
  void twoStepsMatchHandComputedValues() {
    INDArray theta = Nd4j.createFromArray(1.0, -2.0);
    INDArray[] parameters = {theta};
    Adam adam = new Adam(new Adam.Settings(0.1, 0.9, 0.999, 1e-8), parameters);

    // Step 1, g = (0.5, -0.1): m = 0.1 g = (0.05, -0.01); v = 0.001 g^2 = (0.00025, 0.00001);
    // m/(1-0.9) = g, v/(1-0.999) = g^2, so theta -= 0.1 g / (|g| + 1e-8):
    // theta = (1 - 0.05/0.50000001, -2 + 0.01/0.10000001) = (0.900000002, -1.90000001).
    adam.apply(parameters, new INDArray[] {Nd4j.createFromArray(0.5, -0.1)}, 0.1);
    assertEquals(1, adam.step());
    assertEquals(0.05, adam.firstMoments64()[0][0], 1e-15);
    assertEquals(-0.01, adam.firstMoments64()[0][1], 1e-15);
    assertEquals(0.00025, adam.secondMoments64()[0][0], 1e-15);
    assertEquals(0.00001, adam.secondMoments64()[0][1], 1e-15);
    assertEquals(0.900000002, theta.getDouble(0), 1e-12);
    assertEquals(-1.90000001, theta.getDouble(1), 1e-12);

    // Step 2, g = (0.2, 0.3): m = 0.9 m + 0.1 g = (0.065, 0.021); v = 0.999 v + 0.001 g^2 =
    // (0.00028975, 0.00009999);
    // element 0: 0.1 * (0.065/0.19) / (sqrt(0.00028975/0.001999) + 1e-8) = 0.0898575181 ->
    // 0.8101424839;
    // element 1: 0.1 * (0.021/0.19) / (sqrt(0.00009999/0.001999) + 1e-8) = 0.0494189911 ->
    // -1.9494189911.
    adam.apply(parameters, new INDArray[] {Nd4j.createFromArray(0.2, 0.3)}, 0.1);
    assertEquals(0.065, adam.firstMoments64()[0][0], 1e-15);
    assertEquals(0.021, adam.firstMoments64()[0][1], 1e-15);
    assertEquals(0.00028975, adam.secondMoments64()[0][0], 1e-15);
    assertEquals(0.00009999, adam.secondMoments64()[0][1], 1e-15);
    assertEquals(0.8101424839, theta.getDouble(0), 1e-9);
    assertEquals(-1.9494189911, theta.getDouble(1), 1e-9);
  }

  @Test
  void restoredStateContinuesExactlyAsTheOriginal() {
    INDArray theta = Nd4j.createFromArray(1.0f, -2.0f, 0.5f);
    INDArray copyTheta = theta.dup();
    Adam original = new Adam(Adam.Settings.defaults(), new INDArray[] {theta});
    original.apply(
        new INDArray[] {theta}, new INDArray[] {Nd4j.createFromArray(0.5f, -0.1f, 0.2f)}, 1e-3);
    copyTheta.assign(theta);
    float[] m = new float[3];
    float[] v = new float[3];
    original.saveMoments(FloatVector.of(m), FloatVector.of(v));
    Adam copy = new Adam(Adam.Settings.defaults(), new INDArray[] {copyTheta});
    copy.restore(original.step(), FloatVector.of(m), FloatVector.of(v));
    INDArray[] gradient = {Nd4j.createFromArray(-0.3f, 0.4f, 0.1f)};
    original.apply(new INDArray[] {theta}, gradient, 1e-3);
    copy.apply(new INDArray[] {copyTheta}, gradient, 1e-3);
    assertEquals(2, copy.step());
    org.junit.jupiter.api.Assertions.assertArrayEquals(
        theta.toFloatVector(), copyTheta.toFloatVector());
  }
}
