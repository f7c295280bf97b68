package io.streamlearn.demo;

import io.streamlearn.core.DataDir;
import io.streamlearn.core.FileTrees;
import io.streamlearn.core.config.ConfigException;
import io.streamlearn.core.config.Configuration;
import io.streamlearn.core.config.ServiceCommand;
import io.streamlearn.core.config.Setting;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code ./streamlearn demo}: the whole pipeline in one command (see {@link Demo}). Exit code 0
 * after the summary, 1 when a part fails, 2 on bad configuration. Logs go to {@code data/demo.log},
 * so the terminal shows the status line.
 */
public final class DemoMain {
  static final Setting<Integer> EPOCHS =
      Setting.integer(
          "epochs",
          "Times the training set is streamed to the learner (MNIST: 60,000 images).",
          1,
          1,
          100);
  static final Setting<Boolean> KEEP =
      Setting.onOff("keep", "Keep everything running after the summary, until Ctrl-C.", false);
  static final Setting<String> BOOTSTRAP_SERVERS =
      Setting.text(
          "bootstrap-servers",
          "'embedded' starts a real Kafka broker in the process; else the Kafka cluster to use (its topics then get a"
              + " per-run prefix).",
          "embedded");
  static final Setting<Integer> BROKER_PORT =
      Setting.integer(
          "broker-port", "Client port of the embedded broker (0 = any free port).", 9092, 0, 65535);
  static final Setting<Integer> HTTP_PORT =
      Setting.integer(
          "http-port",
          "The scorer's HTTP API and /metrics port (0 = any free port).",
          8080,
          0,
          65535);
  static final Setting<Integer> LEARNER_METRICS_PORT =
      Setting.integer(
          "learner-metrics-port",
          "The learner's /metrics port (0 = any free port).",
          9401,
          0,
          65535);
  static final Setting<Double> EVENT_RATE =
      Setting.decimal(
          "event-rate",
          "Test images per second streamed as live events once training is done.",
          2000.0,
          1,
          1e9);
  static final Setting<Path> TRAIN =
      Setting.path(
          "train",
          "A CSV file of labelled feature vectors to train on instead of MNIST (a header row, a label column of"
              + " class indexes, every other column a numeric feature); with --test.",
          null);
  static final Setting<Path> TEST =
      Setting.path(
          "test",
          "The CSV file of labelled feature vectors scored as live events, with the same columns as --train.",
          null);
  static final Setting<Path> TRAIN_IMAGES =
      Setting.path(
          "train-images",
          "An IDX images file (28x28, raw or .gz) to train on instead of MNIST's.",
          null);
  static final Setting<Path> TRAIN_LABELS =
      Setting.path("train-labels", "The IDX labels file that goes with --train-images.", null);
  static final Setting<Path> TEST_IMAGES =
      Setting.path("test-images", "The IDX images file scored as live events.", null);
  static final Setting<Path> TEST_LABELS =
      Setting.path("test-labels", "The IDX labels file that goes with --test-images.", null);
  static final Setting<Path> WORK_DIR =
      Setting.path(
          "work-dir",
          "Folder for the embedded broker's data and the learner's state; emptied at start.",
          DataDir.path().resolve("demo").toString());

  static final ServiceCommand COMMAND =
      new ServiceCommand(
          "streamlearn demo",
          "Runs the whole pipeline on an embedded real Kafka broker: trains the learner on the MNIST training set"
              + " (or your --train/--test CSV files, or your IDX files), then scores the test set as live events with"
              + " the scorer, and prints a summary.",
          List.of(
              EPOCHS,
              KEEP,
              BOOTSTRAP_SERVERS,
              BROKER_PORT,
              HTTP_PORT,
              LEARNER_METRICS_PORT,
              EVENT_RATE,
              TRAIN,
              TEST,
              TRAIN_IMAGES,
              TRAIN_LABELS,
              TEST_IMAGES,
              TEST_LABELS,
              WORK_DIR));

