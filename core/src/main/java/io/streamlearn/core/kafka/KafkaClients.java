package io.streamlearn.core.kafka;

import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;

/**
 * The one place Kafka client properties are assembled, for every client of every service: a
 * component's own defaults, then the user's pass-through properties (which win over the defaults),
 * then the bootstrap servers from the typed {@code bootstrap-servers} setting (which owns that
 * key). No other class sets {@code bootstrap.servers}; the build checks it.
 */
public final class KafkaClients {
  private KafkaClients() {}

  /** The bootstrap servers and the user's pass-through properties. */
  public static Map<String, Object> properties(
      String bootstrapServers, Map<String, ?> passThrough) {
    return properties(bootstrapServers, Map.of(), passThrough);
  }

  /**
   * A component's {@code defaults}, the user's pass-through properties over them, then bootstrap.
   */
  public static Map<String, Object> properties(
      String bootstrapServers, Map<String, ?> defaults, Map<String, ?> passThrough) {
    Map<String, Object> props = new HashMap<>(defaults);
    props.putAll(passThrough);
    props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    return props;
  }

  /**
   * {@code client} made into a reader of committed records that belongs to no group and creates no
   * topic: the consumer that reads a topic to its end (snapshot topics, tests' checks).
   */
  public static Map<String, Object> committedReader(Map<String, ?> client) {
    Map<String, Object> props = new HashMap<>(client);
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    props.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
    props.remove(ConsumerConfig.GROUP_ID_CONFIG);
    return props;
  }

  /** The same properties as a {@link Properties} (Kafka Streams takes those). */
  public static Properties asProperties(Map<String, ?> props) {
    Properties p = new Properties();
    p.putAll(props);
    return p;
  }
}
