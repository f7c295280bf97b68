package io.streamlearn.scorer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class LiveAccuracyTest {
  @Test
  void isNanBeforeTheFirstLabelledEvent() {
    LiveAccuracy accuracy = new LiveAccuracy(5);
    assertTrue(Double.isNaN(accuracy.value()), "an empty window has no accuracy, not 0");
    assertEquals(0, accuracy.size());
  }

  @Test
  void averagesOverTheEventsSeenWhileTheWindowFills() {
    LiveAccuracy accuracy = new LiveAccuracy(5);
    accuracy.add(true);
    assertEquals(1.0, accuracy.value());
    accuracy.add(false);
    assertEquals(0.5, accuracy.value());
    accuracy.add(true);
    assertEquals(2 / 3.0, accuracy.value(), 1e-12);
    assertEquals(3, accuracy.size());
  }

  @Test
  void aFullWindowForgetsItsOldestEventFirst() {
    LiveAccuracy accuracy = new LiveAccuracy(3);
    accuracy.add(true);
    accuracy.add(true);
    accuracy.add(false);
    assertEquals(2 / 3.0, accuracy.value(), 1e-12);

    accuracy.add(false); // evicts the first hit: [hit, miss, miss]
    assertEquals(1 / 3.0, accuracy.value(), 1e-12);
    accuracy.add(true); // evicts the second hit: [miss, miss, hit]
    assertEquals(1 / 3.0, accuracy.value(), 1e-12);
    accuracy.add(true); // evicts a miss: [miss, hit, hit]
    assertEquals(2 / 3.0, accuracy.value(), 1e-12);
    accuracy.add(true); // [hit, hit, hit]
    assertEquals(1.0, accuracy.value());
    assertEquals(3, accuracy.size(), "the window never holds more than its size");
  }

  @Test
  void matchesTheAccuracyOfTheLastWindowEventsOverALongStream() {
    int window = 7;
    LiveAccuracy accuracy = new LiveAccuracy(window);
    List<Boolean> all = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      boolean hit = (i * 37 % 11) < 6;
      accuracy.add(hit);
      all.add(hit);
      List<Boolean> last = all.subList(Math.max(0, all.size() - window), all.size());
      double expected = last.stream().filter(h -> h).count() / (double) last.size();
      assertEquals(expected, accuracy.value(), 1e-12, "after event " + i);
      assertEquals(last.size(), accuracy.size());
    }
  }

  @Test
  void aWindowOfOneIsTheLastEvent() {
    LiveAccuracy accuracy = new LiveAccuracy(1);
    accuracy.add(true);
    assertEquals(1.0, accuracy.value());
    accuracy.add(false);
    assertEquals(0.0, accuracy.value());
    accuracy.add(true);
    assertEquals(1.0, accuracy.value());
  }

  @Test
  void countsEveryEventAddedFromManyThreads() throws Exception {
    LiveAccuracy accuracy = new LiveAccuracy(100_000);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        boolean hit = t % 2 == 0;
        done.add(
            pool.submit(
                () -> {
                  for (int i = 0; i < 10_000; i++) {
                    accuracy.add(hit);
                  }
                }));
      }
      for (Future<?> f : done) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals(40_000, accuracy.size());
    assertEquals(0.5, accuracy.value(), 1e-12);
  }
}
