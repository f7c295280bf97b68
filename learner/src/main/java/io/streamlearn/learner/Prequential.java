package io.streamlearn.learner;

import io.streamlearn.model.BatchStats;
import java.nio.ByteBuffer;

/**
 * Prequential (test-then-train) figures: every batch is scored by the forward pass that precedes
 * its update, so each sample is tested on a model that has not yet seen it (Dawid 1984; Gama et al.
 * 2013, "On evaluating stream learning algorithms"). Keeps cumulative totals and a rolling window
 * over the last batches that cover the window's samples.
 */
final class Prequential {
  private final int[] samples;
  private final int[] correct;
  private final double[] loss;
  private int next;
  private int filled;
  private long totalSamples;
  private long totalCorrect;
  private double totalLoss;

  Prequential(int windowSamples, int batchSize) {
    int capacity = Math.max(1, (windowSamples + batchSize - 1) / batchSize);
    samples = new int[capacity];
    correct = new int[capacity];
    loss = new double[capacity];
  }

  void record(BatchStats stats) {
    samples[next] = stats.samples();
    correct[next] = stats.correct();
    loss[next] = stats.lossSum();
    next = (next + 1) % samples.length;
    filled = Math.min(filled + 1, samples.length);
    totalSamples += stats.samples();
    totalCorrect += stats.correct();
    totalLoss += stats.lossSum();
  }

  /** Rolling accuracy, or NaN before the first batch. */
  double accuracy() {
    long n = 0;
    long c = 0;
    for (int i = 0; i < filled; i++) {
      n += samples[i];
      c += correct[i];
    }
    return n == 0 ? Double.NaN : c / (double) n;
  }

  /** Rolling mean cross-entropy, or NaN before the first batch. */
  double loss() {
    long n = 0;
    double l = 0;
    for (int i = 0; i < filled; i++) {
      n += samples[i];
      l += loss[i];
    }
    return n == 0 ? Double.NaN : l / n;
  }

  double cumulativeAccuracy() {
    return totalSamples == 0 ? Double.NaN : totalCorrect / (double) totalSamples;
  }

  double cumulativeLoss() {
    return totalSamples == 0 ? Double.NaN : totalLoss / totalSamples;
  }

  int encodedSize() {
    return 4 * 3 + 8 * 3 + samples.length * (4 + 4 + 8);
  }

  void writeTo(ByteBuffer out) {
    out.putInt(samples.length).putInt(next).putInt(filled);
    out.putLong(totalSamples).putLong(totalCorrect).putDouble(totalLoss);
    for (int i = 0; i < samples.length; i++) {
      out.putInt(samples[i]).putInt(correct[i]).putDouble(loss[i]);
    }
  }

  /**
   * Reads what {@link #writeTo} wrote; a window of another size restarts the rolling part, keeping
   * totals.
   */
  void readFrom(ByteBuffer in) {
    int capacity = in.getInt();
    int savedNext = in.getInt();
    int savedFilled = in.getInt();
    totalSamples = in.getLong();
    totalCorrect = in.getLong();
    totalLoss = in.getDouble();
    boolean sameWindow = capacity == samples.length;
    for (int i = 0; i < capacity; i++) {
      int s = in.getInt();
      int c = in.getInt();
      double l = in.getDouble();
      if (sameWindow) {
        samples[i] = s;
        correct[i] = c;
        loss[i] = l;
      }
    }
    next = sameWindow ? savedNext : 0;
    filled = sameWindow ? savedFilled : 0;
  }
}
