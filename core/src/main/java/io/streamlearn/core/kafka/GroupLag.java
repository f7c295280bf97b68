package io.streamlearn.core.kafka;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A consumer group's lag as the broker sees it: for every partition of the topics the group reads,
 * the end offset minus the group's committed offset (the log start offset where nothing is
 * committed yet), summed. Measured with an {@link Admin} on a thread of its own every {@code
 * period}, never on a consuming thread, and served as a gauge.
 *
 * <p>This is what an operator means by "input waiting": a consumer's own {@code records-lag} is
 * measured from its fetch position, reads 0 for a partition it has fetched ahead of its commits,
 * and is missing for partitions it does not own. The gauge is NaN until the first measurement and
 * after a failed one, so an alert must treat NaN as unknown, not as zero.
 */
public final class GroupLag implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(GroupLag.class);

  private final Admin admin;
  private final String groupId;
  private final Supplier<Collection<String>> topics;
  private final ScheduledExecutorService thread;
  private volatile double lag = Double.NaN;
  private volatile String lastError;

  private GroupLag(Admin admin, String groupId, Supplier<Collection<String>> topics) {
    this.admin = admin;
    this.groupId = groupId;
    this.topics = topics;
    this.thread =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "lag-" + groupId);
              t.setDaemon(true);
              return t;
            });
  }

  /**
   * Starts measuring and registers the gauge {@code meterName} (records).
   *
   * @param client Kafka client properties (bootstrap servers and pass-through properties)
   * @param topics the topics the group reads; asked at each measurement (an internal topic may
   *     appear later)
   */
  public static GroupLag start(
      Map<String, Object> client,
      String groupId,
      Supplier<Collection<String>> topics,
      Duration period,
      MeterRegistry registry,
      String meterName,
      String description) {
    Map<String, Object> props = new HashMap<>(client);
    props.put("client.id", "streamlearn-lag-" + groupId);
    GroupLag lag = new GroupLag(Admin.create(props), groupId, topics);
    Gauge.builder(meterName, lag, l -> l.lag).description(description).register(registry);
    lag.thread.scheduleWithFixedDelay(
        lag::measureQuietly, 0, period.toMillis(), TimeUnit.MILLISECONDS);
    return lag;
  }

  /** The last measurement; NaN before the first and after a failed one. */
  public double value() {
    return lag;
  }

  private void measureQuietly() {
    try {
      lag = measure();
      if (lastError != null) {
        log.info("lag of group {} measured again", groupId);
        lastError = null;
      }
    } catch (Exception e) {
      lag = Double.NaN;
      String error = e.toString();
      if (!error.equals(lastError)) {
        log.warn("cannot measure the lag of group {}: {}", groupId, error);
        lastError = error;
      }
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private double measure() throws Exception {
    List<String> wanted = new ArrayList<>(topics.get());
    Map<String, TopicDescription> described = new HashMap<>();
    for (String topic : wanted) {
      try {
        described.put(
            topic,
            admin
                .describeTopics(List.of(topic))
                .allTopicNames()
                .get(10, TimeUnit.SECONDS)
                .get(topic));
      } catch (java.util.concurrent.ExecutionException e) {
        if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
          throw e;
        }
        // an internal topic not created yet holds nothing to wait for
      }
    }
    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    Map<TopicPartition, OffsetSpec> earliest = new HashMap<>();
    described
        .values()
        .forEach(
            d ->
                d.partitions()
                    .forEach(
                        p -> {
                          TopicPartition tp = new TopicPartition(d.name(), p.partition());
                          latest.put(tp, OffsetSpec.latest());
                          earliest.put(tp, OffsetSpec.earliest());
                        }));
    if (latest.isEmpty()) {
      return 0;
    }
    Map<TopicPartition, OffsetAndMetadata> committed =
        admin
            .listConsumerGroupOffsets(groupId)
            .partitionsToOffsetAndMetadata()
            .get(10, TimeUnit.SECONDS);
    Map<TopicPartition, ListOffsetsResultInfo> ends =
        admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS);
    Map<TopicPartition, ListOffsetsResultInfo> starts =
        admin.listOffsets(earliest).all().get(10, TimeUnit.SECONDS);
    double total = 0;
    for (Map.Entry<TopicPartition, ListOffsetsResultInfo> e : ends.entrySet()) {
      OffsetAndMetadata at = committed.get(e.getKey());
      long from = at != null ? at.offset() : starts.get(e.getKey()).offset();
      total += Math.max(0, e.getValue().offset() - from);
    }
    return total;
  }

  @Override
  public void close() {
    thread.shutdownNow();
    try {
      thread.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    admin.close(Duration.ofSeconds(5));
  }
}
