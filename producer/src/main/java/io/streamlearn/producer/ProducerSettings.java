package io.streamlearn.producer;

import io.streamlearn.core.DataDir;
import io.streamlearn.core.config.ConfigBuilder;
import io.streamlearn.core.config.ConfigException;
import io.streamlearn.core.config.Configuration;
import io.streamlearn.core.config.Setting;
import io.streamlearn.core.http.HttpService;
import io.streamlearn.core.http.HttpSettings;
import io.streamlearn.core.kafka.KafkaSettings;
import io.streamlearn.core.kafka.Topics;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The producer's configuration: every key declared once below, resolved into an immutable {@link
 * Config}.
 */
public final class ProducerSettings {
  /** What to stream. */
  public enum Mode {
    /** The training set as TrainingSample records. */
    TRAIN,
    /** The test set as ImageEvent records. */
    EVENTS
  }

  public static final Setting<String> BOOTSTRAP_SERVERS = KafkaSettings.BOOTSTRAP_SERVERS;
  public static final Setting<Mode> MODE =
      Setting.choice(
          "mode",
          "train: the training set as TrainingSample records; events: the test set as ImageEvent records.",
          Mode.class,
          Mode.TRAIN);
  public static final Setting<String> TOPIC =
      Setting.text(
          "topic",
          "Topic to write (default "
              + Topics.TRAINING.name()
              + " for train, "
              + Topics.IMAGES.name()
              + " for events).",
          null);
  public static final Setting<Path> IMAGES =
      Setting.path("images", "An IDX images file (raw or .gz) instead of MNIST's.", null);
  public static final Setting<Path> LABELS =
      Setting.path("labels", "The IDX labels file (raw or .gz) that goes with --images.", null);
  public static final Setting<Path> CSV =
      Setting.path(
          "csv",
          "A CSV file of feature vectors instead of images: a header row, the --label-column, every other column a"
              + " numeric feature in file order.",
          null);
  public static final Setting<String> LABEL_COLUMN =
      Setting.text(
          "label-column",
          "The header of the CSV's label column (class indexes 0 and up; optional in events mode).",
          "label");
  public static final Setting<Path> DATA_DIR =
      Setting.path(
          "data-dir",
          "Data folder; MNIST is fetched into <data-dir>/mnist when no --images is given.",
          DataDir.path().toString());
  public static final Setting<Integer> EPOCHS =
      Setting.integer(
          "epochs", "Times to stream the set (train mode), reshuffled each epoch.", 1, 1, 10_000);
  public static final Setting<Long> SEED =
      Setting.longInteger(
          "seed", "Seed of the per-epoch shuffle.", 42L, Long.MIN_VALUE, Long.MAX_VALUE);
  public static final Setting<Boolean> SHUFFLE =
      Setting.onOff("shuffle", "Shuffle the training set each epoch (train mode).", true);
  public static final Setting<Long> LIMIT =
      Setting.longInteger(
          "limit", "Stop after this many records (0 = no limit).", 0L, 0, Long.MAX_VALUE);
  public static final Setting<Double> RATE =
      Setting.decimal("rate", "Records per second (0 = as fast as possible).", 0.0, 0, 1e9);
  public static final Setting<Boolean> NO_LABELS =
      Setting.onOff("no-labels", "Leave the label out of image events (events mode).", false);
  public static final Setting<String> SOURCE =
      Setting.text(
          "source",
          "The source field of training samples (default mnist-train, or the --images or --csv file name).",
          null);
  public static final Setting<String> ID_PREFIX =
      Setting.text(
          "id-prefix",
          "Ids are <id-prefix>-<row index> (default train / t10k for MNIST, else the --images or --csv file name).",
          null);
  public static final Setting<Integer> PARTITIONS =
      Setting.integer(
          "partitions", "Partitions of the topic if it must be created.", 3, 1, 100_000);
  public static final Setting<Integer> REPLICATION_FACTOR =
      Setting.integer(
          "replication-factor",
          "Replication factor of the topic if it must be created.",
          1,
          1,
          Short.MAX_VALUE);
  public static final Setting<Integer> MIN_INSYNC_REPLICAS =
      Setting.integer(
          "min-insync-replicas",
          "min.insync.replicas of the topic if it must be created.",
          1,
          1,
          Short.MAX_VALUE);
  public static final Setting<String> COMPRESSION =
      Setting.oneOf(
          "compression",
          "compression.type of the producer.",
          "lz4",
          List.of("none", "gzip", "snappy", "lz4", "zstd"));
  public static final Setting<Integer> METRICS_PORT =
      Setting.integer(
          "metrics-port",
          "Port of the Prometheus endpoint /metrics (0 = any free port).",
          9400,
          0,
          65535);
  public static final Setting<Boolean> PROGRESS =
      Setting.onOff("progress", "Show a progress bar when stderr is a terminal.", true);

