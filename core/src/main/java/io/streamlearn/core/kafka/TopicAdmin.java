package io.streamlearn.core.kafka;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Creates the topics a service needs when they are missing; leaves existing topics as they are. */
public final class TopicAdmin {
  private static final Logger log = LoggerFactory.getLogger(TopicAdmin.class);
  private static final long TIMEOUT_MS = 30_000;

  /** How to create a missing topic. */
  public record TopicSpec(String name, int partitions, short replicationFactor, Map<String, String> configs) {}

  private TopicAdmin() {}

  /**
   * Creates {@code spec} unless it exists. Returns the topic's partition count, as created or as found.
   *
   * @throws IllegalStateException naming the topic when the cluster refuses or does not answer
   */
  public static int ensure(Admin admin, TopicSpec spec) {
    try {
      Optional<TopicDescription> existing = describe(admin, spec.name());
      if (existing.isPresent()) {
        int partitions = existing.get().partitions().size();
        log.info("topic {} exists with {} partitions", spec.name(), partitions);
        return partitions;
      }
      NewTopic topic = new NewTopic(spec.name(), spec.partitions(), spec.replicationFactor()).configs(spec.configs());
      try {
        admin.createTopics(List.of(topic)).all().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        log.info(
            "created topic {} with {} partitions, replication factor {}, configs {}",
            spec.name(), spec.partitions(), spec.replicationFactor(), spec.configs());
        awaitVisible(admin, spec.name());
        return spec.partitions();
      } catch (ExecutionException e) {
        if (e.getCause() instanceof TopicExistsException) {
          return describe(admin, spec.name()).orElseThrow().partitions().size();
        }
        throw e;
      }
    } catch (ExecutionException e) {
      throw new IllegalStateException("cannot create topic " + spec.name() + ": " + e.getCause().getMessage(), e);
    } catch (TimeoutException e) {
      throw new IllegalStateException(
          "cannot create topic " + spec.name() + ": the cluster did not answer in " + TIMEOUT_MS + " ms", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while creating topic " + spec.name(), e);
    }
  }

  /**
   * Waits until a topic just created is known to the broker that answers metadata: the controller confirms a
   * creation before every broker has applied it, and a describe or produce in between fails with an unknown topic.
   */
  private static void awaitVisible(Admin admin, String topic)
      throws InterruptedException, ExecutionException, TimeoutException {
    long deadline = System.currentTimeMillis() + TIMEOUT_MS;
    while (describe(admin, topic).isEmpty()) {
      if (System.currentTimeMillis() > deadline) {
        throw new TimeoutException("topic " + topic + " was created but is not visible after " + TIMEOUT_MS + " ms");
      }
      Thread.sleep(20);
    }
  }

  private static Optional<TopicDescription> describe(Admin admin, String topic)
      throws InterruptedException, ExecutionException, TimeoutException {
    try {
      return Optional.of(
          admin.describeTopics(List.of(topic)).allTopicNames().get(TIMEOUT_MS, TimeUnit.MILLISECONDS).get(topic));
    } catch (ExecutionException e) {
      if (e.getCause() instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException) {
        return Optional.empty();
      }
      throw e;
    }
  }
}
