package io.streamlearn.testkit;

import io.streamlearn.core.kafka.KafkaClients;
import io.streamlearn.core.kafka.TopicAdmin;
import io.streamlearn.core.kafka.TopicAdmin.TopicSpec;
import io.streamlearn.core.kafka.TopicReader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.kafka.KafkaContainer;

/**
 * The one broker test kit: gives an integration test class a real Kafka broker, started once per
 * class.
 *
 * <p>System property {@value #MODE} chooses the broker:
 *
 * <ul>
 *   <li>{@code embedded} (default): a single-node KRaft broker in this JVM, from Kafka's own test
 *       kit;
 *   <li>{@code testcontainers}: the {@code apache/kafka} image in Docker, where a Docker engine
 *       exists (elsewhere the class is skipped with a printed reason);
 *   <li>{@code external}: a running cluster at {@value #BOOTSTRAP}.
 * </ul>
 *
 * <p>Use it as {@code @RegisterExtension static final RealKafka kafka = new RealKafka();} and give
 * each test its own topic names with {@link #uniqueName}.
 */
public final class RealKafka implements BeforeAllCallback, BeforeEachCallback, AfterAllCallback {
  public static final String MODE = "streamlearn.test.kafka";
  public static final String BOOTSTRAP = "streamlearn.test.bootstrap.servers";
  static final String KAFKA_IMAGE = "apache/kafka:4.3.1";
  private static final AtomicInteger NAMES = new AtomicInteger();

