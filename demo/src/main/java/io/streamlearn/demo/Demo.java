package io.streamlearn.demo;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.search.Search;
import io.streamlearn.broker.LocalBroker;
import io.streamlearn.core.config.ConfigBuilder;
import io.streamlearn.core.config.ConfigException;
import io.streamlearn.core.kafka.Topics;
import io.streamlearn.learner.Learner;
import io.streamlearn.learner.LearnerSettings;
import io.streamlearn.mnist.MnistDataset;
import io.streamlearn.mnist.MnistFetcher;
import io.streamlearn.mnist.MnistFiles;
import io.streamlearn.producer.CsvData;
import io.streamlearn.producer.ProducerMain;
import io.streamlearn.producer.ProducerSettings;
import io.streamlearn.scorer.Scorer;
import io.streamlearn.scorer.ScorerSettings;
import io.streamlearn.scorer.ServingModel;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The whole pipeline in one process, on a real Kafka broker: starts the embedded broker (or uses
 * the one given), the learner and the scorer; streams the training set ({@code epochs} times) into
 * the training topic; once the scorer serves the snapshot of the last trained sample, streams the
 * test set as live events; waits for their predictions; prints a status line every second and a
 * summary at the end. The data is MNIST, or the user's: CSV files of feature vectors (a feature
 * model, standardized) or IDX files of 28x28 images.
 */
final class Demo implements AutoCloseable {
  /** What the demo was asked to do. */
  record Options(
      int epochs,
      boolean keep,
      String bootstrapServers,
      int brokerPort,
      int httpPort,
      int learnerMetricsPort,
      double eventRate,
      Path workDir,
      Map<String, String> kafka,
      Data data) {}

  /**
   * What the demo trains and scores: MNIST (every path null), the user's CSV files ({@code
   * trainCsv}, {@code testCsv}: a header row, a {@code label} column, numeric features), or the
   * user's IDX files (28x28 images).
   */
  record Data(
      Path trainCsv,
      Path testCsv,
      Path trainImages,
      Path trainLabels,
      Path testImages,
      Path testLabels) {
    static final Data MNIST = new Data(null, null, null, null, null, null);

    static Data csv(Path train, Path test) {
      return new Data(train, test, null, null, null, null);
    }

    boolean csv() {
      return trainCsv != null;
    }

    boolean idx() {
      return trainImages != null;
    }

    /** What a test example is called in the summary. */
    String examples() {
      return csv() ? "rows" : "images";
    }
  }

  /** What the demo measured; topics say where to look for yourself. */
  record Summary(
      long samplesTrained,
      double trainingSeconds,
      double prequentialAccuracy,
      long snapshotVersion,
      int imagesPredicted,
      long predictionRecords,
      double testAccuracy,
      double latencyP50Ms,
      double latencyP99Ms,
      String trainingTopic,
      String imagesTopic,
      String predictionsTopic,
      String snapshotTopic) {}

  private static final Duration TRAINING_TIMEOUT = Duration.ofMinutes(60);
  private static final Duration SCORING_TIMEOUT = Duration.ofMinutes(5);

