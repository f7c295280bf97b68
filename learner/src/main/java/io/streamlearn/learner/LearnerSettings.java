package io.streamlearn.learner;

import io.streamlearn.contract.avro.InputShape;
import io.streamlearn.core.DataDir;
import io.streamlearn.core.config.ConfigBuilder;
import io.streamlearn.core.config.ConfigException;
import io.streamlearn.core.config.Configuration;
import io.streamlearn.core.config.Setting;
import io.streamlearn.core.http.HttpService;
import io.streamlearn.core.http.HttpSettings;
import io.streamlearn.core.kafka.KafkaSettings;
import io.streamlearn.core.kafka.Topics;
import io.streamlearn.model.Adam;
import io.streamlearn.model.DenseNetwork;
import io.streamlearn.model.InputTransform;
import io.streamlearn.model.ModelSpec;
import io.streamlearn.model.Snapshots;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The learner's configuration: every key declared once below, resolved into an immutable {@link
 * Config}.
 */
public final class LearnerSettings {
  public static final Setting<String> BOOTSTRAP_SERVERS = KafkaSettings.BOOTSTRAP_SERVERS;
  public static final Setting<String> APPLICATION_ID =
      Setting.text(
          "application-id",
          "Kafka Streams application.id: names the consumer group, the state and the internal topics.",
          "streamlearn-learner");
  public static final Setting<String> MODEL_ID =
      Setting.text("model-id", "The model trained; the key of its snapshots.", "mnist");
  public static final Setting<String> TRAINING_TOPIC =
      Setting.text("training-topic", "Topic of TrainingSample records.", Topics.TRAINING.name());
  public static final Setting<String> SNAPSHOT_TOPIC = KafkaSettings.SNAPSHOT_TOPIC;
  public static final Setting<String> DEAD_LETTER_TOPIC =
      Setting.text(
          "dead-letter-topic",
          "Topic for records that cannot be trained on.",
          Topics.DEAD_LETTERS.name());
  public static final Setting<Integer> INPUTS =
      Setting.integer(
          "inputs",
          "Inputs of the model: pixels per image or features per sample (MNIST: 784).",
          784,
          1,
          InputShape.MAX_INPUTS);
  public static final Setting<Integer> CLASSES =
      Setting.integer(
          "classes",
          "Classes of the model: labels lie in 0 to classes-1 (MNIST: 10).",
          10,
          2,
          InputShape.MAX_CLASSES);
  public static final Setting<String> IMAGE_SHAPE =
      Setting.text(
          "image-shape",
          "HEIGHTxWIDTH for an image model (it takes pixels, one byte each), or none for a feature model (it takes"
              + " features, one float each); default 28x28 when inputs is 784, else none.",
          null);
  public static final Setting<String> NORMALIZE =
      Setting.text(
          "normalize",
          "The input transform: scale:F (each input times F) or standardize (per-feature running mean and variance,"
              + " updated after each batch is scored and before it trains); default scale:0.00392156862745098 (1/255)"
              + " for an image model, standardize for a feature model.",
          null);
  public static final Setting<String> FEATURE_NAMES =
      Setting.text(
          "feature-names",
          "The inputs' names in order, comma-separated, carried in every snapshot (empty: unnamed).",
          null);
  public static final Setting<String> CLASS_NAMES =
      Setting.text(
          "class-names",
          "The classes' names by index, comma-separated, carried in every snapshot and prediction (empty:"
              + " unnamed).",
          null);
  public static final Setting<String> HIDDEN =
      Setting.text(
          "hidden",
          "Hidden layer sizes, comma-separated (the input layer is --inputs wide, the output --classes).",
          "100");
  public static final Setting<Integer> BATCH_SIZE =
      Setting.integer("batch-size", "Samples per mini-batch.", 64, 1, 1024);
  public static final Setting<Double> LEARNING_RATE =
      Setting.decimal("learning-rate", "Adam's step size alpha.", 1e-3, 1e-9, 10);
  public static final Setting<Double> BETA1 =
      Setting.decimal("beta1", "Adam's first-moment decay.", 0.9, 0, 0.999999);
  public static final Setting<Double> BETA2 =
      Setting.decimal("beta2", "Adam's second-moment decay.", 0.999, 0, 0.99999999);
  public static final Setting<Double> EPSILON =
      Setting.decimal("epsilon", "Adam's epsilon.", 1e-8, 1e-20, 1);
  public static final Setting<Double> LR_DECAY_RATE =
      Setting.decimal(
          "lr-decay-rate",
          "Learning-rate schedule: lr * rate^(step / lr-decay-steps); 1 = constant.",
          1.0,
          0.01,
          1);
  public static final Setting<Long> LR_DECAY_STEPS =
      Setting.longInteger(
          "lr-decay-steps",
          "Steps (batches) over which the learning rate decays by lr-decay-rate.",
          1000L,
          1,
          Long.MAX_VALUE);
  public static final Setting<Double> EMA_DECAY =
      Setting.decimal(
          "ema-decay",
          "Weight averaging: snapshots carry a bias-corrected exponential moving average of the weights with this"
              + " decay, about the last 1/(1-decay) batches (0 = off: snapshots carry the raw weights).",
          0.99,
          0,
          0.999999);
  public static final Setting<Long> SEED =
      Setting.longInteger(
          "seed", "Seed of the initial weights.", 42L, Long.MIN_VALUE, Long.MAX_VALUE);
  public static final Setting<DenseNetwork.Init> INIT =
      Setting.choice(
          "init",
          "Initial weights: he (He normal for ReLU layers, Glorot uniform for the output) or glorot (Glorot uniform"
              + " everywhere).",
          DenseNetwork.Init.class,
          DenseNetwork.Init.HE);
  public static final Setting<Long> FLUSH_IDLE =
      Setting.longInteger(
          "flush-idle",
          "Milliseconds without a new sample after which a half-filled batch is trained as it is.",
          500L,
          1,
          3_600_000);
  public static final Setting<Integer> SNAPSHOT_EVERY =
      Setting.integer(
          "snapshot-every",
          "Publish a snapshot every this many trained batches (or at --snapshot-interval, whichever is first).",
          500,
          1,
          Integer.MAX_VALUE);
  public static final Setting<Long> SNAPSHOT_INTERVAL =
      Setting.longInteger(
          "snapshot-interval",
          "Milliseconds between snapshots while training.",
          1000L,
          10,
          86_400_000);
  public static final Setting<Integer> PREQUENTIAL_WINDOW =
      Setting.integer(
          "prequential-window",
          "Samples in the rolling prequential accuracy and loss (counted in whole batches).",
          10_000,
          1,
          10_000_000);
  public static final Setting<String> PROCESSING_GUARANTEE =
      Setting.oneOf(
          "processing-guarantee",
          "Kafka Streams processing.guarantee.",
          "exactly_once_v2",
          List.of("exactly_once_v2", "at_least_once"));
  public static final Setting<Integer> STANDBY_REPLICAS =
      Setting.integer(
          "standby-replicas",
          "Standby copies of the learner state on other instances, for fast fail-over.",
          0,
          0,
          10);
  public static final Setting<Integer> STREAM_THREADS =
      Setting.integer(
          "stream-threads",
          "Kafka Streams num.stream.threads; 0 = one per training-topic partition plus one for the trainer (at most"
              + " 8), so the trainer has a thread of its own, or 1 when the topic has one partition.",
          0,
          0,
          64);
  public static final Setting<Long> COMMIT_INTERVAL =
      Setting.longInteger(
          "commit-interval",
          "Kafka Streams commit.interval.ms (snapshots go out in transactions of their own).",
          1000L,
          10,
          600_000);
  public static final Setting<Integer> PARTITIONS =
      Setting.integer(
          "partitions",
          "Partitions of the training topic if the learner must create it.",
          3,
          1,
          100_000);
  public static final Setting<Integer> REPLICATION_FACTOR =
      Setting.integer(
          "replication-factor",
          "Replication factor of topics the learner creates.",
          1,
          1,
          Short.MAX_VALUE);
  public static final Setting<Path> STATE_DIR =
      Setting.path(
          "state-dir",
          "Kafka Streams state.dir.",
          DataDir.path().resolve("learner-state").toString());
  public static final Setting<Integer> METRICS_PORT =
      Setting.integer(
          "metrics-port",
          "Port of the Prometheus endpoint /metrics (0 = any free port).",
          9401,
          0,
          65535);

