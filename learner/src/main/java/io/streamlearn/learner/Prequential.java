package io.streamlearn.learner;

import io.streamlearn.learner.avro.PrequentialWindow;
import io.streamlearn.model.BatchStats;
import java.util.ArrayList;
import java.util.List;

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

  /** The figures as the checkpoint stores them. */
  PrequentialWindow toRecord() {
    List<Integer> s = new ArrayList<>(samples.length);
    List<Integer> c = new ArrayList<>(samples.length);
    List<Double> l = new ArrayList<>(samples.length);
    for (int i = 0; i < samples.length; i++) {
      s.add(samples[i]);
      c.add(correct[i]);
      l.add(loss[i]);
    }
    return new PrequentialWindow(totalSamples, totalCorrect, totalLoss, next, filled, s, c, l);
  }

  /**
   * Restores what {@link #toRecord} saved; a window of another size (or one the record does not
   * describe consistently) restarts the rolling part, keeping the totals.
   */
  void restore(PrequentialWindow saved) {
    totalSamples = saved.getTotalSamples();
    totalCorrect = saved.getTotalCorrect();
    totalLoss = saved.getTotalLoss();
    int capacity = samples.length;
    boolean sameWindow =
        saved.getSamples().size() == capacity
            && saved.getCorrect().size() == capacity
            && saved.getLoss().size() == capacity
            && saved.getNext() >= 0
            && saved.getNext() < capacity
            && saved.getFilled() >= 0
            && saved.getFilled() <= capacity;
    if (sameWindow) {
      for (int i = 0; i < capacity; i++) {
        samples[i] = saved.getSamples().get(i);
        correct[i] = saved.getCorrect().get(i);
        loss[i] = saved.getLoss().get(i);
      }
    }
    next = sameWindow ? saved.getNext() : 0;
    filled = sameWindow ? saved.getFilled() : 0;
  }
}
