package io.streamlearn.core;

import java.util.SplittableRandom;

/**
 * The one shuffle: Fisher-Yates (Knuth, TAOCP vol. 2, Algorithm P) over an array of row indices,
 * drawing from a caller's seeded stream so a run is repeatable and each epoch differs.
 */
public final class Shuffle {
  private Shuffle() {}

  /** Shuffles {@code order} in place. */
  public static void inPlace(int[] order, SplittableRandom random) {
    for (int i = order.length - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
  }

  /** A new random permutation of {@code 0 .. n-1}. */
  public static int[] permutation(int n, SplittableRandom random) {
    int[] order = identity(n);
    inPlace(order, random);
    return order;
  }

  /** {@code 0 .. n-1} in order. */
  public static int[] identity(int n) {
    int[] order = new int[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    return order;
  }
}