  public static final List<Setting<?>> ALL =
      List.of(
          BOOTSTRAP_SERVERS,
          APPLICATION_ID,
          MODEL_ID,
          TRAINING_TOPIC,
          SNAPSHOT_TOPIC,
          DEAD_LETTER_TOPIC,
          INPUTS,
          CLASSES,
          IMAGE_SHAPE,
          NORMALIZE,
          FEATURE_NAMES,
          CLASS_NAMES,
          HIDDEN,
          BATCH_SIZE,
          LEARNING_RATE,
          BETA1,
          BETA2,
          EPSILON,
          LR_DECAY_RATE,
          LR_DECAY_STEPS,
          EMA_DECAY,
          SEED,
          INIT,
          FLUSH_IDLE,
          SNAPSHOT_EVERY,
          SNAPSHOT_INTERVAL,
          PREQUENTIAL_WINDOW,
          PROCESSING_GUARANTEE,
          STANDBY_REPLICAS,
          STREAM_THREADS,
          COMMIT_INTERVAL,
          PARTITIONS,
          REPLICATION_FACTOR,
          STATE_DIR,
          METRICS_PORT,
          HttpSettings.HOST,
          HttpSettings.MAX_CONNECTIONS,
          HttpSettings.IDLE_TIMEOUT);

