package io.streamlearn.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.streamlearn.contract.Prediction;
import java.time.Instant;
import java.util.Collections;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The demo's view of the predictions topic stays bounded whatever ids arrive (with --keep anyone
 * may send).
 */
class PredictionWatcherTest {
  private static Prediction prediction(String id, int digit, Integer label, long latencyMs) {
    return Prediction.newBuilder()
        .setImageId(id)
        .setDigit(digit)
        .setProbabilities(Collections.nCopies(10, 0.1f))
        .setModelId("mnist")
        .setModelVersion(3)
        .setSnapshotCreatedAt(Instant.EPOCH)
        .setEventTime(Instant.ofEpochMilli(1_000))
        .setScoredAt(Instant.ofEpochMilli(1_000 + latencyMs))
        .setLabel(label)
        .build();
  }

  @Test
  void tracksAtMostItsLimitOfDistinctIdsAndCountsTheRest() {
    try (PredictionWatcher watcher =
        new PredictionWatcher("localhost:1", "predictions", Map.of())) {
      int extra = 1_000;
      for (int i = 0; i < PredictionWatcher.MAX_TRACKED_IDS + extra; i++) {
        watcher.add(prediction("id-" + i, 1, 1, 5));
      }
      watcher.add(
          prediction(
              "id-0", 2, 1, 5)); // a tracked id is still updated: its newest prediction is wrong

      assertEquals(PredictionWatcher.MAX_TRACKED_IDS, watcher.images());
      assertEquals(extra, watcher.untracked());
      assertEquals(PredictionWatcher.MAX_TRACKED_IDS + extra + 1, watcher.records());
      assertEquals(1.0 - 1.0 / PredictionWatcher.MAX_TRACKED_IDS, watcher.accuracy(), 1e-12);
    }
  }

  @Test
  void latencyQuantilesComeFromTheNewestWindow() {
    try (PredictionWatcher watcher =
        new PredictionWatcher("localhost:1", "predictions", Map.of())) {
      for (int i = 0; i < PredictionWatcher.LATENCY_WINDOW; i++) {
        watcher.add(prediction("old-" + (i % 10), 1, null, 1_000));
      }
      for (int i = 0; i < PredictionWatcher.LATENCY_WINDOW; i++) {
        watcher.add(prediction("new-" + (i % 10), 1, null, 7));
      }
      assertEquals(
          7, watcher.latencyQuantile(0.99, Integer.MAX_VALUE), "only the newest window counts");
      watcher.add(prediction("newest", 1, null, 50));
      assertEquals(50, watcher.latencyQuantile(1.0, 2));
    }
  }
}
