package io.streamlearn.core.kafka;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one way a service (or a test, or a benchmark) prepares its topics: creates those that are
 * missing, waits until their partitions are served, and leaves existing topics as they are. One
 * Admin client per preparation: {@code try (TopicAdmin topics = TopicAdmin.connect(client)) {...}}.
 */
public final class TopicAdmin implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TopicAdmin.class);
  private static final long TIMEOUT_MS = 30_000;

  /** How to create a missing topic. */
  public record TopicSpec(
      String name, int partitions, short replicationFactor, Map<String, String> configs) {}

  private final Admin admin;

  private TopicAdmin(Admin admin) {
    this.admin = admin;
  }

  /** An Admin client on {@code client} (bootstrap and pass-through, see {@link KafkaClients}). */
  public static TopicAdmin connect(Map<String, Object> client) {
    return new TopicAdmin(Admin.create(client));
  }

  /**
   * Creates {@code spec} unless it exists. Returns the topic's partition count, as created or as
   * found.
   *
   * @throws IllegalStateException naming the topic when the cluster refuses or does not answer
   */
  public int ensure(TopicSpec spec) {
    return ensure(admin, spec);
  }

  /**
   * The values of {@code topic}'s configuration (defaults included), as the cluster reports them.
   *
   * @throws IllegalStateException naming the topic when the cluster does not answer
   */
  public Map<String, String> config(String topic) {
    try {
      org.apache.kafka.clients.admin.Config config =
          admin
              .describeConfigs(List.of(new ConfigResource(ConfigResource.Type.TOPIC, topic)))
              .all()
              .get(TIMEOUT_MS, TimeUnit.MILLISECONDS)
              .values()
              .iterator()
              .next();
      Map<String, String> values = new HashMap<>();
      config.entries().forEach(e -> values.put(e.name(), e.value()));
      return values;
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException(
          "cannot read the configuration of topic " + topic + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while reading topic " + topic, e);
    }
  }

  @Override
  public void close() {
    admin.close();
  }

  private static int ensure(Admin admin, TopicSpec spec) {
    try {
      Optional<TopicDescription> existing = describe(admin, spec.name());
      if (existing.isPresent()) {
        int partitions = existing.get().partitions().size();
        log.info("topic {} exists with {} partitions", spec.name(), partitions);
        awaitServed(
            admin,
            spec.name(),
            partitions); // it may have been created a moment ago, by someone else
        return partitions;
      }
      NewTopic topic =
          new NewTopic(spec.name(), spec.partitions(), spec.replicationFactor())
              .configs(spec.configs());
      try {
        admin.createTopics(List.of(topic)).all().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        log.info(
            "created topic {} with {} partitions, replication factor {}, configs {}",
            spec.name(),
            spec.partitions(),
            spec.replicationFactor(),
            spec.configs());
        awaitServed(admin, spec.name(), spec.partitions());
        return spec.partitions();
      } catch (ExecutionException e) {
        if (e.getCause() instanceof TopicExistsException) {
          awaitServed(admin, spec.name(), spec.partitions());
          return describe(admin, spec.name()).orElseThrow().partitions().size();
        }
        throw e;
      }
    } catch (ExecutionException e) {
      throw new IllegalStateException(
          "cannot create topic " + spec.name() + ": " + e.getCause().getMessage(), e);
    } catch (TimeoutException e) {
      throw new IllegalStateException(
          "cannot create topic "
              + spec.name()
              + ": the cluster did not answer in "
              + TIMEOUT_MS
              + " ms",
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while creating topic " + spec.name(), e);
    }
  }

  /**
   * Waits until the leader of every partition of {@code topic} serves it (answers a ListOffsets
   * request).
   *
   * <p>Seeing the topic in metadata is not enough. The broker publishes a new topic's metadata
   * before its replica manager has applied the partition, and an idempotent producer that sends in
   * between gets a retriable error on its first batch while the next batches, already in flight,
   * are written; the first batch's retries then fail with OUT_OF_ORDER_SEQUENCE_NUMBER until they
   * expire (KAFKA-15591: it lost 294 records of a benchmark's pre-fill). A partition that answers
   * ListOffsets has been applied by its leader.
   */
  static void awaitServed(Admin admin, String topic, int partitions)
      throws InterruptedException, ExecutionException, TimeoutException {
    Map<TopicPartition, OffsetSpec> request = new HashMap<>();
    for (int p = 0; p < partitions; p++) {
      request.put(new TopicPartition(topic, p), OffsetSpec.latest());
    }
    long deadline = System.currentTimeMillis() + TIMEOUT_MS;
    while (true) {
      try {
        admin.listOffsets(request).all().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        return;
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof RetriableException)) {
          throw e;
        }
        if (System.currentTimeMillis() > deadline) {
          throw new TimeoutException(
              "topic "
                  + topic
                  + " exists but its partitions are not served after "
                  + TIMEOUT_MS
                  + " ms: "
                  + e.getCause().getMessage());
        }
      }
      Thread.sleep(20);
    }
  }

  private static Optional<TopicDescription> describe(Admin admin, String topic)
      throws InterruptedException, ExecutionException, TimeoutException {
    try {
      return Optional.of(
          admin
              .describeTopics(List.of(topic))
              .allTopicNames()
              .get(TIMEOUT_MS, TimeUnit.MILLISECONDS)
              .get(topic));
    } catch (ExecutionException e) {
      if (e.getCause() instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException) {
        return Optional.empty();
      }
      throw e;
    }
  }
}
