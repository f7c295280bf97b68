package io.streamlearn.learner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.producer.ProducerSettings;
import io.streamlearn.testkit.Await;
import io.streamlearn.testkit.RealKafka;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The learner as a separate process, killed with SIGKILL mid-stream and restarted: it resumes from
 * its last committed state, so every produced sample is trained exactly once and snapshot versions
 * keep increasing.
 */
@Tag("real-kafka")
class LearnerKillIT {
  @RegisterExtension static final RealKafka kafka = new RealKafka();
  private static final int SAMPLES = 30_000;

  @Test
  void resumesFromCommittedStateAfterSigkillWithEverySampleTrainedOnce(@TempDir Path dir)
      throws Exception {
    String train = RealKafka.uniqueName("train");
    String snapshots = RealKafka.uniqueName("snapshots");
    String applicationId = RealKafka.uniqueName("learner");
    List<String> args =
        LearnerProcess.args(kafka.bootstrapServers(), applicationId, train, snapshots, dir);
    Path log = dir.resolve("learner.log");
    kafka.createTopic(train, 3, java.util.Map.of());

    // The producer streams at a steady rate while the learner is killed and restarted.
    CompletableFuture<Void> producing =
        CompletableFuture.runAsync(
            () ->
                LearnerIT.produce(
                    LearnerIT.producer(kafka.bootstrapServers(), train)
                        .set(ProducerSettings.LIMIT, (long) SAMPLES)
                        .set(ProducerSettings.RATE, 4000.0)));
    LearnerProcess first = LearnerProcess.start(args, log);
    try {
      killAndRestart(first, args, log, applicationId, snapshots, producing);
    } finally {
      Path kept = Path.of("target", "LearnerKillIT-learner.log");
      Files.copy(log, kept, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      System.out.println("[LearnerKillIT] learner log: " + kept.toAbsolutePath());
    }
  }

  private void killAndRestart(
      LearnerProcess first,
      List<String> args,
      Path log,
      String applicationId,
      String snapshots,
      CompletableFuture<Void> producing)
      throws Exception {
    ModelSnapshot beforeKill;
    // The trainer's input: its committed offset moves only with a committed Kafka Streams
    // transaction, which carries
    // the state written up to there. A snapshot alone proves nothing: snapshots go out in
    // transactions of their own.
    TopicPartition trainerInput =
        new TopicPartition(applicationId + "-" + LearnerTopology.REPARTITION + "-repartition", 0);
    try {
      beforeKill =
          SnapshotTopic.awaitSnapshot(
              kafka.bootstrapServers(),
              snapshots,
              s -> s.getSamplesSeen() >= 3_000 || producing.isCompletedExceptionally(),
              Duration.ofMinutes(2),
              "with 3000 samples before the kill");
      if (producing.isCompletedExceptionally()) {
        producing.join(); // rethrows why the producer failed
      }
      Await.until(
          () -> kafka.committedOffsets(applicationId).getOrDefault(trainerInput, 0L) > 0,
          Duration.ofMinutes(2),
          "a committed learner state (offset of " + trainerInput + " above 0) before the kill");
    } finally {
      first.kill(); // SIGKILL: no shutdown hook, no clean close
    }
    assertTrue(beforeKill.getSamplesSeen() < SAMPLES, "the kill must come mid-stream");

    try (LearnerProcess second = LearnerProcess.start(args, log)) {
      producing.get(3, TimeUnit.MINUTES);
      ModelSnapshot last =
          SnapshotTopic.awaitSnapshot(
              kafka.bootstrapServers(),
              snapshots,
              s -> s.getSamplesSeen() >= SAMPLES,
              Duration.ofMinutes(3),
              "covering every produced sample");
      // Stop the learner (its close publishes what was handed over) before reading every snapshot:
      // a replay that
      // trained anything twice would show in a snapshot after the one awaited, and none can come
      // after the exit.
      second.stop();
      List<ModelSnapshot> all = SnapshotTopic.readAll(kafka.bootstrapServers(), snapshots);
      ModelSnapshot newest = all.get(all.size() - 1);
      System.out.printf(
          "[LearnerKillIT] killed at v%d (%d samples); final v%d with %d samples, %d snapshots%n",
          beforeKill.getVersion(),
          beforeKill.getSamplesSeen(),
          newest.getVersion(),
          newest.getSamplesSeen(),
          all.size());
      assertEquals(SAMPLES, newest.getSamplesSeen(), "every produced sample trained exactly once");
      assertEquals(
          last.getRunId(),
          beforeKill.getRunId(),
          "the restarted learner continues the same lineage");
      SnapshotTopic.assertStrictlyIncreasingVersions(all);
      assertTrue(newest.getVersion() > beforeKill.getVersion());
    }
  }
}
