package io.streamlearn.learner;

/**
 * When the trainer publishes a snapshot: every {@code everyBatches} trained batches, or once {@code
 * intervalMs} have passed since the last one, whichever comes first, and never when no batch was
 * trained since. A pure policy: the trainer asks, with its counts and clock.
 *
 * @param everyBatches batches between snapshots ({@code snapshot-every})
 * @param intervalMs milliseconds between snapshots while training ({@code snapshot-interval})
 */
record SnapshotCadence(int everyBatches, long intervalMs) {
  SnapshotCadence {
    if (everyBatches < 1 || intervalMs < 1) {
      throw new IllegalArgumentException(
          "snapshot cadence needs positive counts: "
              + everyBatches
              + " batches, "
              + intervalMs
              + " ms");
    }
  }

  static SnapshotCadence of(LearnerSettings.Config config) {
    return new SnapshotCadence(config.snapshotEvery(), config.snapshotInterval().toMillis());
  }

  /** Due by count, {@code batchesSinceLast} batches after the last snapshot. */
  boolean dueByBatches(long batchesSinceLast) {
    return batchesSinceLast >= everyBatches;
  }

  /** Due by time: something trained since the last snapshot, and the interval has passed. */
  boolean dueByTime(long batchesSinceLast, long millisSinceLast) {
    return batchesSinceLast > 0 && millisSinceLast >= intervalMs;
  }
}
