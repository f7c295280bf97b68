package io.streamlearn.learner;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class SampleRingTest {
  private static final int SAMPLE = 3;

  private static byte[] sample(int n) {
    return new byte[] {(byte) n, (byte) (n + 1), (byte) (n + 2)};
  }

  private static byte[] slot(SampleRing ring, int ahead) {
    int at = ring.offset(ring.index(ahead));
    return Arrays.copyOfRange(ring.bytes(), at, at + SAMPLE);
  }

  @Test
  void keepsTheOldestFirstAcrossTheWrap() {
    SampleRing ring = new SampleRing(4, SAMPLE);
    for (int i = 0; i < 4; i++) {
      ring.add(sample(10 * i));
    }
    ring.removeOldest(3);
    ring.add(sample(40));
    ring.add(sample(50)); // wraps to slots 0 and 1
    assertEquals(3, ring.count());
    assertArrayEquals(sample(30), slot(ring, 0));
    assertArrayEquals(sample(40), slot(ring, 1));
    assertArrayEquals(sample(50), slot(ring, 2));
    assertEquals(1, ring.index(2), "the newest sits in slot 1");
  }

  @Test
  void refusesASampleWhenFull() {
    SampleRing ring = new SampleRing(2, SAMPLE);
    ring.add(sample(1));
    ring.add(sample(2));
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> ring.add(sample(3)));
    assertTrue(e.getMessage().contains("2 wait already"), e.getMessage());
  }

  @Test
  void restoresAStoredRingOldestFirstFromSlotZero() {
    SampleRing stored = new SampleRing(3, SAMPLE);
    stored.add(sample(1));
    stored.add(sample(2));
    stored.add(sample(3));
    stored.removeOldest(2);
    stored.add(sample(4)); // stored holds 3, 4 from slot 2
    SampleRing restored = new SampleRing(5, SAMPLE);
    restored.restore(stored.bytes().clone(), false, "app");
    assertEquals(2, restored.count());
    assertEquals(0, restored.index(0));
    assertArrayEquals(sample(3), slot(restored, 0));
    assertArrayEquals(sample(4), slot(restored, 1));
  }

  @Test
  void refusesAStoredRingThatDoesNotFitOrIsMalformed() {
    SampleRing big = new SampleRing(3, SAMPLE);
    for (int i = 0; i < 3; i++) {
      big.add(sample(i));
    }
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> new SampleRing(2, SAMPLE).restore(big.bytes(), false, "app-7"));
    assertTrue(e.getMessage().contains("app-7"), e.getMessage());
    assertThrows(
        IllegalStateException.class,
        () -> new SampleRing(2, SAMPLE).restore(new byte[3], false, "a"));
  }
}
