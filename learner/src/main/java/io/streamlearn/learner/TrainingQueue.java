package io.streamlearn.learner;

import java.util.ArrayDeque;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Background training: full batches train one after the other on a thread of their own, up to
 * {@code depth} queued, while the stream thread stores the samples behind them. Every {@code
 * captureEvery}th batch copies its result into a free state image ({@link TrainingState#capture}),
 * and batches are taken (counted, then the state after them put) only up to the newest captured
 * one: until taken, a batch's samples stay in the store as waiting. With {@code depth} 0 every
 * batch trains in line, on the caller's thread.
 */
final class TrainingQueue implements AutoCloseable {
  /** A training step and its compute time. */
  record Timed(TrainingState.Trained trained, long nanos) {}

  /** What the stream thread does with each batch taken, oldest first. */
  interface Taker {
    void take(int count, Timed timed);
  }

  /**
   * A batch of {@code count} samples submitted as training step {@code seq}, and whether it
   * captures its result.
   */
  private record Queued(long seq, int count, boolean captures, Future<Timed> result) {}

  private final TrainingState state;
  private final int depth;
  private final int captureEvery;
  private final ExecutorService thread;
  private final ArrayDeque<Queued> queue = new ArrayDeque<>();
  private int queuedSamples;
  private long nextSeq = 1;

  /**
   * @param depth most batches queued or training at once; 0 trains every batch in line
   * @param captureEvery every this many queued batches, one captures its result
   */
  TrainingQueue(TrainingState state, int depth, int captureEvery, String threadName) {
    this.state = state;
    this.depth = depth;
    // A full queue always holds a capturing batch.
    this.captureEvery = Math.max(1, Math.min(captureEvery, depth));
    this.thread =
        depth == 0
            ? null
            : Executors.newSingleThreadExecutor(
                r -> {
                  Thread t = new Thread(r, threadName);
                  t.setDaemon(true);
                  return t;
                });
  }

  /** Whether batches can train in the background at all. */
  boolean background() {
    return thread != null;
  }

  /** Batches queued or training, not taken yet. */
  int size() {
    return queue.size();
  }

  boolean full() {
    return queue.size() == depth;
  }

  /** Waiting samples that belong to queued batches. */
  int queuedSamples() {
    return queuedSamples;
  }

  /** Queues the next {@code count} waiting samples behind the queued ones (the queue not full). */
  void submit(int count) {
    long seq = nextSeq++;
    boolean captures = seq % captureEvery == 0;
    int first = state.ringIndex(queuedSamples);
    queue.add(
        new Queued(seq, count, captures, thread.submit(() -> train(first, count, seq, captures))));
    queuedSamples += count;
  }

  /**
   * Trains the oldest {@code count} waiting samples here (the queue empty: take it first) and hands
   * the result to {@code taker}; returns the claimed image to put.
   */
  int trainHere(int count, Taker taker) {
    Timed timed = train(state.ringIndex(0), count, nextSeq++, true);
    StateImages.Claim claim = state.claimLatest();
    taker.take(count, timed);
    return claim.image();
  }

  private Timed train(int first, int count, long seq, boolean capture) {
    long start = System.nanoTime();
    TrainingState.Trained trained = state.train(first, count, seq, capture);
    return new Timed(trained, System.nanoTime() - start);
  }

  /**
   * Waits for the oldest queued batch that captures its result, then takes the batches up to the
   * newest capture; returns the claimed image to put, or -1 when nothing was taken.
   */
  int takeOldestCaptured(Taker taker) {
    for (Queued q : queue) {
      if (q.captures()) {
        await(q.result());
        break;
      }
    }
    return takeCaptured(taker);
  }

  /**
   * Waits for every queued batch and takes them all, capturing the last one's result here if it did
   * not; returns the claimed image to put, or -1 when the queue was empty.
   */
  int takeAll(Taker taker) {
    if (queue.isEmpty()) {
      return -1;
    }
    Queued last = queue.peekLast();
    await(last.result());
    if (state.latestSeq() < last.seq()) {
      state.capture(last.seq()); // no training runs now: every queued batch is done
    }
    return takeCaptured(taker);
  }

  /**
   * Takes the queued batches up to the newest captured one, all finished (training is sequential);
   * returns the claimed image to put, or -1 when none is captured yet.
   */
  private int takeCaptured(Taker taker) {
    if (queue.isEmpty() || queue.peekFirst().seq() > state.latestSeq()) {
      return -1;
    }
    StateImages.Claim claim = state.claimLatest();
    while (!queue.isEmpty() && queue.peekFirst().seq() <= claim.seq()) {
      Queued q = queue.removeFirst();
      queuedSamples -= q.count();
      taker.take(q.count(), await(q.result()));
    }
    return claim.image();
  }

  private static Timed await(Future<Timed> result) {
    try {
      return result.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while a batch was training", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("training a batch failed", e.getCause());
    }
  }

  /**
   * Stops: batches still queued are not taken (the store holds them as waiting, and a restart
   * trains them again).
   */
  @Override
  public void close() {
    for (Queued q : queue) {
      q.result().cancel(false);
    }
    queue.clear();
    if (thread != null) {
      thread.shutdownNow();
      try {
        thread.awaitTermination(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
