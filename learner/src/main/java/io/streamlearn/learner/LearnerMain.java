package io.streamlearn.learner;

import io.streamlearn.core.config.ConfigException;
import io.streamlearn.core.config.ServiceCommand;
import io.streamlearn.core.kafka.TopicAdmin;
import io.streamlearn.core.kafka.TopicAdmin.TopicSpec;
import io.streamlearn.learner.LearnerSettings.Config;
import io.streamlearn.model.Snapshots;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code ./streamlearn learn}: the Kafka Streams learner. Creates its topics if missing, finds the
 * newest published snapshot version, builds {@link LearnerTopology} and runs it until Ctrl-C. Exit
 * code 0 after a clean stop, 1 when the application fails, 2 on bad configuration.
 */
public final class LearnerMain {
  private static final Logger log = LoggerFactory.getLogger(LearnerMain.class);

  public static final ServiceCommand COMMAND =
      new ServiceCommand(
          "streamlearn learn",
          "Trains one dense network on the training topic with mini-batch Adam (Kafka Streams), measures it"
              + " prequentially and publishes versioned snapshots to a compacted topic.",
          LearnerSettings.ALL);

  private LearnerMain() {}

  public static void main(String[] args) throws InterruptedException {
    System.exit(run(COMMAND.resolveOrExit(args, "learn", LearnerSettings::resolve)));
  }

  static int run(Config config) throws InterruptedException {
    Learner learner;
    try {
      learner = Learner.start(config);
    } catch (RuntimeException e) {
      return ServiceCommand.reportFailure("learn", e, System.err);
    }
    Runtime.getRuntime().addShutdownHook(new Thread(learner::close, "learner-shutdown"));
    System.out.printf(
        "learner %s training model %s %s from %s; snapshots to %s; metrics on port %d%n",
        config.applicationId(),
        config.modelId(),
        java.util.Arrays.toString(config.sizes()),
        config.trainingTopic(),
        config.snapshotTopic(),
        learner.metricsPort());
    int code = learner.awaitStopped();
    learner.close();
    return code;
  }

  /**
   * The snapshot topic's configs: compacted (the newest snapshot per model stays), room for two
   * snapshots of the configured network per message, small segments so compaction keeps up. deploy/
   * creates the topic with these.
   */
  public static Map<String, String> snapshotTopicConfigs(Config config) {
    return Map.of(
        "cleanup.policy", "compact",
        "max.message.bytes",
            Integer.toString(
                Math.max(
                    1024 * 1024, 2 * Snapshots.encodedSizeBound(config.sizes(), config.spec()))),
        "segment.bytes", Integer.toString(16 * 1024 * 1024),
        "segment.ms", "60000",
        "min.cleanable.dirty.ratio", "0.1");
  }

  /**
   * Creates missing topics; refuses a snapshot topic whose message limit is smaller than a
   * snapshot. Returns the training topic's partition count.
   */
  static int prepareTopics(Config config, Map<String, Object> client) {
    int snapshotBytes = Snapshots.encodedSizeBound(config.sizes(), config.spec());
    try (TopicAdmin topics = TopicAdmin.connect(client)) {
      int partitions =
          topics.ensure(
              new TopicSpec(
                  config.trainingTopic(),
                  config.partitions(),
                  config.replicationFactor(),
                  Map.of()));
      topics.ensure(
          new TopicSpec(config.deadLetterTopic(), 1, config.replicationFactor(), Map.of()));
      topics.ensure(
          new TopicSpec(
              config.snapshotTopic(), 1, config.replicationFactor(), snapshotTopicConfigs(config)));
      Map<String, String> topicConfig = topics.config(config.snapshotTopic());
      int limit = Integer.parseInt(topicConfig.get("max.message.bytes"));
      if (limit < snapshotBytes) {
        throw new ConfigException(
            "hidden",
            "a snapshot of the "
                + java.util.Arrays.toString(config.sizes())
                + " network takes up to "
                + snapshotBytes
                + " bytes, but topic "
                + config.snapshotTopic()
                + " accepts at most max.message.bytes="
                + limit
                + ": raise the topic's max.message.bytes or choose"
                + " smaller layers (key 'hidden')");
      }
      String policy = topicConfig.get("cleanup.policy");
      if (!policy.contains("compact")) {
        log.warn(
            "snapshot topic {} has cleanup.policy={}, not compact: old snapshots will not be compacted away",
            config.snapshotTopic(),
            policy);
      }
      return partitions;
    }
  }
}
