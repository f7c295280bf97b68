package io.streamlearn.testkit;

import java.time.Duration;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The one way tests wait: for a condition, with a timeout and a message that says what did not
 * happen. Never a fixed sleep: a machine that is slow for a while makes a wait longer, not a test
 * red.
 */
public final class Await {
  private static final long POLL_MILLIS = 20;

  private Await() {}

  /**
   * A condition that may throw (a broker query, say); an exception counts as "not yet" until the
   * deadline.
   */
  @FunctionalInterface
  public interface Condition {
    boolean holds() throws Exception;
  }

  /**
   * Waits until {@code condition} holds, or fails with {@code "<what> did not happen within
   * <timeout> ms"} (and the last exception the condition threw, if any).
   */
  public static void until(Condition condition, Duration timeout, Supplier<String> what) {
    long deadline = System.nanoTime() + timeout.toNanos();
    Exception last = null;
    while (true) {
      try {
        if (condition.holds()) {
          return;
        }
        last = null;
      } catch (Exception e) {
        last = e;
      }
      if (System.nanoTime() > deadline) {
        AssertionError error =
            new AssertionError(
                what.get()
                    + " did not happen within "
                    + timeout.toMillis()
                    + " ms"
                    + (last == null ? "" : "; last error: " + last));
        if (last != null) {
          error.initCause(last);
        }
        throw error;
      }
      try {
        Thread.sleep(POLL_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted while waiting until " + what.get(), e);
      }
    }
  }

  /** As {@link #until(Condition, Duration, Supplier)} with a fixed message. */
  public static void until(Condition condition, Duration timeout, String what) {
    until(condition, timeout, () -> what);
  }

  /** A value that may throw to get (a topic read, a scrape); an exception counts as "not yet". */
  @FunctionalInterface
  public interface Probe<T> {
    T get() throws Exception;
  }

  /**
   * Polls {@code probe} until its value satisfies {@code done} and returns that value, or fails
   * with {@code "<what(last value)> did not happen within <timeout> ms"}; {@code what} is given
   * {@code null} when the probe never answered.
   */
  public static <T> T value(
      Probe<T> probe,
      Predicate<? super T> done,
      Duration timeout,
      Function<? super T, String> what) {
    Object[] last = {null};
    until(
        () -> {
          T value = probe.get();
          last[0] = value;
          return done.test(value);
        },
        timeout,
        () -> {
          @SuppressWarnings("unchecked")
          T value = (T) last[0];
          return what.apply(value);
        });
    @SuppressWarnings("unchecked")
    T value = (T) last[0];
    return value;
  }
}
