package io.streamlearn.scorer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.contract.WeightsKind;
import io.streamlearn.model.DenseNetwork;
import io.streamlearn.model.InputTransform;
import io.streamlearn.model.ModelSpec;
import io.streamlearn.model.Snapshots;
import java.time.Instant;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

class ClassifierTest {
  private static final int[] SIZES = {784, 100, 10};
  private static final int PIXELS = 784;
  private static final int CLASSES = 10;

  /** Bytes before each row in the test's event buffer, so row offsets are not multiples of 784. */
  private static final int HEADER = 13;

  private static final float TOLERANCE = 1e-6f;

  private static final DenseNetwork FIRST = DenseNetwork.initialized(SIZES, DataType.FLOAT, 11);
  private static final DenseNetwork SECOND = DenseNetwork.initialized(SIZES, DataType.FLOAT, 12);

  @Test
  void scoresAnyNumberOfRowsAsOneForwardPassOverThemWould() {
    ServingModel model = serving(FIRST, 1);
    Classifier classifier = new Classifier();
    // Largest first: later, smaller calls reuse padded input arrays that still hold rows of earlier
    // calls.
    for (int count : new int[] {513, 300, 257, 256, 255, 129, 3, 2, 1}) {
      Batch batch = new Batch(count, count);

      float[] probabilities = new float[count * CLASSES];
      classifier.classify(model, batch, count, probabilities);

      float[] expected = forward(FIRST, batch, count, Snapshots.INPUT_SCALE);
      assertClose(expected, probabilities, count + " rows");
      assertRowsAreDistributions(probabilities, count);
    }
  }

  @Test
  void writesOnlyTheRowsAskedFor() {
    Classifier classifier = new Classifier();
    int count = 5;
    float[] probabilities = new float[(count + 1) * CLASSES];
    Arrays.fill(probabilities, -7f);

    classifier.classify(serving(FIRST, 1), new Batch(count, 1), count, probabilities);

    for (int i = count * CLASSES; i < probabilities.length; i++) {
      assertEquals(
          -7f,
          probabilities[i],
          "value " + i + " lies beyond the " + count + " rows and was overwritten");
    }
  }

  @Test
  void matchesAForwardPassWrittenOutInPlainJava() {
    int count = 3;
    Batch batch = new Batch(count, 21);
    float[] probabilities = new float[count * CLASSES];

    new Classifier().classify(serving(FIRST, 1), batch, count, probabilities);

    float[][] w0 = FIRST.parameters()[0].toFloatMatrix();
    float[] b0 = FIRST.parameters()[1].toFloatVector();
    float[][] w1 = FIRST.parameters()[2].toFloatMatrix();
    float[] b1 = FIRST.parameters()[3].toFloatVector();
    for (int r = 0; r < count; r++) {
      double[] hidden = new double[100];
      for (int j = 0; j < 100; j++) {
        double z = b0[j];
        for (int i = 0; i < PIXELS; i++) {
          z += (batch.bytes(r)[batch.offset(r) + i] & 0xff) / 255.0 * w0[i][j];
        }
        hidden[j] = Math.max(0, z);
      }
      double[] logits = new double[CLASSES];
      double max = Double.NEGATIVE_INFINITY;
      for (int k = 0; k < CLASSES; k++) {
        logits[k] = b1[k];
        for (int j = 0; j < 100; j++) {
          logits[k] += hidden[j] * w1[j][k];
        }
        max = Math.max(max, logits[k]);
      }
      double sum = 0;
      for (int k = 0; k < CLASSES; k++) {
        sum += Math.exp(logits[k] - max);
      }
      for (int k = 0; k < CLASSES; k++) {
        assertEquals(
            Math.exp(logits[k] - max) / sum,
            probabilities[r * CLASSES + k],
            1e-5,
            "row " + r + " class " + k);
      }
    }
  }

