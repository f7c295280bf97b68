package io.streamlearn.scorer;

import io.streamlearn.core.config.ConfigBuilder;
import io.streamlearn.core.config.Configuration;
import io.streamlearn.core.config.Setting;
import io.streamlearn.core.http.HttpService;
import io.streamlearn.core.http.HttpSettings;
import io.streamlearn.core.kafka.KafkaClients;
import io.streamlearn.core.kafka.KafkaSettings;
import io.streamlearn.core.kafka.Topics;
import java.util.List;
import java.util.Map;

/**
 * The scorer's configuration: every key declared once below, resolved into an immutable {@link
 * Config}.
 */
public final class ScorerSettings {
  public static final Setting<String> BOOTSTRAP_SERVERS = KafkaSettings.BOOTSTRAP_SERVERS;
  public static final Setting<String> MODEL_ID =
      Setting.text(
          "model-id", "The model served: the key of its snapshots on the snapshot topic.", "mnist");
  public static final Setting<String> GROUP_ID =
      Setting.text(
          "group-id",
          "Consumer group of the scoring consumers: instances in one group share the images topic's partitions.",
          "streamlearn-scorer");
  public static final Setting<String> SNAPSHOT_TOPIC = KafkaSettings.SNAPSHOT_TOPIC;
  public static final Setting<String> IMAGES_TOPIC =
      Setting.text(
          "images-topic", "Topic of ImageEvent records to classify.", Topics.IMAGES.name());
  public static final Setting<String> PREDICTIONS_TOPIC =
      Setting.text(
          "predictions-topic", "Topic the Prediction records go to.", Topics.PREDICTIONS.name());
  public static final Setting<String> DEAD_LETTER_TOPIC =
      Setting.text(
          "dead-letter-topic",
          "Topic for events that cannot be scored.",
          Topics.DEAD_LETTERS.name());
  public static final Setting<Integer> CONSUMERS =
      Setting.integer(
          "consumers",
          "Scoring consumers in this process, each with its own model copy (more than the images topic's partitions"
              + " leaves some idle).",
          1,
          1,
          64);
  public static final Setting<Integer> MAX_BATCH =
      Setting.integer(
          "max-batch",
          "Most events scored in one micro-batch (the consumer's max.poll.records).",
          500,
          1,
          100_000);
  public static final Setting<Integer> HTTP_PORT =
      Setting.integer(
          "http-port",
          "Port of the HTTP API (/v1/predict, /v1/model, /health/live, /health/ready) and of /metrics (0 = any free"
              + " port).",
          8080,
          0,
          65535);
  public static final Setting<Integer> HTTP_THREADS =
      Setting.integer(
          "http-threads",
          "Threads computing HTTP predictions (each with a queue of "
              + PredictApi.QUEUE_PER_THREAD
              + "; beyond it predict answers 503).",
          4,
          1,
          256);
  public static final Setting<Integer> MAX_REQUEST_BYTES =
      Setting.integer(
          "max-request-bytes",
          "Largest HTTP request body accepted by /v1/predict; larger ones get 413.",
          64 * 1024,
          1024,
          64 * 1024 * 1024);
  public static final Setting<Integer> ACCURACY_WINDOW =
      Setting.integer(
          "accuracy-window", "Labelled events in the rolling live accuracy.", 1000, 1, 10_000_000);
  public static final Setting<Integer> PARTITIONS =
      Setting.integer(
          "partitions",
          "Partitions of the images topic if the scorer must create it.",
          3,
          1,
          100_000);
  public static final Setting<Integer> REPLICATION_FACTOR =
      Setting.integer(
          "replication-factor",
          "Replication factor of topics the scorer creates.",
          1,
          1,
          Short.MAX_VALUE);

  public static final List<Setting<?>> ALL =
      List.of(
          BOOTSTRAP_SERVERS,
          MODEL_ID,
          GROUP_ID,
          SNAPSHOT_TOPIC,
          IMAGES_TOPIC,
          PREDICTIONS_TOPIC,
          DEAD_LETTER_TOPIC,
          CONSUMERS,
          MAX_BATCH,
          HTTP_PORT,
          HttpSettings.HOST,
          HttpSettings.MAX_CONNECTIONS,
          HttpSettings.IDLE_TIMEOUT,
          HTTP_THREADS,
          MAX_REQUEST_BYTES,
          ACCURACY_WINDOW,
          PARTITIONS,
          REPLICATION_FACTOR);

  private ScorerSettings() {}

  /**
   * A configuration given in code: typed values for these settings (the rest default), resolved and
   * validated as flags are.
   */
  public static ConfigBuilder<Config> builder() {
    return new ConfigBuilder<>(ALL, ScorerSettings::resolve);
  }

  /**
   * The scorer's resolved configuration.
   *
   * @param bootstrapServers Kafka bootstrap servers
   * @param modelId the model served
   * @param groupId consumer group of the scoring consumers
   * @param snapshotTopic compacted ModelSnapshot input
   * @param imagesTopic ImageEvent input
   * @param predictionsTopic Prediction output
   * @param deadLetterTopic dead-letter output
   * @param consumers scoring consumers (threads) in this process
   * @param maxBatch max.poll.records of a scoring consumer
   * @param httpPort HTTP API and /metrics port
   * @param httpThreads HTTP worker threads
   * @param maxRequestBytes largest predict body
   * @param accuracyWindow labelled events in the live accuracy
   * @param partitions partitions of a created images topic
   * @param replicationFactor replication of created topics
   * @param kafka Kafka client properties passed through to every client
   */
  public record Config(
      String bootstrapServers,
      String modelId,
      String groupId,
      String snapshotTopic,
      String imagesTopic,
      String predictionsTopic,
      String deadLetterTopic,
      int consumers,
      int maxBatch,
      HttpService.Limits http,
      int httpThreads,
      int maxRequestBytes,
      int accuracyWindow,
      int partitions,
      short replicationFactor,
      Map<String, String> kafka) {

    /** Properties for every client of the scorer: the pass-through, then the bootstrap. */
    public Map<String, Object> clientProperties() {
      return KafkaClients.properties(bootstrapServers, kafka);
    }
  }

  public static Config resolve(Configuration c) {
    return new Config(
        c.get(BOOTSTRAP_SERVERS),
        c.get(MODEL_ID),
        c.get(GROUP_ID),
        c.get(SNAPSHOT_TOPIC),
        c.get(IMAGES_TOPIC),
        c.get(PREDICTIONS_TOPIC),
        c.get(DEAD_LETTER_TOPIC),
        c.get(CONSUMERS),
        c.get(MAX_BATCH),
        HttpSettings.limits(c, HTTP_PORT),
        c.get(HTTP_THREADS),
        c.get(MAX_REQUEST_BYTES),
        c.get(ACCURACY_WINDOW),
        c.get(PARTITIONS),
        c.get(REPLICATION_FACTOR).shortValue(),
        c.kafkaProperties());
  }
}
