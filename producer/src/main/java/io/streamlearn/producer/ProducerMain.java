package io.streamlearn.producer;

import io.streamlearn.core.config.ConfigException;
import io.streamlearn.core.config.Configuration;
import io.streamlearn.core.config.ServiceCommand;
import io.streamlearn.core.kafka.KafkaClients;
import io.streamlearn.core.kafka.TopicAdmin;
import io.streamlearn.core.kafka.TopicAdmin.TopicSpec;
import io.streamlearn.core.metrics.MetricsEndpoint;
import io.streamlearn.mnist.IdxFormatException;
import io.streamlearn.mnist.MnistDataset;
import io.streamlearn.mnist.MnistFetchException;
import io.streamlearn.mnist.MnistFetcher;
import io.streamlearn.mnist.MnistFiles;
import io.streamlearn.producer.ProducerSettings.Config;
import io.streamlearn.producer.ProducerSettings.Mode;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code ./streamlearn produce}: streams MNIST (or the user's IDX files) to Kafka. Reads the IDX
 * files, creates the topic if missing, writes TrainingSample or ImageEvent records, prints a
 * summary. Exit code 0 when every record was acknowledged, 1 when some were not or the run failed,
 * 2 on bad configuration.
 */
public final class ProducerMain {
  private static final Logger log = LoggerFactory.getLogger(ProducerMain.class);

  public static final ServiceCommand COMMAND =
      new ServiceCommand(
          "streamlearn produce",
          "Streams MNIST (or your IDX files, or a CSV of feature vectors with --csv) to Kafka: the training set as"
              + " TrainingSample records (--mode train) or the test set as ImageEvent records (--mode events).",
          ProducerSettings.ALL);

  private ProducerMain() {}

  public static void main(String[] args) {
    System.exit(run(args, System.getenv(), System.out, System.err, true));
  }

  /** Runs the producer; returns the exit code. */
  public static int run(
      String[] args,
      Map<String, String> env,
      PrintStream out,
      PrintStream err,
      boolean stopOnSignal) {
    Config config;
    try {
      Optional<Configuration> parsed = COMMAND.parse(args, env, new PrintWriter(out, true));
      if (parsed.isEmpty()) {
        return 0;
      }
      config = ProducerSettings.resolve(parsed.get());
      log.info("producer config: {}", parsed.get().describe());
    } catch (ConfigException e) {
      err.println("produce: " + e.getMessage());
      return 2;
    }
    return run(config, out, err, stopOnSignal);
  }

  /**
   * Runs the producer on a configuration built in code ({@link ProducerSettings#builder}); returns
   * the exit code, as the command would.
   */
  public static int run(Config config, PrintStream out, PrintStream err, boolean stopOnSignal) {
    ProducerData data;
    try {
      data = load(config);
    } catch (IdxFormatException | MnistFetchException | DataException e) {
      err.println("produce: " + e.getMessage());
      return 2;
    }
    try (MetricsEndpoint metrics = MetricsEndpoint.start("producer", config.metrics())) {
      ensureTopic(config);
      Streamer streamer = new Streamer(config, data, metrics.registry());
      AtomicBoolean stop = new AtomicBoolean();
      CountDownLatch finished = new CountDownLatch(1);
      Thread hook =
          new Thread(
              () -> {
                stop.set(true);
                try {
                  finished.await();
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
              },
              "producer-shutdown");
      if (stopOnSignal) {
        Runtime.getRuntime().addShutdownHook(hook);
      }
      Progress progress =
          Progress.start(config.progress(), streamer.plannedRecords(), streamer::acknowledged, err);
      Streamer.Summary summary;
      try {
        summary = streamer.run(stop::get);
      } finally {
        progress.close();
        finished.countDown();
      }
      out.printf(
          "produced %d %s records to %s (%.1f MB) in %.2f s: %.0f records/s%n",
          summary.records(),
          config.mode() == Mode.TRAIN ? "TrainingSample" : "ImageEvent",
          config.topic(),
          summary.bytes() / 1e6,
          summary.seconds(),
          summary.recordsPerSecond());
      if (summary.failed() > 0) {
        err.printf(
            "produce: %d records were not acknowledged; first error: %s%n",
            summary.failed(), summary.firstError());
        return 1;
      }
      if (stop.get()) {
        err.println("produce: stopped early by a signal");
      }
      return 0;
    } catch (RuntimeException e) {
      return ServiceCommand.reportFailure("produce", e, err);
    }
  }

  /** The rows to stream, read whole and checked before anything is sent. */
  static ProducerData load(Config config) {
    if (config.csv() != null) {
      return CsvData.read(config.csv(), config.labelColumn(), config.mode() == Mode.TRAIN);
    }
    MnistDataset images;
    if (config.images() != null) {
      images = MnistDataset.load(config.images(), config.labels());
    } else {
      MnistFiles files = new MnistFetcher(config.dataDir()).ensure();
      images = config.mode() == Mode.TRAIN ? MnistDataset.train(files) : MnistDataset.test(files);
    }
    return new ImageData(images);
  }

  /** An IDX data set as the producer streams it. */
  private record ImageData(MnistDataset images) implements ProducerData {
    @Override
    public int size() {
      return images.size();
    }

    @Override
    public boolean labelled() {
      return true;
    }

    @Override
    public int label(int row) {
      return images.label(row);
    }

    @Override
    public byte[] pixels(int row) {
      return images.pixels(row);
    }

    @Override
    public java.util.List<Float> features(int row) {
      return null;
    }
  }

  private static void ensureTopic(Config config) {
    try (TopicAdmin topics =
        TopicAdmin.connect(KafkaClients.properties(config.bootstrapServers(), config.kafka()))) {
      topics.ensure(
          new TopicSpec(
              config.topic(),
              config.partitions(),
              config.replicationFactor(),
              Map.of("min.insync.replicas", Integer.toString(config.minInsyncReplicas()))));
    }
  }
}