  private LearnerSettings() {}

  /**
   * The learner's resolved configuration.
   *
   * @param bootstrapServers Kafka bootstrap servers
   * @param applicationId Kafka Streams application.id
   * @param modelId the model trained
   * @param trainingTopic TrainingSample input
   * @param snapshotTopic compacted ModelSnapshot output
   * @param deadLetterTopic dead-letter output
   * @param spec what the inputs and classes are, and the kind of input transform
   * @param scale the fixed input scale, or null when the spec standardizes
   * @param sizes layer sizes, input to output
   * @param batchSize samples per mini-batch
   * @param adam Adam's hyperparameters
   * @param lrDecayRate learning-rate decay factor per lrDecaySteps (1 = constant)
   * @param lrDecaySteps steps per decay factor
   * @param emaDecay weight-average decay, 0 = off
   * @param seed initial-weights seed
   * @param init how the initial weights are drawn
   * @param flushIdle idle time after which a partial batch is trained
   * @param snapshotEvery batches between snapshots
   * @param snapshotInterval time between snapshots
   * @param prequentialWindow samples in the rolling prequential figures
   * @param processingGuarantee Kafka Streams processing.guarantee
   * @param standbyReplicas num.standby.replicas
   * @param streamThreads num.stream.threads
   * @param commitIntervalMs commit.interval.ms
   * @param partitions partitions of a created training topic
   * @param replicationFactor replication of created topics
   * @param stateDir Kafka Streams state.dir
   * @param metricsPort Prometheus port
   * @param kafka Kafka client and Streams properties passed through
   */
  public record Config(
      String bootstrapServers,
      String applicationId,
      String modelId,
      String trainingTopic,
      String snapshotTopic,
      String deadLetterTopic,
      ModelSpec spec,
      InputTransform.Scale scale,
      int[] sizes,
      int batchSize,
      Adam.Settings adam,
      double lrDecayRate,
      long lrDecaySteps,
      double emaDecay,
      long seed,
      DenseNetwork.Init init,
      Duration flushIdle,
      int snapshotEvery,
      Duration snapshotInterval,
      int prequentialWindow,
      String processingGuarantee,
      int standbyReplicas,
      int streamThreads,
      long commitIntervalMs,
      int partitions,
      short replicationFactor,
      Path stateDir,
      HttpService.Limits metrics,
      Map<String, String> kafka) {

    /** The learning rate for optimizer step {@code step} (1-based). */
    public double learningRate(long step) {
      return lrDecayRate == 1.0
          ? adam.learningRate()
          : adam.learningRate() * Math.pow(lrDecayRate, (step - 1) / (double) lrDecaySteps);
    }

    @Override
    public String toString() {
      return "Config[" + applicationId + ", model " + modelId + " " + Arrays.toString(sizes) + "]";
    }
  }

