package io.streamlearn.learner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamlearn.testkit.Await;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * The publisher's hand-off, with a {@link MockProducer} in place of Kafka (the real broker is in
 * {@link SnapshotPublisherIT}): at most one snapshot waits, and a failure stops the learner at its
 * next check.
 */
class SnapshotPublisherTest {
  private static final byte[] KEY = "m".getBytes(StandardCharsets.UTF_8);

  /**
   * A transactional mock whose commit waits until released, as a commit slower than the snapshot
   * interval does.
   */
  private static final class SlowCommits extends MockProducer<byte[], byte[]> {
    final CountDownLatch committing = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);

    SlowCommits() {
      super(true, null, new ByteArraySerializer(), new ByteArraySerializer());
    }

    @Override
    public void commitTransaction() {
      committing.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      super.commitTransaction();
    }
  }

  private static SnapshotPublisher publisher(MockProducer<byte[], byte[]> producer) {
    LearnerSettings.Config config =
        LearnerSettings.builder()
            .set(LearnerSettings.SNAPSHOT_TOPIC, "snapshots")
            .set(LearnerSettings.MODEL_ID, "m")
            .build();
    return new SnapshotPublisher(
        config, "tx", props -> producer, props -> SnapshotVersions.Newest.NONE);
  }

  private static byte[] version(int v) {
    return new byte[] {(byte) v};
  }

  @Test
  void whilePublicationIsSlowOnlyTheNewestSnapshotWaits() throws Exception {
    SlowCommits producer = new SlowCommits();
    SnapshotPublisher publisher = publisher(producer);
    try (publisher) {
      publisher.open();
      publisher.publish(KEY, version(1), 1);
      assertTrue(producer.committing.await(30, TimeUnit.SECONDS), "v1's commit did not start");
      for (int v = 2; v <= 100; v++) {
        publisher.publish(
            KEY, version(v), v); // v1 is still committing: each replaces the one waiting
      }
      producer.release.countDown();
    }
    List<ProducerRecord<byte[], byte[]>> sent = producer.history();
    assertEquals(2, sent.size(), "v1, then only the newest of those handed over meanwhile");
    assertEquals(1, sent.get(0).value()[0]);
    assertEquals(100, sent.get(1).value()[0]);
    assertEquals(98, publisher.superseded());
  }

  @Test
  void aFailedPublicationStopsTheLearnerAtTheNextCheckEvenAfterTheLastSnapshot() {
    MockProducer<byte[], byte[]> producer =
        new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer());
    producer.commitTransactionException =
        new ProducerFencedException("another learner owns model m");
    try (SnapshotPublisher publisher = publisher(producer)) {
      publisher.open();
      publisher.publish(KEY, version(1), 1); // the last snapshot: nothing is published after it

      Await.until(
          () -> {
            try {
              publisher.check();
              return false;
            } catch (IllegalStateException e) {
              return true;
            }
          },
          Duration.ofSeconds(30),
          "the failed publication reported by check()");
      IllegalStateException e = assertThrows(IllegalStateException.class, publisher::check);
      assertTrue(e.getMessage().contains("another learner owns model m"), e.getMessage());
      assertThrows(IllegalStateException.class, () -> publisher.publish(KEY, version(2), 2));
    }
  }
}
