package io.streamlearn.learner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.core.config.ConfigBuilder;
import io.streamlearn.mnist.MnistDataset;
import io.streamlearn.mnist.MnistFetcher;
import io.streamlearn.mnist.MnistFiles;
import io.streamlearn.model.DenseNetwork;
import io.streamlearn.model.Evaluation;
import io.streamlearn.model.Snapshots;
import io.streamlearn.producer.ProducerMain;
import io.streamlearn.producer.ProducerSettings;
import io.streamlearn.testkit.RealKafka;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The learner on a real broker: one epoch of MNIST, then the published snapshot is scored on the
 * test set.
 */
@Tag("real-kafka")
class LearnerIT {
  @RegisterExtension static final RealKafka kafka = new RealKafka();
  private static MnistFiles files;

  @BeforeAll
  static void fetchMnist() {
    files = MnistFetcher.ensureDefault();
  }

  /** A producer of MNIST training samples to {@code topic}, quiet, with its metrics on any port. */
  static ConfigBuilder<ProducerSettings.Config> producer(String bootstrap, String topic) {
    return ProducerSettings.builder()
        .set(ProducerSettings.BOOTSTRAP_SERVERS, bootstrap)
        .set(ProducerSettings.TOPIC, topic)
        .set(ProducerSettings.METRICS_PORT, 0)
        .set(ProducerSettings.PROGRESS, false);
  }

  /**
   * A learner of {@code applicationId} on {@code bootstrap} (a test class's own broker): {@code
   * train} to {@code snapshots}, state in {@code state}, a fresh dead-letter topic, metrics on any
   * port.
   */
  static ConfigBuilder<LearnerSettings.Config> learner(
      String bootstrap, String applicationId, String train, String snapshots, Path state) {
    return LearnerSettings.builder()
        .set(LearnerSettings.BOOTSTRAP_SERVERS, bootstrap)
        .set(LearnerSettings.APPLICATION_ID, applicationId)
        .set(LearnerSettings.TRAINING_TOPIC, train)
        .set(LearnerSettings.SNAPSHOT_TOPIC, snapshots)
        .set(LearnerSettings.DEAD_LETTER_TOPIC, RealKafka.uniqueName("dlq"))
        .set(LearnerSettings.STATE_DIR, state)
        .set(LearnerSettings.METRICS_PORT, 0);
  }

  /** Runs the producer to completion; fails the test if it does not exit 0. */
  static void produce(ConfigBuilder<ProducerSettings.Config> producer) {
    PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
    assertEquals(0, ProducerMain.run(producer.build(), quiet, quiet, false));
  }

