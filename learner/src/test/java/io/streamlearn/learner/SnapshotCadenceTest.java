package io.streamlearn.learner;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SnapshotCadenceTest {
  private final SnapshotCadence cadence = new SnapshotCadence(500, 1000);

  @Test
  void dueEveryThatManyBatches() {
    assertFalse(cadence.dueByBatches(499));
    assertTrue(cadence.dueByBatches(500));
    assertTrue(cadence.dueByBatches(501), "late (a held snapshot) is still due");
  }

  @Test
  void dueByTimeOnlyWhenSomethingTrainedSince() {
    assertFalse(cadence.dueByTime(0, 60_000), "nothing trained since: never, however long");
    assertFalse(cadence.dueByTime(3, 999));
    assertTrue(cadence.dueByTime(1, 1000));
  }

  @Test
  void refusesACadenceThatCouldNeverOrAlwaysFire() {
    assertThrows(IllegalArgumentException.class, () -> new SnapshotCadence(0, 1000));
    assertThrows(IllegalArgumentException.class, () -> new SnapshotCadence(500, 0));
  }
}