  private final Options options;
  private final PrintStream out;
  private final List<AutoCloseable> running = new ArrayList<>();
  private final ScheduledExecutorService ticker =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "demo-status");
            t.setDaemon(true);
            return t;
          });
  private volatile String phase = "starting";
  private Learner learner;
  private Scorer scorer;

  /** The scorer's HTTP port (after {@link #run} started it). */
  int scorerPort() {
    return scorer.httpPort();
  }

  private PredictionWatcher watcher;
  private long lastSamples;
  private long lastTick = System.nanoTime();

  Demo(Options options, PrintStream out) {
    this.options = options;
    this.out = out;
  }

  Summary run() throws InterruptedException {
    Data data = options.data();
    int trainSize;
    int testSize;
    ConfigBuilder<LearnerSettings.Config> learnerConfig = LearnerSettings.builder();
    ConfigBuilder<ProducerSettings.Config> trainData = ProducerSettings.builder();
    ConfigBuilder<ProducerSettings.Config> testData = ProducerSettings.builder();
    if (data.csv()) {
      phase = "reading the CSV files";
      CsvData train = CsvData.read(data.trainCsv(), "label", true);
      CsvData test = CsvData.read(data.testCsv(), "label", true);
      if (!train.featureNames().equals(test.featureNames())) {
        throw new ConfigException(
            "test",
            "invalid value for key 'test': its feature columns "
                + test.featureNames()
                + " are not the training file's "
                + train.featureNames());
      }
      trainSize = train.size();
      testSize = test.size();
      learnerConfig
          .set(LearnerSettings.INPUTS, train.featureNames().size())
          .set(LearnerSettings.CLASSES, Math.max(2, Math.max(train.classes(), test.classes())))
          .set(LearnerSettings.IMAGE_SHAPE, "none");
      if (train.featureNames().stream().noneMatch(n -> n.contains(","))) {
        learnerConfig.set(LearnerSettings.FEATURE_NAMES, String.join(",", train.featureNames()));
      }
      trainData.set(ProducerSettings.CSV, data.trainCsv());
      testData.set(ProducerSettings.CSV, data.testCsv());
    } else if (data.idx()) {
      phase = "reading the IDX files";
      trainSize = MnistDataset.load(data.trainImages(), data.trainLabels()).size();
      testSize = MnistDataset.load(data.testImages(), data.testLabels()).size();
      trainData
          .set(ProducerSettings.IMAGES, data.trainImages())
          .set(ProducerSettings.LABELS, data.trainLabels());
      testData
          .set(ProducerSettings.IMAGES, data.testImages())
          .set(ProducerSettings.LABELS, data.testLabels());
    } else {
      phase = "fetching MNIST";
      MnistFiles files = MnistFetcher.ensureDefault();
      trainSize = MnistDataset.train(files).size();
      testSize = MnistDataset.test(files).size();
    }

    String bootstrap = options.bootstrapServers();
    boolean embedded = bootstrap == null || bootstrap.isBlank();
    // On an embedded broker the topics have their usual names (so other commands can join with
    // their defaults);
    // on a broker given by the user each run gets topics of its own.
    String prefix = embedded ? "" : "demo-" + Long.toString(System.currentTimeMillis(), 36) + "-";
    String training = prefix + Topics.TRAINING.name();
    String images = prefix + Topics.IMAGES.name();
    String predictions = prefix + Topics.PREDICTIONS.name();
    String snapshots = prefix + Topics.SNAPSHOTS.name();
    String deadLetters = prefix + Topics.DEAD_LETTERS.name();
    if (embedded) {
      phase = "starting the broker";
      LocalBroker broker =
          LocalBroker.start(
              options.workDir().resolve("kafka"), "localhost", options.brokerPort(), 0, Map.of());
      running.add(broker);
      bootstrap = broker.bootstrapServers();
    }

    phase = "starting the learner";
    learner =
        Learner.start(
            learnerConfig
                .set(LearnerSettings.BOOTSTRAP_SERVERS, bootstrap)
                .set(LearnerSettings.APPLICATION_ID, prefix + "streamlearn-learner")
                .set(LearnerSettings.TRAINING_TOPIC, training)
                .set(LearnerSettings.SNAPSHOT_TOPIC, snapshots)
                .set(LearnerSettings.DEAD_LETTER_TOPIC, deadLetters)
                .set(LearnerSettings.PARTITIONS, 1)
                .set(LearnerSettings.STATE_DIR, options.workDir().resolve("learner-state"))
                .set(LearnerSettings.METRICS_PORT, options.learnerMetricsPort())
                .kafka(options.kafka())
                .build());
    running.add(0, learner);

    phase = "starting the scorer";
    scorer =
        Scorer.start(
            ScorerSettings.builder()
                .set(ScorerSettings.BOOTSTRAP_SERVERS, bootstrap)
                .set(ScorerSettings.GROUP_ID, prefix + "streamlearn-scorer")
                .set(ScorerSettings.SNAPSHOT_TOPIC, snapshots)
                .set(ScorerSettings.IMAGES_TOPIC, images)
                .set(ScorerSettings.PREDICTIONS_TOPIC, predictions)
                .set(ScorerSettings.DEAD_LETTER_TOPIC, deadLetters)
                .set(ScorerSettings.HTTP_PORT, options.httpPort())
                .kafka(options.kafka())
                .build());
    running.add(0, scorer);
    watcher = new PredictionWatcher(bootstrap, predictions, options.kafka());
    watcher.start();
    running.add(0, watcher);

    out.printf(
        "broker %s%s | learner metrics http://localhost:%d/metrics | scorer http://localhost:%d"
            + " (/v1/predict, /v1/model, /metrics)%n",
        bootstrap, embedded ? " (embedded)" : "", learner.metricsPort(), scorer.httpPort());
    ticker.scheduleAtFixedRate(this::status, 1, 1, TimeUnit.SECONDS);

    long expectedSamples = (long) trainSize * options.epochs();
    phase = "streaming the training set";
    long start = System.nanoTime();
    produce(
        producer(trainData, bootstrap, options)
            .set(ProducerSettings.MODE, ProducerSettings.Mode.TRAIN)
            .set(ProducerSettings.TOPIC, training)
            .set(ProducerSettings.EPOCHS, options.epochs())
            .set(ProducerSettings.PARTITIONS, 1));
    phase = "training";
    await(
        () -> learner.samplesTrained() >= expectedSamples,
        TRAINING_TIMEOUT,
        "the learner to train " + expectedSamples + " samples");
    double trainingSeconds = (System.nanoTime() - start) / 1e9;
    phase = "waiting for the final snapshot";
    await(
        () -> scorer.model().map(m -> m.samplesSeen() >= expectedSamples).orElse(false),
        Duration.ofSeconds(60),
        "the scorer to serve the snapshot of all " + expectedSamples + " samples");

    phase = "streaming the test set as live events";
    produce(
        producer(testData, bootstrap, options)
            .set(ProducerSettings.MODE, ProducerSettings.Mode.EVENTS)
            .set(ProducerSettings.TOPIC, images)
            .set(ProducerSettings.RATE, options.eventRate()));
    phase = "scoring";
    await(
        () -> watcher.images() >= testSize,
        SCORING_TIMEOUT,
        "predictions for all " + testSize + " test " + data.examples() + " on " + predictions);
    phase = "done";
    ticker.shutdownNow();
    status();

    ServingModel model = scorer.model().orElseThrow();
    return new Summary(
        (long) learner.samplesTrained(),
        trainingSeconds,
        gauge(learner.registry(), "streamlearn.learner.prequential.accuracy"),
        model.version(),
        watcher.images(),
        watcher.records(),
        watcher.accuracy(),
        watcher.latencyQuantile(0.5, Integer.MAX_VALUE),
        watcher.latencyQuantile(0.99, Integer.MAX_VALUE),
        training,
        images,
        predictions,
        snapshots);
  }

  void printSummary(Summary s) {
    out.println();
    out.println("| streamlearn demo | |");
    out.println("|---|---:|");
    out.printf(
        "| samples trained (%d epoch%s) | %,d |%n",
        options.epochs(), options.epochs() == 1 ? "" : "s", s.samplesTrained());
    out.printf(
        "| training time, from the first sample produced to the last trained | %.1f s |%n",
        s.trainingSeconds());
    out.printf("| training rate | %,.0f samples/s |%n", s.samplesTrained() / s.trainingSeconds());
    out.printf(
        "| learner's prequential accuracy (rolling) | %.2f%% |%n", 100 * s.prequentialAccuracy());
    out.printf("| snapshot version served | v%d |%n", s.snapshotVersion());
    String examples = options.data().examples();
    out.printf(
        "| test %s predicted (distinct ids / prediction records) | %,d / %,d |%n",
        examples, s.imagesPredicted(), s.predictionRecords());
    out.printf("| scorer's accuracy on the test %s | %.2f%% |%n", examples, 100 * s.testAccuracy());
    out.printf(
        "| latency, event time to prediction, p50 / p99 | %.0f / %.0f ms |%n",
        s.latencyP50Ms(), s.latencyP99Ms());
    out.println();
    out.printf(
        "topics: %s -> learner -> %s -> scorer; %s -> scorer -> %s%n",
        s.trainingTopic(), s.snapshotTopic(), s.imagesTopic(), s.predictionsTopic());
    out.printf(
        "metrics: learner http://localhost:%d/metrics, scorer http://localhost:%d/metrics%n",
        learner.metricsPort(), scorer.httpPort());
  }

  private void status() {
    try {
      long now = System.nanoTime();
      long samples = (long) learner.samplesTrained();
      double rate = (samples - lastSamples) / ((now - lastTick) / 1e9);
      lastSamples = samples;
      lastTick = now;
      double prequential = gauge(learner.registry(), "streamlearn.learner.prequential.accuracy");
      double version = gauge(learner.registry(), "streamlearn.learner.snapshot.version");
      String serving = scorer.model().map(m -> "v" + m.version()).orElse("-");
      out.printf(
          "[%s] trained %,d (%,.0f samples/s) | prequential %s | snapshot %s | scorer %s, live accuracy %s"
              + " | predicted %,d | p99 %s%n",
          phase,
          samples,
          rate,
          percent(prequential),
          Double.isNaN(version) ? "-" : "v" + (long) version,
          serving,
          percent(scorer.liveAccuracy()),
          watcher.images(),
          millis(watcher.latencyQuantile(0.99, 2000)));
    } catch (RuntimeException e) {
      out.println("[status] " + e);
    }
  }

  /** Blocks until Ctrl-C (the shutdown hook closes the demo). */
  void keepRunning() throws InterruptedException {
    phase = "running (--keep)";
    out.println(
        "still running (--keep): produce more with ./streamlearn produce; Ctrl-C stops everything");
    ticker.shutdownNow();
    ScheduledExecutorService slow = Executors.newSingleThreadScheduledExecutor();
    slow.scheduleAtFixedRate(this::status, 10, 10, TimeUnit.SECONDS);
    Thread.currentThread().join();
  }

  private static double gauge(MeterRegistry registry, String name) {
    var gauge = Search.in(registry).name(name).gauge();
    return gauge == null ? Double.NaN : gauge.value();
  }

  private static String percent(double v) {
    return Double.isNaN(v) ? "-" : String.format("%.1f%%", 100 * v);
  }

  private static String millis(double v) {
    return Double.isNaN(v) ? "-" : String.format("%.0f ms", v);
  }

  /** The producer's settings every run of the demo shares, added to {@code data}'s. */
  private static ConfigBuilder<ProducerSettings.Config> producer(
      ConfigBuilder<ProducerSettings.Config> data, String bootstrap, Options options) {
    return data.set(ProducerSettings.BOOTSTRAP_SERVERS, bootstrap)
        .set(ProducerSettings.METRICS_PORT, 0)
        .set(ProducerSettings.PROGRESS, false)
        .kafka(options.kafka());
  }

  private static void produce(ConfigBuilder<ProducerSettings.Config> config) {
    StringWriter errors = new StringWriter();
    PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
    PrintStream err =
        new PrintStream(
            new OutputStream() {
              @Override
              public void write(int b) {
                errors.write(b);
              }
            },
            true);
    int code = ProducerMain.run(config.build(), quiet, err, false);
    if (code != 0) {
      throw new IllegalStateException("the producer failed (exit " + code + "): " + errors);
    }
  }

  private static void await(BooleanSupplier condition, Duration timeout, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "timed out after " + timeout.toSeconds() + " s waiting for " + what);
      }
      Thread.sleep(50);
    }
  }

  private static PrintWriter quietWriter() {
    return new PrintWriter(new StringWriter());
  }

  /** Stops the scorer, the learner and the broker, in that order. */
  @Override
  public void close() {
    ticker.shutdownNow();
    for (AutoCloseable c : running) {
      try {
        c.close();
      } catch (Exception e) {
        out.println("stopping " + c.getClass().getSimpleName() + ": " + e);
      }
    }
    running.clear();
  }
}
