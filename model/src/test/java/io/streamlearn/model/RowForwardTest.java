package io.streamlearn.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

class RowForwardTest {
  private static final float SCALE = 1f / 255f;

  @ParameterizedTest(name = "hidden {0}")
  @ValueSource(strings = {"100", "64,32", "", "7"})
  void givesTheProbabilitiesOfTheGemmForwardPassRowByRow(String hidden) {
    String[] parts = hidden.isEmpty() ? new String[0] : hidden.split(",");
    int[] sizes = new int[parts.length + 2];
    sizes[0] = 784;
    for (int i = 0; i < parts.length; i++) {
      sizes[i + 1] = Integer.parseInt(parts[i]);
    }
    sizes[sizes.length - 1] = 10;
    DenseNetwork network = DenseNetwork.initialized(sizes, DataType.FLOAT, 11);
    // Non-zero biases, so a path that forgot them would show.
    for (int l = 0; l < network.layers(); l++) {
      INDArray b = network.parameters()[2 * l + 1];
      for (int j = 0; j < b.length(); j++) {
        b.putScalar(j, 0.05 * ((j % 5) - 2));
      }
    }
    RowForward rows = RowForward.of(network);
    int batch = 6;
    byte[] pixels = new byte[batch * 784 + 3];
    SplittableRandom random = new SplittableRandom(3);
    for (int i = 3; i < pixels.length; i++) {
      // Mostly zeros, as in MNIST, the rest anywhere in 0-255; the last row dense.
      pixels[i] = (byte) (i >= 3 + 5 * 784 || random.nextInt(5) == 0 ? random.nextInt(256) : 0);
    }
    INDArray x = network.newInput(batch);
    for (int r = 0; r < batch; r++) {
      DenseNetwork.setInputRow(x, r, pixels, 3 + r * 784, SCALE);
    }
    network.forward(x, null);
    float[] expected = network.probabilities(batch).data().asFloat();
    float[] actual = new float[batch * 10];
    RowForward.Scratch scratch = rows.newScratch();
    for (int r = 0; r < batch; r++) {
      rows.probabilities(pixels, 3 + r * 784, SCALE, actual, r * 10, scratch);
    }
    for (int i = 0; i < actual.length; i++) {
      assertEquals(expected[i], actual[i], 2e-6, "probability " + i);
    }
  }

  @org.junit.jupiter.api.Test
  void copiesTheWeightsSoLaterTrainingDoesNotChangeIt() {
    int[] sizes = {784, 20, 10};
    DenseNetwork network = DenseNetwork.initialized(sizes, DataType.FLOAT, 5);
    RowForward rows = RowForward.of(network);
    byte[] image = new byte[784];
    java.util.Arrays.fill(image, (byte) 200);
    float[] before = new float[10];
    rows.probabilities(image, 0, SCALE, before, 0, rows.newScratch());
    network.parameters()[0].addi(1.0);
    float[] after = new float[10];
    rows.probabilities(image, 0, SCALE, after, 0, rows.newScratch());
    org.junit.jupiter.api.Assertions.assertArrayEquals(before, after);
  }
}