  public static final List<Setting<?>> ALL =
      List.of(
          BOOTSTRAP_SERVERS,
          MODE,
          TOPIC,
          IMAGES,
          LABELS,
          CSV,
          LABEL_COLUMN,
          DATA_DIR,
          EPOCHS,
          SEED,
          SHUFFLE,
          LIMIT,
          RATE,
          NO_LABELS,
          SOURCE,
          ID_PREFIX,
          PARTITIONS,
          REPLICATION_FACTOR,
          MIN_INSYNC_REPLICAS,
          COMPRESSION,
          METRICS_PORT,
          HttpSettings.HOST,
          HttpSettings.MAX_CONNECTIONS,
          HttpSettings.IDLE_TIMEOUT,
          PROGRESS);

  private ProducerSettings() {}

  /**
   * A configuration given in code: typed values for these settings (the rest default), resolved and
   * validated as flags are.
   */
  public static ConfigBuilder<Config> builder() {
    return new ConfigBuilder<>(ALL, ProducerSettings::resolve);
  }

  /**
   * The producer's resolved configuration.
   *
   * @param bootstrapServers Kafka bootstrap servers
   * @param mode what to stream
   * @param topic the topic written
   * @param images user IDX images file, or null for MNIST
   * @param labels user IDX labels file, or null for MNIST
   * @param csv a CSV file of feature vectors, or null for images
   * @param labelColumn the CSV's label column
   * @param dataDir where MNIST is fetched to
   * @param epochs passes over the set
   * @param seed shuffle seed
   * @param shuffle whether each training epoch is shuffled
   * @param limit records to stop after (0 = all)
   * @param rate records/s (0 = unpaced)
   * @param withLabels whether image events carry labels
   * @param source the source field of training samples
   * @param idPrefix ids are idPrefix-rowIndex
   * @param partitions partitions of a created topic
   * @param replicationFactor replication of a created topic
   * @param minInsyncReplicas min.insync.replicas of a created topic
   * @param compression compression.type
   * @param metricsPort Prometheus port (0 = any)
   * @param progress progress bar on a terminal
   * @param kafka Kafka client properties passed through
   */
  public record Config(
      String bootstrapServers,
      Mode mode,
      String topic,
      Path images,
      Path labels,
      Path csv,
      String labelColumn,
      Path dataDir,
      int epochs,
      long seed,
      boolean shuffle,
      long limit,
      double rate,
      boolean withLabels,
      String source,
      String idPrefix,
      int partitions,
      short replicationFactor,
      int minInsyncReplicas,
      String compression,
      HttpService.Limits metrics,
      boolean progress,
      Map<String, String> kafka) {}

  static Config resolve(Configuration c) {
    Path images = c.find(IMAGES);
    Path labels = c.find(LABELS);
    if ((images == null) != (labels == null)) {
      String missing = images == null ? "images" : "labels";
      throw new ConfigException(
          missing, "missing value for key '" + missing + "': --images and --labels go together");
    }
    Path csv = c.find(CSV);
    if (csv != null && images != null) {
      throw new ConfigException(
          "csv", "invalid value for key 'csv': give --csv or --images/--labels, not both");
    }
    Mode mode = c.get(MODE);
    Path file = csv != null ? csv : images;
    String fileName =
        file == null
            ? null
            : file.getFileName().toString().replaceFirst("\\.gz$", "").replaceFirst("\\.csv$", "");
    String topic = c.find(TOPIC);
    if (topic == null) {
      topic = mode == Mode.TRAIN ? Topics.TRAINING.name() : Topics.IMAGES.name();
    }
    String source = c.find(SOURCE);
    if (source == null) {
      source = fileName == null ? (mode == Mode.TRAIN ? "mnist-train" : "mnist-t10k") : fileName;
    }
    String idPrefix = c.find(ID_PREFIX);
    if (idPrefix == null) {
      idPrefix = fileName == null ? (mode == Mode.TRAIN ? "train" : "t10k") : fileName;
    }
    return new Config(
        c.get(BOOTSTRAP_SERVERS),
        mode,
        topic,
        images,
        labels,
        csv,
        c.get(LABEL_COLUMN),
        c.get(DATA_DIR),
        c.get(EPOCHS),
        c.get(SEED),
        c.get(SHUFFLE),
        c.get(LIMIT),
        c.get(RATE),
        !c.get(NO_LABELS),
        source,
        idPrefix,
        c.get(PARTITIONS),
        c.get(REPLICATION_FACTOR).shortValue(),
        c.get(MIN_INSYNC_REPLICAS),
        c.get(COMPRESSION),
        HttpSettings.limits(c, METRICS_PORT),
        c.get(PROGRESS),
        c.kafkaProperties());
  }
}
