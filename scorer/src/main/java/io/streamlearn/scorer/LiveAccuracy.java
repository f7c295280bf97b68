package io.streamlearn.scorer;

/**
 * Accuracy over the last {@code window} scored events that carried a label: a ring of hits.
 * Thread-safe; NaN until the first labelled event.
 */
final class LiveAccuracy {
  private final boolean[] hits;
  private int next;
  private int filled;
  private int correct;

  LiveAccuracy(int window) {
    hits = new boolean[window];
  }

  synchronized void add(boolean hit) {
    if (filled == hits.length) {
      if (hits[next]) {
        correct--;
      }
    } else {
      filled++;
    }
    hits[next] = hit;
    if (hit) {
      correct++;
    }
    next = (next + 1) % hits.length;
  }

  synchronized double value() {
    return filled == 0 ? Double.NaN : correct / (double) filled;
  }

  synchronized int size() {
    return filled;
  }
}
