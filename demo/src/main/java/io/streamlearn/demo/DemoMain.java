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
          "epochs", "Times the 60,000 training images are streamed to the learner.", 1, 1, 100);
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
  static final Setting<Path> WORK_DIR =
      Setting.path(
          "work-dir",
          "Folder for the embedded broker's data and the learner's state; emptied at start.",
          DataDir.path().resolve("demo").toString());

  static final ServiceCommand COMMAND =
      new ServiceCommand(
          "streamlearn demo",
          "Runs the whole pipeline on an embedded real Kafka broker: trains the learner on the MNIST training set,"
              + " then scores the test set as live events with the scorer, and prints a summary.",
          List.of(
              EPOCHS,
              KEEP,
              BOOTSTRAP_SERVERS,
              BROKER_PORT,
              HTTP_PORT,
              LEARNER_METRICS_PORT,
              EVENT_RATE,
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
        c.kafkaProperties());
  }

  static int run(Demo.Options options) throws InterruptedException {
    try {
      FileTrees.delete(options.workDir());
    } catch (IOException e) {
      System.err.println("demo: cannot empty " + options.workDir() + " (key 'work-dir'): " + e);
      return 2;
    }
    System.out.printf(
        "streamlearn demo: %d epoch(s) of MNIST through the learner, then the test set through the"
            + " scorer; logs in %s%n",
        options.epochs(), DataDir.path().resolve("demo.log"));
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