  private AutoCloseable running;
  private String skipReason;
  private String bootstrapServers;

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    String mode = System.getProperty(MODE, "embedded");
    switch (mode) {
      case "embedded" -> startEmbedded();
      case "testcontainers" -> startContainer(context);
      case "external" -> {
        bootstrapServers = System.getProperty(BOOTSTRAP);
        if (bootstrapServers == null || bootstrapServers.isBlank()) {
          throw new IllegalStateException(MODE + "=external needs -D" + BOOTSTRAP + "=host:port");
        }
      }
      default ->
          throw new IllegalStateException(
              "unknown " + MODE + "=" + mode + ": expected embedded, testcontainers or external");
    }
    if (skipReason == null) {
      System.out.printf(
          "[RealKafka] %s: %s broker at %s%n", context.getDisplayName(), mode, bootstrapServers);
    }
  }

  private void startEmbedded() throws Exception {
    KafkaClusterTestKit cluster =
        new KafkaClusterTestKit.Builder(
                new TestKitNodes.Builder()
                    .setCombined(true)
                    .setNumBrokerNodes(1)
                    .setNumControllerNodes(1)
                    .build())
            .setConfigProp("offsets.topic.replication.factor", "1")
            .setConfigProp("transaction.state.log.replication.factor", "1")
            .setConfigProp("transaction.state.log.min.isr", "1")
            .setConfigProp("group.initial.rebalance.delay.ms", "0")
            .setConfigProp("share.coordinator.state.topic.replication.factor", "1")
            .setConfigProp("share.coordinator.state.topic.min.isr", "1")
            .build();
    running = cluster;
    cluster.format();
    cluster.startup();
    cluster.waitForReadyBrokers();
    bootstrapServers = cluster.bootstrapServers();
  }

  private void startContainer(ExtensionContext context) {
    if (!DockerClientFactory.instance().isDockerAvailable()) {
      String reason =
          "no Docker engine reachable, so the Testcontainers broker ("
              + KAFKA_IMAGE
              + ") cannot start; the same tests run on the embedded broker";
      System.out.printf("[RealKafka] SKIPPED %s: %s%n", context.getDisplayName(), reason);
      skipReason = reason;
      return;
    }
    KafkaContainer container = new KafkaContainer(KAFKA_IMAGE);
    container.start();
    running = container;
    bootstrapServers = container.getBootstrapServers();
  }

  /** Skips each test, with the reason, when the chosen broker cannot run here. */
  @Override
  public void beforeEach(ExtensionContext context) {
    if (skipReason != null) {
      Assumptions.abort(skipReason);
    }
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    if (running != null) {
      running.close();
      running = null;
    }
  }

  public String bootstrapServers() {
    if (bootstrapServers == null) {
      throw new IllegalStateException(
          "the broker is not running: register RealKafka with @RegisterExtension");
    }
    return bootstrapServers;
  }

  /** Base client properties: the bootstrap servers. */
  public Map<String, Object> clientProperties() {
    return KafkaClients.properties(bootstrapServers(), Map.of());
  }

  public Admin admin() {
    return Admin.create(clientProperties());
  }

  /**
   * The offsets {@code group} has committed, by partition (partitions it never committed are
   * absent).
   */
  public Map<TopicPartition, Long> committedOffsets(String group) throws Exception {
    try (Admin admin = admin()) {
      Map<TopicPartition, Long> offsets = new HashMap<>();
      for (Map.Entry<TopicPartition, OffsetAndMetadata> e :
          admin
              .listConsumerGroupOffsets(group)
              .partitionsToOffsetAndMetadata()
              .get(30, TimeUnit.SECONDS)
              .entrySet()) {
        if (e.getValue() != null) {
          offsets.put(e.getKey(), e.getValue().offset());
        }
      }
      return offsets;
    }
  }

  /** A name no other test of this JVM uses: {@code <prefix>-<n>-<random>}. */
  public static String uniqueName(String prefix) {
    return prefix
        + "-"
        + NAMES.incrementAndGet()
        + "-"
        + UUID.randomUUID().toString().substring(0, 8);
  }

  /**
   * Creates {@code name} (replication factor 1) and waits until every partition's leader serves it,
   * the services' own way ({@link TopicAdmin#ensure}); a topic that exists is left as it is.
   */
  public void createTopic(String name, int partitions, Map<String, String> configs) {
    try (TopicAdmin topics = TopicAdmin.connect(clientProperties())) {
      topics.ensure(new TopicSpec(name, partitions, (short) 1, configs));
    }
  }

  /** {@link #readToEnd(String, String)} on this broker. */
  public List<ConsumerRecord<byte[], byte[]>> readToEnd(String topic) {
    return readToEnd(bootstrapServers(), topic);
  }

  /**
   * Every committed record of {@code topic} up to its end offsets when called (read_committed: up
   * to the last stable offset), in partition then offset order; an empty list when the topic does
   * not exist. For any broker, this kit's or one a test runs itself.
   */
  public static List<ConsumerRecord<byte[], byte[]>> readToEnd(
      String bootstrapServers, String topic) {
    List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> consumer = readCommitted(bootstrapServers)) {
      TopicReader.readToEnd(consumer, topic, Duration.ofSeconds(60), records::add);
    }
    records.sort(
        java.util.Comparator.<ConsumerRecord<byte[], byte[]>>comparingInt(ConsumerRecord::partition)
            .thenComparingLong(ConsumerRecord::offset));
    return records;
  }

  /** A consumer of committed records only, in no group (tests assign partitions). */
  public static KafkaConsumer<byte[], byte[]> readCommitted(String bootstrapServers) {
    return new KafkaConsumer<>(
        KafkaClients.committedReader(
            KafkaClients.properties(
                bootstrapServers,
                Map.of(
                    ConsumerConfig.MAX_POLL_RECORDS_CONFIG,
                    5000,
                    ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG,
                    64 * 1024 * 1024),
                Map.of())),
        new ByteArrayDeserializer(),
        new ByteArrayDeserializer());
  }

  /**
   * Reads a topic from the beginning until {@code expected} records have arrived; fails with a
   * message if they do not arrive within {@code timeout}. Returns exactly what was read (more than
   * expected if more arrived).
   */
  public List<ConsumerRecord<byte[], byte[]>> readFromBeginning(
      String topic, int expected, Duration timeout) {
    List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> consumer = readCommitted(bootstrapServers())) {
      TopicReader.assignFromBeginning(consumer, topic, Duration.ofSeconds(30));
      long deadline = System.nanoTime() + timeout.toNanos();
      while (records.size() < expected) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError(
              "expected "
                  + expected
                  + " records on "
                  + topic
                  + " within "
                  + timeout.toMillis()
                  + " ms, got "
                  + records.size());
        }
        consumer.poll(Duration.ofMillis(200)).forEach(records::add);
      }
      // Anything beyond the expected count is returned too, so a test can see duplicates.
      for (var r = consumer.poll(Duration.ofMillis(300));
          !r.isEmpty();
          r = consumer.poll(Duration.ofMillis(300))) {
        r.forEach(records::add);
      }
    }
    return records;
  }
}
