package io.streamlearn.learner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamlearn.model.BatchStats;
import org.junit.jupiter.api.Test;

class PrequentialTest {
  @Test
  void figuresAreNaNBeforeTheFirstBatch() {
    Prequential p = new Prequential(100, 4);
    assertTrue(Double.isNaN(p.accuracy()));
    assertTrue(Double.isNaN(p.loss()));
    assertTrue(Double.isNaN(p.cumulativeAccuracy()));
    assertTrue(Double.isNaN(p.cumulativeLoss()));
  }

  @Test
  void rollingFiguresCoverTheLastBatchesThatHoldTheWindowAndTotalsCoverAll() {
    // Window of 10 samples in batches of 4: the last ceil(10 / 4) = 3 batches.
    Prequential p = new Prequential(10, 4);
    p.record(new BatchStats(4, 8.0, 0));
    p.record(new BatchStats(4, 4.0, 1));
    assertEquals(1 / 8.0, p.accuracy());
    assertEquals(12.0 / 8, p.loss());
    p.record(new BatchStats(4, 2.0, 2));
    p.record(new BatchStats(2, 1.0, 2)); // pushes the first batch out
    assertEquals(5 / 10.0, p.accuracy());
    assertEquals(7.0 / 10, p.loss());
    assertEquals(5 / 14.0, p.cumulativeAccuracy());
    assertEquals(15.0 / 14, p.cumulativeLoss());
  }

  @Test
  void windowSmallerThanABatchKeepsTheLastBatch() {
    Prequential p = new Prequential(1, 4);
    p.record(new BatchStats(4, 4.0, 4));
    p.record(new BatchStats(4, 2.0, 1));
    assertEquals(1 / 4.0, p.accuracy());
    assertEquals(0.5, p.loss());
    assertEquals(5 / 8.0, p.cumulativeAccuracy());
  }

  @Test
  void writeThenReadRestoresEveryFigureAndTheWindowPosition() {
    Prequential p = new Prequential(10, 4);
    p.record(new BatchStats(4, 8.0, 0));
    p.record(new BatchStats(4, 4.0, 1));
    p.record(new BatchStats(4, 2.0, 2));
    p.record(new BatchStats(3, 1.5, 3));
    Prequential q = new Prequential(10, 4);
    q.restore(p.toRecord());
    assertEquals(p.accuracy(), q.accuracy());
    assertEquals(p.loss(), q.loss());
    assertEquals(p.cumulativeAccuracy(), q.cumulativeAccuracy());
    assertEquals(p.cumulativeLoss(), q.cumulativeLoss());
    // The restored window goes on where the saved one stopped: the next batch replaces the oldest.
    p.record(new BatchStats(4, 0.5, 4));
    q.record(new BatchStats(4, 0.5, 4));
    assertEquals(p.accuracy(), q.accuracy());
    assertEquals(9 / 11.0, q.accuracy());
    assertEquals(p.loss(), q.loss());
  }

  @Test
  void readingIntoAnotherWindowSizeKeepsTotalsAndRestartsTheRollingFigures() {
    Prequential p = new Prequential(10, 4);
    p.record(new BatchStats(4, 8.0, 1));
    p.record(new BatchStats(4, 4.0, 3));
    Prequential q = new Prequential(100, 4);
    q.restore(p.toRecord());
    assertTrue(Double.isNaN(q.accuracy()));
    assertTrue(Double.isNaN(q.loss()));
    assertEquals(4 / 8.0, q.cumulativeAccuracy());
    assertEquals(12.0 / 8, q.cumulativeLoss());
    q.record(new BatchStats(2, 1.0, 2));
    assertEquals(1.0, q.accuracy());
    assertEquals(6 / 10.0, q.cumulativeAccuracy());
  }
}