  private DemoMain() {}

  public static void main(String[] args) throws InterruptedException {
    // Logs to a file, so the terminal keeps the status line; set before anything logs.
    if (System.getProperty("log4j2.configurationFile") == null) {
      System.setProperty("log4j2.configurationFile", "log4j2-demo.xml");
    }
    System.exit(run(COMMAND.resolveOrExit(args, "demo", DemoMain::options)));
  }

  static Demo.Options options(Configuration c) {
    String bootstrap = c.get(BOOTSTRAP_SERVERS);
    return new Demo.Options(
        c.get(EPOCHS),
        c.get(KEEP),
        bootstrap.equals("embedded") ? null : bootstrap,
        c.get(BROKER_PORT),
        c.get(HTTP_PORT),
        c.get(LEARNER_METRICS_PORT),
        c.get(EVENT_RATE),
        c.get(WORK_DIR),
        c.kafkaProperties(),
        data(c));
  }

  /** MNIST, the --train/--test CSV pair, or the four IDX files; any other mix names a key. */
  static Demo.Data data(Configuration c) {
    Path train = c.find(TRAIN);
    Path test = c.find(TEST);
    List<Path> idx =
        java.util.Arrays.asList(
            c.find(TRAIN_IMAGES), c.find(TRAIN_LABELS), c.find(TEST_IMAGES), c.find(TEST_LABELS));
    boolean anyIdx = idx.stream().anyMatch(java.util.Objects::nonNull);
    if ((train == null) != (test == null)) {
      String missing = train == null ? "train" : "test";
      throw new ConfigException(
          missing, "missing value for key '" + missing + "': --train and --test go together");
    }
    if (train != null && anyIdx) {
      throw new ConfigException(
          "train", "invalid value for key 'train': give CSV files or IDX files, not both");
    }
    if (anyIdx) {
      List<Setting<Path>> keys = List.of(TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS);
      for (int i = 0; i < keys.size(); i++) {
        if (idx.get(i) == null) {
          throw new ConfigException(
              keys.get(i).name(),
              "missing value for key '"
                  + keys.get(i).name()
                  + "': --train-images, --train-labels, --test-images and --test-labels go together");
        }
      }
      return new Demo.Data(null, null, idx.get(0), idx.get(1), idx.get(2), idx.get(3));
    }
    return train != null ? Demo.Data.csv(train, test) : Demo.Data.MNIST;
  }

  static int run(Demo.Options options) throws InterruptedException {
    try {
      FileTrees.delete(options.workDir());
    } catch (IOException e) {
      System.err.println("demo: cannot empty " + options.workDir() + " (key 'work-dir'): " + e);
      return 2;
    }
    Demo.Data data = options.data();
    String what =
        data.csv()
            ? data.trainCsv().getFileName().toString()
            : data.idx() ? data.trainImages().getFileName().toString() : "MNIST";
    System.out.printf(
        "streamlearn demo: %d epoch(s) of %s through the learner, then the test set through the"
            + " scorer; logs in %s%n",
        options.epochs(), what, DataDir.path().resolve("demo.log"));
    Demo demo = new Demo(options, System.out);
    Runtime.getRuntime().addShutdownHook(new Thread(demo::close, "demo-shutdown"));
    try {
      Demo.Summary summary = demo.run();
      demo.printSummary(summary);
      if (options.keep()) {
        demo.keepRunning();
      }
      return 0;
    } catch (ConfigException e) {
      System.err.println("demo: " + e.getMessage());
      return 2;
    } catch (RuntimeException e) {
      System.err.println("demo failed: " + e.getMessage() + " (details in the log)");
      org.slf4j.LoggerFactory.getLogger(DemoMain.class).error("demo failed", e);
      return 1;
    } finally {
      System.out.println("stopping the scorer, the learner and the broker ...");
      demo.close();
    }
  }
}