  /**
   * A configuration given in code: typed values for these settings (the rest default), resolved and
   * validated as flags are.
   */
  public static ConfigBuilder<Config> builder() {
    return new ConfigBuilder<>(ALL, LearnerSettings::resolve);
  }

  public static Config resolve(Configuration c) {
    ModelSpec spec = spec(c);
    long batchBytes = (long) c.get(BATCH_SIZE) * new SampleLayout(spec).bytes() + SampleRing.HEADER;
    if (batchBytes > TrainingState.PENDING_LIMIT_BYTES) {
      throw new ConfigException(
          BATCH_SIZE.name(),
          "invalid value '"
              + c.get(BATCH_SIZE)
              + "' for key 'batch-size': a batch of "
              + c.get(BATCH_SIZE)
              + " samples of "
              + spec.inputs()
              + (spec.images() ? " pixels" : " features")
              + " takes "
              + batchBytes
              + " bytes, more than the "
              + TrainingState.PENDING_LIMIT_BYTES
              + " the learner stores its waiting samples in: lower batch-size or inputs");
    }
    return new Config(
        c.get(BOOTSTRAP_SERVERS),
        c.get(APPLICATION_ID),
        c.get(MODEL_ID),
        c.get(TRAINING_TOPIC),
        c.get(SNAPSHOT_TOPIC),
        c.get(DEAD_LETTER_TOPIC),
        spec,
        spec.standardize() ? null : scale(normalize(c), spec),
        sizes(spec, c.get(HIDDEN)),
        c.get(BATCH_SIZE),
        new Adam.Settings(c.get(LEARNING_RATE), c.get(BETA1), c.get(BETA2), c.get(EPSILON)),
        c.get(LR_DECAY_RATE),
        c.get(LR_DECAY_STEPS),
        c.get(EMA_DECAY),
        c.get(SEED),
        c.get(INIT),
        Duration.ofMillis(c.get(FLUSH_IDLE)),
        c.get(SNAPSHOT_EVERY),
        Duration.ofMillis(c.get(SNAPSHOT_INTERVAL)),
        c.get(PREQUENTIAL_WINDOW),
        c.get(PROCESSING_GUARANTEE),
        c.get(STANDBY_REPLICAS),
        c.get(STREAM_THREADS),
        c.get(COMMIT_INTERVAL),
        c.get(PARTITIONS),
        c.get(REPLICATION_FACTOR).shortValue(),
        c.get(STATE_DIR),
        HttpSettings.limits(c, METRICS_PORT),
        c.kafkaProperties());
  }

  /** The spec the keys inputs, classes, image-shape, normalize and the names declare. */
  static ModelSpec spec(Configuration c) {
    int inputs = c.get(INPUTS);
    int classes = c.get(CLASSES);
    String shape = Objects.requireNonNullElse(c.find(IMAGE_SHAPE), "").trim();
    ModelSpec.Image image;
    if (shape.isEmpty()) {
      image = inputs == 784 ? new ModelSpec.Image(28, 28) : null;
    } else if (shape.equals("none")) {
      image = null;
    } else {
      image = imageShape(shape, inputs);
    }
    String normalize = normalize(c);
    boolean standardize = normalize.isEmpty() ? image == null : normalize.equals("standardize");
    if (!normalize.isEmpty() && !standardize && !normalize.startsWith("scale:")) {
      throw invalid(
          NORMALIZE, normalize, "must be scale:F (e.g. scale:0.00392156862745098) or standardize");
    }
    List<String> featureNames = names(FEATURE_NAMES, c.find(FEATURE_NAMES));
    List<String> classNames = names(CLASS_NAMES, c.find(CLASS_NAMES));
    if (!featureNames.isEmpty() && featureNames.size() != inputs) {
      throw invalid(
          FEATURE_NAMES,
          c.find(FEATURE_NAMES),
          featureNames.size() + " names for " + inputs + " inputs (key 'inputs')");
    }
    if (!classNames.isEmpty() && classNames.size() != classes) {
      throw invalid(
          CLASS_NAMES,
          c.find(CLASS_NAMES),
          classNames.size() + " names for " + classes + " classes (key 'classes')");
    }
    try {
      return new ModelSpec(inputs, classes, featureNames, classNames, image, standardize);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(FEATURE_NAMES.name(), "invalid names: " + e.getMessage());
    }
  }

