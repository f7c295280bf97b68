package io.streamlearn.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class WeightAverageTest {
  @Test
  void biasCorrectedAverageEqualsTheWeightsAfterOneStepAndWeighsRecentStepsMore() {
    INDArray theta = Nd4j.createFromArray(2.0, -4.0);
    WeightAverage average = new WeightAverage(0.9, new INDArray[] {theta});
    average.update(new INDArray[] {theta});
    assertEquals(
        2.0, average.parameters()[0].getDouble(0), 1e-12, "one step: the weights themselves");
    assertEquals(-4.0, average.parameters()[0].getDouble(1), 1e-12);

    theta.assign(Nd4j.createFromArray(4.0, 0.0));
    average.update(new INDArray[] {theta});
    // raw = 0.9 * 0.1 * 2 + 0.1 * 4 = 0.58; corrected = 0.58 / (1 - 0.81) = 3.0526315789...
    assertEquals(0.58 / 0.19, average.parameters()[0].getDouble(0), 1e-12);
    // raw = 0.9 * 0.1 * -4 + 0 = -0.36; corrected = -0.36 / 0.19
    assertEquals(-0.36 / 0.19, average.parameters()[0].getDouble(1), 1e-12);
    assertEquals(2, average.steps());
  }

  @Test
  void restoredAverageContinuesExactlyAsTheOriginal() {
    INDArray theta = Nd4j.createFromArray(1.0f, 3.0f);
    WeightAverage original = new WeightAverage(0.99, new INDArray[] {theta});
    original.update(new INDArray[] {theta});
    original.update(new INDArray[] {theta.mul(2)});
    float[] saved = new float[2];
    original.saveTo(FloatVector.of(saved));
    WeightAverage copy = new WeightAverage(0.99, new INDArray[] {theta});
    copy.restore(original.steps(), FloatVector.of(saved));
    original.update(new INDArray[] {theta.mul(3)});
    copy.update(new INDArray[] {theta.mul(3)});
    assertEquals(original.parameters()[0], copy.parameters()[0]);
  }
}