  @Test
  void refusesToStartWhenTheSnapshotTopicCannotHoldTheModel(@TempDir Path state) throws Exception {
    String snapshots = RealKafka.uniqueName("small-snapshots");
    kafka.createTopic(
        snapshots, 1, Map.of("cleanup.policy", "compact", "max.message.bytes", "100000"));
    LearnerSettings.Config config =
        LearnerSettings.builder()
            .set(LearnerSettings.BOOTSTRAP_SERVERS, kafka.bootstrapServers())
            .set(LearnerSettings.APPLICATION_ID, RealKafka.uniqueName("learner"))
            .set(LearnerSettings.TRAINING_TOPIC, RealKafka.uniqueName("train"))
            .set(LearnerSettings.SNAPSHOT_TOPIC, snapshots)
            .set(LearnerSettings.STATE_DIR, state)
            .set(LearnerSettings.METRICS_PORT, 0)
            .build();
    io.streamlearn.core.config.ConfigException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            io.streamlearn.core.config.ConfigException.class, () -> Learner.start(config));
    assertEquals("hidden", e.key());
    assertTrue(
        e.getMessage().contains(snapshots) && e.getMessage().contains("max.message.bytes=100000"),
        e.getMessage());
  }

  @Test
  void aKafkaStreamsPropertyThatDoesNotParseExitsTwoAndFreesTheMetricsPort(@TempDir Path state)
      throws Exception {
    int port;
    try (java.net.ServerSocket probe = new java.net.ServerSocket(0)) {
      port = probe.getLocalPort();
    }
    LearnerSettings.Config config =
        LearnerSettings.builder()
            .set(LearnerSettings.BOOTSTRAP_SERVERS, kafka.bootstrapServers())
            .set(LearnerSettings.APPLICATION_ID, RealKafka.uniqueName("learner"))
            .set(LearnerSettings.TRAINING_TOPIC, RealKafka.uniqueName("train"))
            .set(LearnerSettings.SNAPSHOT_TOPIC, RealKafka.uniqueName("snapshots"))
            .set(LearnerSettings.STATE_DIR, state)
            .set(LearnerSettings.METRICS_PORT, port)
            .kafka("num.stream.threads", "abc")
            .build();

    assertEquals(2, LearnerMain.run(config), "a bad configuration exits 2");
    try (java.net.ServerSocket again = new java.net.ServerSocket(port)) {
      assertEquals(
          port, again.getLocalPort(), "nothing holds the metrics port after the failed start");
    }
  }

  @Test
  void oneEpochOfMnistGivesASnapshotThatClassifiesTheTestImagesAtLeast945Percent(
      @TempDir Path state) throws Exception {
    String train = RealKafka.uniqueName("train");
    String snapshots = RealKafka.uniqueName("snapshots");
    produce(producer(kafka.bootstrapServers(), train).set(ProducerSettings.PARTITIONS, 3));
    LearnerSettings.Config config =
        learner(kafka.bootstrapServers(), RealKafka.uniqueName("learner"), train, snapshots, state)
            .build();

    ModelSnapshot last;
    try (Learner learner = Learner.start(config)) {
      last =
          SnapshotTopic.awaitSnapshot(
              kafka.bootstrapServers(),
              snapshots,
              s -> s.getSamplesSeen() == 60_000,
              Duration.ofMinutes(4),
              "covering all 60000 samples");
    }
    List<ModelSnapshot> all = SnapshotTopic.readAll(kafka.bootstrapServers(), snapshots);
    SnapshotTopic.assertStrictlyIncreasingVersions(all);
    assertEquals(1, all.get(0).getVersion(), "a new model starts at version 1");
    assertEquals(
        last.getVersion(),
        all.get(all.size() - 1).getVersion(),
        "nothing after the final snapshot");

    DenseNetwork network = Snapshots.toNetwork(last, new int[] {784, 100, 10});
    double accuracy =
        Evaluation.accuracy(network, MnistDataset.test(files), Snapshots.input(last).transform());
    System.out.printf(
        "[LearnerIT] one epoch: %d snapshots, final v%d, test accuracy %.4f, prequential %.4f%n",
        all.size(), last.getVersion(), accuracy, last.getPrequentialAccuracy());
    assertTrue(accuracy >= 0.945, "test accuracy after one epoch: " + accuracy);

    // A learner with empty state (another application id) on the same snapshot topic continues the
    // versions.
    String more = RealKafka.uniqueName("train-more");
    produce(
        producer(kafka.bootstrapServers(), more)
            .set(ProducerSettings.PARTITIONS, 1)
            .set(ProducerSettings.LIMIT, 640L));
    LearnerSettings.Config fresh =
        learner(
                kafka.bootstrapServers(),
                RealKafka.uniqueName("learner-fresh"),
                more,
                snapshots,
                state)
            .build();
    ModelSnapshot next;
    try (Learner learner = Learner.start(fresh)) {
      next =
          SnapshotTopic.awaitSnapshot(
              kafka.bootstrapServers(),
              snapshots,
              s -> s.getSamplesSeen() == 640,
              Duration.ofMinutes(2),
              "from the fresh learner");
    }
    List<ModelSnapshot> after = SnapshotTopic.readAll(kafka.bootstrapServers(), snapshots);
    SnapshotTopic.assertStrictlyIncreasingVersions(after);
    assertTrue(
        after.get(all.size()).getVersion() == last.getVersion() + 1,
        "the fresh learner's first version follows the newest published one");
    assertNotEquals(last.getRunId(), next.getRunId(), "a new state lineage has a new run id");
  }
}