  @Test
  void aModelSwapBetweenCallsScoresWithTheNewWeights() {
    Classifier classifier = new Classifier();
    int count = 40;
    Batch batch = new Batch(count, 31);
    float[] first = new float[count * CLASSES];
    float[] second = new float[count * CLASSES];
    float[] again = new float[count * CLASSES];

    classifier.classify(serving(FIRST, 1), batch, count, first);
    classifier.classify(serving(SECOND, 2), batch, count, second);
    classifier.classify(serving(FIRST, 3), batch, count, again);

    assertClose(forward(FIRST, batch, count, Snapshots.INPUT_SCALE), first, "v1");
    assertClose(forward(SECOND, batch, count, Snapshots.INPUT_SCALE), second, "v2 after v1");
    assertClose(
        forward(FIRST, batch, count, Snapshots.INPUT_SCALE), again, "v3 (v1's weights) after v2");
    assertTrue(
        maxDifference(first, second) > 1e-3,
        "the two models should disagree; the test would prove nothing");
  }

  @Test
  void scalesPixelsByTheSnapshotsInputScale() {
    ModelSnapshot snapshot = snapshot(FIRST, 1);
    float scale = 0.5f / 255f;
    snapshot.setInputScale(scale);
    ServingModel model =
        ServingModel.of(snapshot, Snapshots.toNetwork(snapshot, SIZES), Instant.EPOCH);
    int count = 4;
    Batch batch = new Batch(count, 41);
    float[] probabilities = new float[count * CLASSES];

    new Classifier().classify(model, batch, count, probabilities);

    assertClose(forward(FIRST, batch, count, scale), probabilities, "half-scale inputs");
    assertTrue(
        maxDifference(forward(FIRST, batch, count, Snapshots.INPUT_SCALE), probabilities) > 1e-4,
        "scaling made no difference; the test would prove nothing");
  }

  @Test
  void argmaxIsTheIndexOfTheLargestValueFromTheOffset() {
    float[] values = {0.9f, 0.0f, 0.1f, 0.2f, 0.6f, 0.1f, 0.0f};
    assertEquals(0, Classifier.argmax(values, 0, 3));
    assertEquals(
        2,
        Classifier.argmax(values, 2, 3),
        "0.1, 0.2, 0.6 from offset 2; the 0.9 before is not a class");
    assertEquals(3, Classifier.argmax(values, 1, 4));
    assertEquals(
        0, Classifier.argmax(new float[] {0.5f, 0.5f}, 0, 2), "a tie goes to the smaller digit");
  }

  @Test
  void argmaxAgreesWithTheMostProbableDigitOfEachScoredRow() {
    int count = 64;
    Batch batch = new Batch(count, 51);
    float[] probabilities = new float[count * CLASSES];
    new Classifier().classify(serving(SECOND, 1), batch, count, probabilities);
    for (int r = 0; r < count; r++) {
      int digit = Classifier.argmax(probabilities, r * CLASSES, CLASSES);
      for (int k = 0; k < CLASSES; k++) {
        assertTrue(
            probabilities[r * CLASSES + k] <= probabilities[r * CLASSES + digit],
            "row " + r + ": class " + k + " beats the argmax " + digit);
      }
    }
  }

