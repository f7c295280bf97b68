package io.streamlearn.learner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.mnist.MnistDataset;
import io.streamlearn.mnist.MnistFetcher;
import io.streamlearn.model.Evaluation;
import io.streamlearn.producer.ProducerSettings;
import io.streamlearn.testkit.Await;
import io.streamlearn.testkit.RealKafka;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three SIGKILLs of the learner process while 3 epochs stream at a steady rate into a one-partition
 * topic (whose order, and so whose result, is fixed), each after the learner has committed more of
 * the stream: every produced sample is trained exactly once, versions strictly increase, the
 * samples seen never decrease within a lineage, and the final model's test accuracy is within 0.3
 * points of an uninterrupted learner's on the same topic.
 */
@Tag("real-kafka")
class LearnerThreeKillsIT {
  @RegisterExtension static final RealKafka kafka = new RealKafka();
  private static final int EPOCHS = 3;
  private static final int SAMPLES = 60_000 * EPOCHS;
  private static final int KILLS = 3;

  @Test
  void threeKillsDuringThreeEpochsLoseNothingAndEndWhereAnUninterruptedRunEnds(@TempDir Path dir)
      throws Exception {
    String train = RealKafka.uniqueName("train-1p");
    String snapshots = RealKafka.uniqueName("snapshots");
    String applicationId = RealKafka.uniqueName("learner");
    kafka.createTopic(train, 1, Map.of());
    List<String> args =
        LearnerProcess.args(kafka.bootstrapServers(), applicationId, train, snapshots, dir);
    Path log = dir.resolve("learner.log");
    // The one-partition path: the trainer reads the training topic itself, so its committed offset
    // there is what
    // a committed state covers.
    TopicPartition input = new TopicPartition(train, 0);

    CompletableFuture<Void> producing =
        CompletableFuture.runAsync(
            () ->
                LearnerIT.produce(
                    LearnerIT.producer(kafka.bootstrapServers(), train)
                        .set(ProducerSettings.EPOCHS, EPOCHS)
                        .set(ProducerSettings.RATE, 12000.0)
                        .set(ProducerSettings.SEED, 7L)));
    List<Long> killedAt = new ArrayList<>();
    try {
      for (int kill = 1; kill <= KILLS; kill++) {
        long target = (long) SAMPLES * kill / (KILLS + 1);
        try (LearnerProcess learner = LearnerProcess.start(args, log)) {
          Await.until(
              () ->
                  producing.isCompletedExceptionally()
                      || kafka.committedOffsets(applicationId).getOrDefault(input, 0L) >= target,
              Duration.ofMinutes(3),
              "a committed state past " + target + " samples before kill " + kill);
          if (producing.isCompletedExceptionally()) {
            producing.join();
          }
          killedAt.add(kafka.committedOffsets(applicationId).get(input));
          learner.kill();
        }
      }
      try (LearnerProcess last = LearnerProcess.start(args, log)) {
        producing.get(5, TimeUnit.MINUTES);
        SnapshotTopic.awaitSnapshot(
            kafka.bootstrapServers(),
            snapshots,
            s -> s.getSamplesSeen() >= SAMPLES,
            Duration.ofMinutes(5),
            "covering every produced sample");
        last.stop(); // nothing can be published after the exit: every snapshot is on the topic now
      }
    } finally {
      Files.copy(
          log,
          Path.of("target", "LearnerThreeKillsIT-learner.log"),
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
    List<ModelSnapshot> all = SnapshotTopic.readAll(kafka.bootstrapServers(), snapshots);
    ModelSnapshot killedRun = all.get(all.size() - 1);
    assertEquals(SAMPLES, killedRun.getSamplesSeen(), "every produced sample trained exactly once");
    SnapshotTopic.assertStrictlyIncreasingVersions(all);
    assertSamplesNeverDecreaseWithinALineage(all);
    assertEquals(
        1,
        all.stream().map(ModelSnapshot::getRunId).distinct().count(),
        "every kill came after a committed state: one lineage throughout");

    // The same topic, read by a learner nobody kills.
    String referenceSnapshots = RealKafka.uniqueName("snapshots-reference");
    ModelSnapshot reference;
    try (Learner learner =
        Learner.start(
            LearnerIT.learner(
                    kafka.bootstrapServers(),
                    RealKafka.uniqueName("reference"),
                    train,
                    referenceSnapshots,
                    dir.resolve("reference"))
                .build())) {
      reference =
          SnapshotTopic.awaitSnapshot(
              kafka.bootstrapServers(),
              referenceSnapshots,
              s -> s.getSamplesSeen() >= SAMPLES,
              Duration.ofMinutes(5),
              "from the uninterrupted learner");
    }
    MnistDataset test = MnistDataset.test(MnistFetcher.ensureDefault());
    double killed = Evaluation.accuracy(killedRun, test);
    double uninterrupted = Evaluation.accuracy(reference, test);
    System.out.printf(
        "[LearnerThreeKillsIT] killed with committed offsets at %s; %d snapshots, final v%d with %d"
            + " samples; test accuracy %.4f, uninterrupted %.4f%n",
        killedAt,
        all.size(),
        killedRun.getVersion(),
        killedRun.getSamplesSeen(),
        killed,
        uninterrupted);
    assertEquals(
        uninterrupted, killed, 0.003, "accuracy after three kills against an uninterrupted run");
  }

  /**
   * Along the topic, within each lineage, a snapshot never has fewer samples than one before it.
   */
  private static void assertSamplesNeverDecreaseWithinALineage(List<ModelSnapshot> snapshots) {
    Map<String, Long> seen = new HashMap<>();
    for (ModelSnapshot s : snapshots) {
      Long before = seen.put(s.getRunId(), s.getSamplesSeen());
      assertTrue(
          before == null || s.getSamplesSeen() >= before,
          "run "
              + s.getRunId()
              + " went from "
              + before
              + " to "
              + s.getSamplesSeen()
              + " samples at v"
              + s.getVersion());
    }
  }
}
