package io.streamlearn.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class StandardizerTest {

  /** Rows whose features have means near 0, 1e4 and -3 and standard deviations 1e-3, 1e4, 5. */
  private static float[][] rows(int n, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    float[][] rows = new float[n][];
    for (int r = 0; r < n; r++) {
      rows[r] =
          new float[] {
            (float) (random.nextGaussian() * 1e-3),
            (float) (1e4 + random.nextGaussian() * 1e4),
            (float) (-3 + random.nextGaussian() * 5),
            7f // constant
          };
    }
    return rows;
  }

  @Test
  void equalsATwoPassComputationInDoubles() {
    float[][] rows = rows(5_000, 1);
    Standardizer welford = new Standardizer(4);
    for (float[] row : rows) {
      welford.add(row);
    }
    InputTransform.Standardize frozen = welford.freeze();

    for (int i = 0; i < 4; i++) {
      double sum = 0;
      for (float[] row : rows) {
        sum += row[i];
      }
      double mean = sum / rows.length;
      double squares = 0;
      for (float[] row : rows) {
        squares += (row[i] - mean) * (row[i] - mean);
      }
      double variance = squares / rows.length;
      assertEquals((float) mean, frozen.mean()[i], Math.ulp((float) mean) * 4 + 1e-9, "mean " + i);
      assertEquals(
          (float) variance, frozen.variance()[i], Math.ulp((float) variance) * 4, "variance " + i);
    }
    assertEquals(5_000, frozen.count());
    assertEquals(0f, frozen.variance()[3], "a constant feature has no variance");
  }

  @Test
  void standardizedFeaturesHaveMeanZeroAndVarianceOneAndAConstantOneIsOnlyCentred() {
    float[][] rows = rows(20_000, 2);
    Standardizer welford = new Standardizer(4);
    for (float[] row : rows) {
      welford.add(row);
    }
    InputTransform.Standardize t = welford.freeze();
    double[] sum = new double[4];
    double[] squares = new double[4];
    for (float[] row : rows) {
      float[] x = row.clone();
      t.apply(x, 4);
      for (int i = 0; i < 4; i++) {
        sum[i] += x[i];
        squares[i] += x[i] * (double) x[i];
      }
    }
    for (int i = 0; i < 3; i++) {
      assertEquals(0, sum[i] / rows.length, 1e-3, "mean " + i);
      assertEquals(1, squares[i] / rows.length, 1e-3, "variance " + i);
    }
    float[] constant = {0, 0, 0, 9f};
    t.apply(constant, 4);
    assertEquals(2f, constant[3], "x - mean, divided by 1 where the variance is 0");
  }

  @Test
  void beforeAnySampleItIsTheIdentity() {
    float[] x = {1.5f, -2f};
    new Standardizer(2).freeze().apply(x, 2);

    assertArrayEquals(new float[] {1.5f, -2f}, x);
  }

  @Test
  void savedAndRestoredStateContinuesIdentically() {
    float[][] rows = rows(300, 3);
    Standardizer straight = new Standardizer(4);
    Standardizer resumed = new Standardizer(4);
    for (int r = 0; r < 100; r++) {
      straight.add(rows[r]);
      resumed.add(rows[r]);
    }
    double[] means = new double[4];
    double[] m2s = new double[4];
    resumed.saveTo(means, m2s);
    Standardizer restored = new Standardizer(4);
    restored.restore(resumed.count(), means, m2s);
    for (int r = 100; r < 300; r++) {
      straight.add(rows[r]);
      restored.add(rows[r]);
    }

    assertEquals(straight.freeze(), restored.freeze());
    assertThrows(
        IllegalArgumentException.class, () -> restored.restore(3, new double[3], new double[3]));
  }

  @Test
  void refusesStatisticsThatAreNotFiniteOrNegative() {
    assertThrows(
        IllegalArgumentException.class,
        () -> new InputTransform.Standardize(new float[] {Float.NaN}, new float[] {1}, 1, 0));
    assertThrows(
        IllegalArgumentException.class,
        () -> new InputTransform.Standardize(new float[] {0}, new float[] {-1}, 1, 0));
    assertThrows(IllegalArgumentException.class, () -> new InputTransform.Scale(0f));
  }

  @Test
  void aVarianceBeyondFloatRangeIsClampedNotRefused() {
    Standardizer s = new Standardizer(1);
    s.add(new float[] {1e20f});
    s.add(new float[] {0f});

    assertEquals(Float.MAX_VALUE, s.freeze().variance()[0]);
  }
}