  /**
   * One classifier serves an MNIST model, then a feature model of another width (a new lineage),
   * then MNIST again, with batches large enough for the GEMM path each time: its input arrays
   * follow the model's width, and feature rows go through the model's standardization.
   */
  @Test
  void aClassifierFollowsAModelOfAnotherWidthAndKind() {
    int count = 100;
    Classifier classifier = new Classifier();
    Batch pixels = new Batch(count, 61);
    float[] mnist = new float[count * CLASSES];
    classifier.classify(serving(FIRST, 1), pixels, count, mnist);

    DenseNetwork tabular = DenseNetwork.initialized(new int[] {3, 6, 2}, DataType.FLOAT, 9);
    InputTransform.Standardize stats =
        new InputTransform.Standardize(
            new float[] {10f, -5f, 0f}, new float[] {4f, 0f, 9f}, 50, 1e-12f);
    ModelSnapshot snapshot =
        Snapshots.build(
            new Snapshots.Header(
                "mnist", 1, Instant.EPOCH, "other", WeightsKind.RAW, 0, 0, null, null),
            tabular.sizes(),
            tabular.parameters(),
            new ModelSpec(3, 2, java.util.List.of(), java.util.List.of(), null, true),
            stats);
    ServingModel features =
        ServingModel.of(snapshot, Snapshots.toNetwork(snapshot, null), Instant.EPOCH);
    float[][] rows = new float[count][];
    SplittableRandom random = new SplittableRandom(62);
    for (int r = 0; r < count; r++) {
      rows[r] = new float[] {(float) random.nextGaussian(), 3f, (float) random.nextGaussian()};
    }
    Classifier.Rows featureRows =
        new Classifier.Rows() {
          @Override
          public byte[] bytes(int row) {
            return null;
          }

          @Override
          public int offset(int row) {
            return 0;
          }

          @Override
          public void copy(int row, float[] into) {
            System.arraycopy(rows[row], 0, into, 0, 3);
          }
        };
    float[] probabilities = new float[count * 2];
    classifier.classify(features, featureRows, count, probabilities);
    float[] few = new float[2];
    classifier.classify(features, featureRows, 1, few); // row by row

    INDArray x = tabular.newInput(count);
    for (int r = 0; r < count; r++) {
      DenseNetwork.setInputRow(x, r, rows[r].clone(), stats);
    }
    tabular.forward(x, null);
    float[] expected = tabular.probabilities(count).dup().data().asFloat();
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], probabilities[i], TOLERANCE, "feature rows, GEMM path, value " + i);
    }
    assertEquals(expected[0], few[0], TOLERANCE, "one feature row, row by row");
    assertEquals(expected[1], few[1], TOLERANCE, "one feature row, row by row");

    float[] again = new float[count * CLASSES];
    classifier.classify(serving(FIRST, 2), pixels, count, again);
    assertClose(mnist, again, "MNIST again after the feature model");
  }

  // --- helpers

  /** Rows of random pixels, each after a header of {@link #HEADER} bytes in one shared buffer. */
  private static final class Batch implements Classifier.Rows {
    private final byte[] buffer;

    Batch(int rows, long seed) {
      buffer = new byte[rows * (HEADER + PIXELS)];
      new SplittableRandom(seed).nextBytes(buffer);
    }

    @Override
    public byte[] bytes(int row) {
      return buffer;
    }

    @Override
    public int offset(int row) {
      return row * (HEADER + PIXELS) + HEADER;
    }
  }

  private static ModelSnapshot snapshot(DenseNetwork network, long version) {
    return Snapshots.build(
        new Snapshots.Header(
            "mnist", version, Instant.EPOCH, "run", WeightsKind.RAW, 0, 0, null, null),
        network.sizes(),
        network.parameters());
  }

  /** Served as the scorer serves it: through the snapshot's bytes into a network of its own. */
  private static ServingModel serving(DenseNetwork network, long version) {
    ModelSnapshot snapshot = snapshot(network, version);
    return ServingModel.of(snapshot, Snapshots.toNetwork(snapshot, SIZES), Instant.EPOCH);
  }

  /** One DenseNetwork.forward over all rows at once (no chunks, no padding). */
  private static float[] forward(
      DenseNetwork network, Classifier.Rows rows, int count, float scale) {
    INDArray x = network.newInput(count);
    for (int r = 0; r < count; r++) {
      DenseNetwork.setInputRow(x, r, rows.bytes(r), rows.offset(r), scale);
    }
    network.forward(x, null);
    return network.probabilities(count).dup().data().asFloat();
  }

  private static void assertClose(float[] expected, float[] actual, String what) {
    assertEquals(expected.length, actual.length, what);
    for (int i = 0; i < expected.length; i++) {
      int row = i / CLASSES;
      int k = i % CLASSES;
      assertEquals(expected[i], actual[i], TOLERANCE, what + ": row " + row + " class " + k);
    }
    for (int r = 0; r < expected.length / CLASSES; r++) {
      assertEquals(
          Classifier.argmax(expected, r * CLASSES, CLASSES),
          Classifier.argmax(actual, r * CLASSES, CLASSES),
          what + ": digit of row " + r);
    }
  }

  private static void assertRowsAreDistributions(float[] probabilities, int count) {
    for (int r = 0; r < count; r++) {
      double sum = 0;
      for (int k = 0; k < CLASSES; k++) {
        float p = probabilities[r * CLASSES + k];
        assertTrue(p >= 0 && p <= 1, "row " + r + " class " + k + " is " + p);
        sum += p;
      }
      assertEquals(1.0, sum, 1e-5, "row " + r + " sums to " + sum);
    }
  }

  private static double maxDifference(float[] a, float[] b) {
    double max = 0;
    for (int i = 0; i < a.length; i++) {
      max = Math.max(max, Math.abs(a[i] - b[i]));
    }
    return max;
  }
}
