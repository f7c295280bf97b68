package io.streamlearn.core.kafka;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

/**
 * The one way to read a topic to its end: assign every partition from the beginning, take the end
 * offsets at that moment, and poll until the consumer's position has reached each of them. With a
 * read_committed consumer ({@link KafkaClients#committedReader}) the end is the last stable offset,
 * so aborted and open transactions never hold the read back.
 */
public final class TopicReader {
  private static final Duration POLL = Duration.ofMillis(200);

  private TopicReader() {}

  /**
   * Assigns every partition of {@code topic} to {@code consumer}, from the beginning, and returns
   * them; an empty list (nothing assigned) when the topic does not exist.
   */
  public static List<TopicPartition> assignFromBeginning(
      Consumer<?, ?> consumer, String topic, Duration timeout) {
    List<TopicPartition> partitions = new ArrayList<>();
    List<PartitionInfo> infos = consumer.partitionsFor(topic, timeout);
    if (infos == null || infos.isEmpty()) {
      return partitions;
    }
    for (PartitionInfo p : infos) {
      partitions.add(new TopicPartition(topic, p.partition()));
    }
    consumer.assign(partitions);
    consumer.seekToBeginning(partitions);
    return partitions;
  }

  /**
   * Reads every record of {@code topic} from the beginning up to its end offsets as of the call,
   * handing each to {@code sink} in the order polled (offset order within a partition). Returns the
   * number read; 0 when the topic does not exist.
   *
   * @throws IllegalStateException naming the topic and the offsets not reached when the end is not
   *     reached within {@code timeout}
   */
  public static <K, V> long readToEnd(
      Consumer<K, V> consumer,
      String topic,
      Duration timeout,
      java.util.function.Consumer<? super ConsumerRecord<K, V>> sink) {
    long deadline = System.nanoTime() + timeout.toNanos();
    List<TopicPartition> partitions = assignFromBeginning(consumer, topic, timeout);
    if (partitions.isEmpty()) {
      return 0;
    }
    End end = End.of(consumer, partitions, timeout);
    long read = 0;
    while (!end.reachedBy(consumer)) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "could not read "
                + topic
                + " to its end offsets "
                + end
                + " within "
                + timeout.toMillis()
                + " ms");
      }
      for (ConsumerRecord<K, V> r : consumer.poll(POLL)) {
        sink.accept(r);
        read++;
      }
    }
    return read;
  }

  /**
   * End offsets taken at one moment, and whether a consumer has reached them: for a reader that
   * goes on past the end (the scorer catches up with the snapshot topic, then follows it).
   */
  public static final class End {
    private final Map<TopicPartition, Long> remaining;

    private End(Map<TopicPartition, Long> remaining) {
      this.remaining = remaining;
    }

    /** The end offsets of {@code partitions} now. */
    public static End of(
        Consumer<?, ?> consumer, Collection<TopicPartition> partitions, Duration timeout) {
      return new End(new HashMap<>(consumer.endOffsets(partitions, timeout)));
    }

    /** Whether {@code consumer}'s position has reached the end of every partition. */
    public boolean reachedBy(Consumer<?, ?> consumer) {
      remaining.entrySet().removeIf(e -> consumer.position(e.getKey()) >= e.getValue());
      return remaining.isEmpty();
    }

    /** The end offsets of the partitions not reached yet. */
    @Override
    public String toString() {
      return remaining.toString();
    }
  }
}