  /** The value of normalize, or "" for its default. */
  private static String normalize(Configuration c) {
    return Objects.requireNonNullElse(c.find(NORMALIZE), "").trim();
  }

  private static ModelSpec.Image imageShape(String shape, int inputs) {
    String[] parts = shape.split("x", -1);
    int height = -1;
    int width = -1;
    if (parts.length == 2) {
      try {
        height = Integer.parseInt(parts[0]);
        width = Integer.parseInt(parts[1]);
      } catch (NumberFormatException e) {
        height = -1;
      }
    }
    if (height < 1 || width < 1) {
      throw invalid(IMAGE_SHAPE, shape, "must be HEIGHTxWIDTH (e.g. 28x28) or none");
    }
    if ((long) height * width != inputs) {
      throw invalid(
          IMAGE_SHAPE,
          shape,
          shape + " holds " + (long) height * width + " pixels, but inputs is " + inputs);
    }
    return new ModelSpec.Image(height, width);
  }

  private static InputTransform.Scale scale(String normalize, ModelSpec spec) {
    if (normalize.isEmpty()) {
      if (!spec.images()) {
        throw new IllegalStateException("a feature model standardizes by default");
      }
      return InputTransform.Scale.MNIST;
    }
    String value = normalize.substring("scale:".length());
    float factor;
    try {
      factor = Float.parseFloat(value);
    } catch (NumberFormatException e) {
      factor = Float.NaN;
    }
    if (!(factor > 0) || !Float.isFinite(factor)) {
      throw invalid(NORMALIZE, normalize, "the scale must be a positive number, e.g. scale:0.5");
    }
    return new InputTransform.Scale(factor);
  }

  private static List<String> names(Setting<String> key, String value) {
    if (value == null || value.isBlank()) {
      return List.of();
    }
    List<String> names = new ArrayList<>();
    for (String name : value.split(",", -1)) {
      names.add(name.trim());
    }
    if (names.contains("")) {
      throw invalid(key, value, "a name is empty");
    }
    if (new java.util.HashSet<>(names).size() != names.size()) {
      throw invalid(key, value, "a name appears twice");
    }
    for (String name : names) {
      if (name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length
          > io.streamlearn.contract.avro.AvroCodec.MAX_STRING_BYTES) {
        throw invalid(key, value, "a name is longer than 1024 bytes");
      }
    }
    return names;
  }

  private static ConfigException invalid(Setting<?> key, String value, String why) {
    return new ConfigException(
        key.name(), "invalid value '" + value + "' for key '" + key.name() + "': " + why);
  }

  /** The spec's inputs, the hidden sizes, the spec's classes. */
  static int[] sizes(ModelSpec spec, String hidden) {
    String[] parts = hidden.isBlank() ? new String[0] : hidden.split(",");
    if (parts.length + 1 > Snapshots.MAX_LAYERS) {
      throw new ConfigException(
          "hidden",
          "invalid value '"
              + hidden
              + "' for key 'hidden': "
              + parts.length
              + " hidden layers make "
              + (parts.length + 1)
              + " layers, more than a snapshot may have ("
              + Snapshots.MAX_LAYERS
              + ")");
    }
    int[] sizes = new int[parts.length + 2];
    sizes[0] = spec.inputs();
    for (int i = 0; i < parts.length; i++) {
      try {
        sizes[i + 1] = Integer.parseInt(parts[i].trim());
      } catch (NumberFormatException e) {
        sizes[i + 1] = -1;
      }
      if (sizes[i + 1] < 1 || sizes[i + 1] > 65_536) {
        throw new ConfigException(
            "hidden",
            "invalid value '"
                + hidden
                + "' for key 'hidden': must be comma-separated layer sizes between 1 and 65536, e.g. 100 or 256,128");
      }
    }
    sizes[sizes.length - 1] = spec.classes();
    return sizes;
  }
}
