package io.streamlearn.producer;

import java.io.PrintStream;
import java.util.function.LongSupplier;

/**
 * A one-line progress bar on a terminal, redrawn four times a second; nothing when not on a
 * terminal.
 */
final class Progress implements AutoCloseable {
  private static final int WIDTH = 30;
  private final Thread thread;
  private final PrintStream err;

  private Progress(Thread thread, PrintStream err) {
    this.thread = thread;
    this.err = err;
  }

  static Progress start(boolean enabled, long total, LongSupplier done, PrintStream err) {
    if (!enabled || System.console() == null || total <= 0) {
      return new Progress(null, err);
    }
    long start = System.nanoTime();
    Thread thread =
        new Thread(
            () -> {
              while (!Thread.currentThread().isInterrupted()) {
                draw(err, done.getAsLong(), total, start);
                try {
                  Thread.sleep(250);
                } catch (InterruptedException e) {
                  return;
                }
              }
            },
            "producer-progress");
    thread.setDaemon(true);
    thread.start();
    return new Progress(thread, err);
  }

  private static void draw(PrintStream err, long done, long total, long start) {
    double fraction = Math.min(1.0, done / (double) total);
    int filled = (int) (fraction * WIDTH);
    double seconds = (System.nanoTime() - start) / 1e9;
    err.printf(
        "\r[%s%s] %3.0f%% %d/%d records, %.0f/s ",
        "#".repeat(filled),
        " ".repeat(WIDTH - filled),
        fraction * 100,
        done,
        total,
        seconds > 0 ? done / seconds : 0);
    err.flush();
  }

  @Override
  public void close() {
    if (thread != null) {
      thread.interrupt();
      try {
        thread.join(1000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      err.print("\r" + " ".repeat(WIDTH + 60) + "\r");
      err.flush();
    }
  }
}
