package io.streamlearn.bench;

import io.streamlearn.broker.LocalBroker;
import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.contract.avro.Codecs;
import io.streamlearn.core.FileTrees;
import io.streamlearn.core.Shuffle;
import io.streamlearn.learner.Learner;
import io.streamlearn.learner.LearnerMain;
import io.streamlearn.learner.LearnerSettings;
import io.streamlearn.mnist.MnistDataset;
import io.streamlearn.mnist.MnistFetcher;
import io.streamlearn.mnist.MnistFiles;
import io.streamlearn.model.Adam;
import io.streamlearn.model.DenseNetwork;
import io.streamlearn.model.Evaluation;
import io.streamlearn.model.InputTransform;
import io.streamlearn.model.Snapshots;
import io.streamlearn.model.TrainingLoop;
import io.streamlearn.producer.ProducerSettings;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.kafka.streams.KafkaStreams;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * {@code ./streamlearn benchmark [epochs] [e2e]}: the learner's speed and accuracy, side by side in
 * one run on this machine.
 *
 * <ol>
 *   <li>the bare training loop ({@link TrainingLoop}: the learner's network, Adam and batching code
 *       over in-memory batches), samples/s;
 *   <li>the GEMM-only ceiling: the five matrix products of a 784-100-10 step at batch 64, nothing
 *       else;
 *   <li>DL4J's MultiLayerNetwork with the same architecture and Adam settings on the same batches;
 *   <li>the learner end to end on a real local broker: samples/s consumed and trained from a topic
 *       pre-filled with 5 epochs of MNIST, with 1 and with 3 partitions; test accuracy of the final
 *       snapshot after 1 and 5 epochs; the time to restore the state from its changelog after 5
 *       epochs.
 * </ol>
 *
 * The learner runs with its defaults, changed by {@code STREAMLEARN_<KEY>} environment variables as
 * usual.
 */
public final class LearnerBenchmark {
  private static final int BATCH = 64;
  private static final int[] SIZES = {784, 100, 10};

  private LearnerBenchmark() {}

  public static void main(String[] args) throws Exception {
    int epochs = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    boolean endToEndOnly = args.length > 1 && (args[1].equals("e2e") || args[1].equals("p1"));
    MnistFiles files = MnistFetcher.ensureDefault();
    MnistDataset train = MnistDataset.train(files);
    MnistDataset test = MnistDataset.test(files);
    List<String[]> rows = new ArrayList<>();

    double bare = bareLoop(train, endToEndOnly ? 1 : 3);
    double gemm = endToEndOnly ? Double.NaN : gemmCeiling();
    double dl4j = endToEndOnly ? Double.NaN : dl4j(train, 2);
    rows.add(row("bare training loop (in memory), at the start", bare, "1.00"));
    rows.add(row("GEMM-only ceiling (5 GEMMs/step)", gemm, String.format("%.2f", gemm / bare)));
    rows.add(row("DL4J MultiLayerNetwork.fit", dl4j, String.format("%.2f", dl4j / bare)));

    Path dir = Files.createTempDirectory("streamlearn-bench");
    try (LocalBroker broker =
        LocalBroker.start(dir.resolve("kafka"), "localhost", 0, 0, Map.of())) {
      String bootstrap = broker.bootstrapServers();
      EndToEnd one = endToEnd(bootstrap, dir, "p1", 1, epochs, train, test, true);
      if (args.length > 1 && args[1].equals("p1")) {
        return;
      }
      EndToEnd three = endToEnd(bootstrap, dir, "p3", 3, epochs, train, test, false);
      // The bare loop drifts within a run: the end-to-end ratios divide by the median of every bare
      // epoch measured.
      double bareAll = median(BARE_EPOCHS.stream().mapToDouble(Double::doubleValue).toArray());
      rows.add(
          row(
              "bare training loop, median of all " + BARE_EPOCHS.size() + " epochs in this run",
              bareAll,
              "1.00"));
      rows.add(
          row(
              "learner end to end, 1 partition, " + epochs + " epochs",
              one.samplesPerSecond,
              String.format(
                  "%.2f (paired: %.2f)", one.samplesPerSecond / bareAll, one.ratioToBare)));
      rows.add(
          row(
              "learner end to end, 3 partitions, " + epochs + " epochs",
              three.samplesPerSecond,
              String.format(
                  "%.2f (paired: %.2f)", three.samplesPerSecond / bareAll, three.ratioToBare)));
      EndToEnd single =
          endToEndOnly ? one : endToEnd(bootstrap, dir, "e1", 3, 1, train, test, false);

      System.out.println();
      System.out.println("| what | samples/s | ratio to bare loop |");
      System.out.println("|---|---:|---:|");
      for (String[] r : rows) {
        System.out.printf("| %s | %s | %s |%n", r[0], r[1], r[2]);
      }
      System.out.println();
      System.out.println("| accuracy of the final snapshot on the 10,000 test images | |");
      System.out.println("|---|---:|");
      if (!endToEndOnly) {
        System.out.printf("| after 1 epoch (3 partitions) | %.2f%% |%n", 100 * single.testAccuracy);
      }
      System.out.printf(
          "| after %d epochs (1 partition) | %.2f%% |%n", epochs, 100 * one.testAccuracy);
      System.out.printf(
          "| after %d epochs (3 partitions) | %.2f%% |%n", epochs, 100 * three.testAccuracy);
      System.out.printf(
          "%nstate restore from the changelog after %d epochs (local state deleted): %.1f s%n",
          epochs, one.restoreSeconds);
      System.out.printf(
          "end-to-end rate = the learner's samples counter from 10%% of the stream to its last full"
              + " batch / time (the half batch after it waits --flush-idle by design), median of 3 learners; wall time of the first incl. start-up and the final snapshot: %.1f s"
              + " (1 partition), %.1f s (3 partitions)%n",
          one.wallSeconds, three.wallSeconds);
      System.out.println(
          "ratio = rate / the median of every bare-loop epoch measured in this run (at the start and"
              + " before each learner); GEMM and DL4J are divided by the bare loop at the start, measured beside them;"
              + " paired ratio = median over the 3 learners of (its rate / the bare loop's rate over one epoch measured"
              + " just before it, in the same JVM)");
    } finally {
      FileTrees.delete(dir);
    }
  }

  private static String[] row(String what, double rate, String ratio) {
    return new String[] {what, String.format("%,.0f", rate), ratio};
  }

  /** Every bare-loop epoch measured in this run, samples/s. */
  private static final List<Double> BARE_EPOCHS = new ArrayList<>();

  /**
   * Median samples/s over epochs of the bare loop with the learner's defaults (each recorded in
   * BARE_EPOCHS).
   */
  static double bareLoop(MnistDataset train, int epochs) {
    LearnerSettings.Config defaults = defaults();
    DenseNetwork network = DenseNetwork.initialized(SIZES, DataType.FLOAT, 42, defaults.init());
    Adam adam = new Adam(defaults.adam(), network.parameters());
    io.streamlearn.model.WeightAverage average =
        defaults.emaDecay() > 0
            ? new io.streamlearn.model.WeightAverage(defaults.emaDecay(), network.parameters())
            : null;
    TrainingLoop loop = new TrainingLoop(network, adam, average, defaults::learningRate, BATCH);
    SplittableRandom random = new SplittableRandom(1);
    loop.epoch(train, Shuffle.permutation(10_000, random), InputTransform.Scale.MNIST); // warm-up
    double[] rates = new double[epochs];
    for (int e = 0; e < epochs; e++) {
      long start = System.nanoTime();
      int n =
          loop.epoch(train, Shuffle.permutation(train.size(), random), InputTransform.Scale.MNIST);
      rates[e] = n / ((System.nanoTime() - start) / 1e9);
      BARE_EPOCHS.add(rates[e]);
    }
    return median(rates);
  }

  /** Samples/s if a training step were its five GEMMs alone. */
  static double gemmCeiling() {
    INDArray x = Nd4j.rand(DataType.FLOAT, BATCH, 784);
    INDArray w1 = Nd4j.rand(DataType.FLOAT, 784, 100);
    INDArray w2 = Nd4j.rand(DataType.FLOAT, 100, 10);
    INDArray h = Nd4j.create(DataType.FLOAT, BATCH, 100);
    INDArray o = Nd4j.create(DataType.FLOAT, BATCH, 10);
    INDArray dw2 = Nd4j.create(DataType.FLOAT, 100, 10);
    INDArray dh = Nd4j.create(DataType.FLOAT, BATCH, 100);
    INDArray dw1 = Nd4j.create(DataType.FLOAT, 784, 100);
    double[] rates = new double[5];
    for (int rep = 0; rep < rates.length + 1; rep++) {
      int steps = 2000;
      long start = System.nanoTime();
      for (int i = 0; i < steps; i++) {
        Nd4j.gemm(x, w1, h, false, false, 1, 0);
        Nd4j.gemm(h, w2, o, false, false, 1, 0);
        Nd4j.gemm(h, o, dw2, true, false, 1, 0);
        Nd4j.gemm(o, w2, dh, false, true, 1, 0);
        Nd4j.gemm(x, dh, dw1, true, false, 1, 0);
      }
      if (rep > 0) {
        rates[rep - 1] = steps * BATCH / ((System.nanoTime() - start) / 1e9);
      }
    }
    return median(rates);
  }

  /**
   * DL4J with the same architecture, initialisation family and Adam settings on the same batches.
   */
  static double dl4j(MnistDataset train, int epochs) {
    LearnerSettings.Config defaults = defaults();
    MultiLayerConfiguration conf =
        new NeuralNetConfiguration.Builder()
            .seed(42)
            .dataType(DataType.FLOAT)
            .updater(
                new org.nd4j.linalg.learning.config.Adam(
                    defaults.adam().learningRate(),
                    defaults.adam().beta1(),
                    defaults.adam().beta2(),
                    defaults.adam().epsilon()))
            .list()
            .layer(
                new DenseLayer.Builder()
                    .nIn(784)
                    .nOut(100)
                    .activation(Activation.RELU)
                    .weightInit(
                        defaults.init() == DenseNetwork.Init.HE
                            ? WeightInit.RELU
                            : WeightInit.XAVIER_UNIFORM)
                    .build())
            .layer(
                new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT)
                    .nIn(100)
                    .nOut(10)
                    .activation(Activation.SOFTMAX)
                    .weightInit(WeightInit.XAVIER_UNIFORM)
                    .build())
            .build();
    MultiLayerNetwork network = new MultiLayerNetwork(conf);
    network.init();
    List<DataSet> batches = new ArrayList<>();
    byte[] pixels = new byte[784];
    for (int start = 0; start + BATCH <= train.size(); start += BATCH) {
      INDArray x = Nd4j.create(DataType.FLOAT, BATCH, 784);
      INDArray y = Nd4j.create(DataType.FLOAT, BATCH, 10);
      for (int r = 0; r < BATCH; r++) {
        train.copyPixels(start + r, pixels, 0);
        DenseNetwork.setInputRow(x, r, pixels, 0, Snapshots.INPUT_SCALE);
        y.putScalar(r, train.label(start + r), 1f);
      }
      batches.add(new DataSet(x, y));
    }
    for (int i = 0; i < 100; i++) {
      network.fit(batches.get(i)); // warm-up
    }
    double[] rates = new double[epochs];
    for (int e = 0; e < epochs; e++) {
      long start = System.nanoTime();
      for (DataSet batch : batches) {
        network.fit(batch);
      }
      rates[e] = batches.size() * BATCH / ((System.nanoTime() - start) / 1e9);
    }
    return median(rates);
  }

  /**
   * @param samplesPerSecond median end-to-end rate of the runs
   * @param ratioToBare median over the runs of (end-to-end rate / bare-loop rate measured just
   *     before that run)
   */
  record EndToEnd(
      double samplesPerSecond,
      double ratioToBare,
      double wallSeconds,
      double testAccuracy,
      double restoreSeconds) {}

  static EndToEnd endToEnd(
      String bootstrap,
      Path dir,
      String name,
      int partitions,
      int epochs,
      MnistDataset train,
      MnistDataset test,
      boolean measureRestore)
      throws Exception {
    String topic = "bench-train-" + name;
    int rc =
        Prefill.run(
            Prefill.training(bootstrap, topic, partitions).set(ProducerSettings.EPOCHS, epochs));
    if (rc != 0) {
      throw new IllegalStateException("producer failed: " + rc);
    }
    long expected = 60_000L * epochs;
    // Three learners, one after the other, each a new application on the same pre-filled topic: the
    // median rate.
    double[] rates = new double[3];
    double[] ratios = new double[rates.length];
    double accuracy = Double.NaN;
    double wall = Double.NaN;
    LearnerSettings.Config first = null;
    for (int run = 0; run < rates.length; run++) {
      String snapshots = "bench-snapshots-" + name + "-" + run;
      LearnerSettings.Config config =
          config(
              bootstrap,
              "bench-learner-" + name + "-" + run,
              topic,
              snapshots,
              dir.resolve("state-" + name + "-" + run));
      // The bare loop again right before each run: on a shared machine the speed drifts between
      // runs, and the
      // ratio of two figures taken under the same conditions says more than the ratio of two taken
      // minutes apart.
      double bare = bareLoop(train, 1);
      long start = System.nanoTime();
      ModelSnapshot last;
      try (Learner learner = Learner.start(config)) {
        // Rate over the samples from 10% of the stream to its last full batch, read off the
        // learner's own counter
        // every 10 ms: start-up and JIT warm-up stay out, and the end is when that batch trained,
        // not when it was
        // published. The half batch after it (300,000 = 4,687.5 batches of 64) trains only after
        // --flush-idle
        // (500 ms) without a new sample: a wait by design, not a cost of throughput, printed apart.
        long fullBatches = expected - expected % config.batchSize();
        long tenPercentAt = 0;
        Map<String, Long> cpuAtTenPercent = Map.of();
        long deadline = System.nanoTime() + Duration.ofMinutes(15).toNanos();
        while (learner.samplesTrained() < fullBatches) {
          if (tenPercentAt == 0 && learner.samplesTrained() >= expected / 10) {
            tenPercentAt = System.nanoTime();
            cpuAtTenPercent = ThreadCpu.snapshot();
          }
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException(
                "the learner did not train " + expected + " samples in 15 minutes");
          }
          Thread.sleep(10);
        }
        long lastFullAt = System.nanoTime();
        rates[run] = (fullBatches - expected / 10) / ((lastFullAt - tenPercentAt) / 1e9);
        if (Boolean.getBoolean(
            "bench.ratios")) { // the stream thread's time split, the consumer's fetches
          learner.registry().getMeters().stream()
              .filter(
                  m ->
                      m.getId()
                          .getName()
                          .matches(
                              "kafka\\.(stream\\.thread\\.(.*ratio|commit\\.latency\\.avg|poll\\.latency\\.avg|poll\\.records\\.avg)|consumer\\.fetch\\.manager\\.(fetch\\.latency\\.(avg|max)|records\\.per\\.request\\.avg|fetch\\.size\\.avg|fetch\\.rate|fetch\\.throttle\\.time\\.avg)|consumer\\.(time\\.between\\.poll\\.avg|poll\\.idle\\.ratio\\.avg))"))
              .forEach(
                  m ->
                      System.err.println(
                          "[benchmark]   "
                              + m.getId().getName()
                              + " "
                              + m.measure().iterator().next().getValue()));
        }
        System.err.printf(
            "[benchmark] %s run %d, CPU share of the busiest threads from 10%% to the last full batch: %s%n",
            name,
            run + 1,
            ThreadCpu.busiest(
                cpuAtTenPercent, ThreadCpu.snapshot(), System.nanoTime() - tenPercentAt, 6));
        while (learner.samplesTrained() < expected && System.nanoTime() < deadline) {
          Thread.sleep(10);
        }
        if (expected > fullBatches) {
          System.err.printf(
              "[benchmark] %s run %d: the last %d samples trained %d ms after the last full batch"
                  + " (--flush-idle %d ms)%n",
              name,
              run + 1,
              expected - fullBatches,
              (System.nanoTime() - lastFullAt) / 1_000_000,
              config.flushIdle().toMillis());
        }
        last = await(bootstrap, snapshots, expected, Duration.ofMinutes(2));
      }
      if (run == 0) {
        first = config;
        wall = (System.nanoTime() - start) / 1e9;
        accuracy = Evaluation.accuracy(last, test);
      }
      ratios[run] = rates[run] / bare;
      System.err.printf(
          "[benchmark] %s run %d: %d samples, %.0f samples/s; bare loop just before: %.0f samples/s;"
              + " ratio %.2f%n",
          name, run + 1, last.getSamplesSeen(), rates[run], bare, ratios[run]);
    }
    double rate = median(rates);
    System.err.printf(
        "[benchmark] %s: median %.0f samples/s, median ratio to the bare loop %.2f, test accuracy"
            + " %.4f%n",
        name, rate, median(ratios), accuracy);

    double restore = Double.NaN;
    if (measureRestore) {
      FileTrees.delete(first.stateDir());
      long t0 = System.nanoTime();
      try (Learner learner = Learner.start(first)) {
        while (learner.state() != KafkaStreams.State.RUNNING) {
          Thread.sleep(20);
        }
        restore = (System.nanoTime() - t0) / 1e9;
      }
    }
    return new EndToEnd(rate, median(ratios), wall, accuracy, restore);
  }

  static LearnerSettings.Config defaults() {
    return config("localhost:9092", "x", "t", "s", Path.of("unused"));
  }

  static LearnerSettings.Config config(
      String bootstrap, String appId, String topic, String snapshots, Path state) {
    String[] args = {
      "--bootstrap-servers",
      bootstrap,
      "--application-id",
      appId,
      "--training-topic",
      topic,
      "--snapshot-topic",
      snapshots,
      "--state-dir",
      state.toString(),
      "--metrics-port",
      "0"
    };
    return LearnerSettings.resolve(
        LearnerMain.COMMAND
            .parse(args, System.getenv(), new PrintWriter(new StringWriter()))
            .orElseThrow());
  }

  static ModelSnapshot await(String bootstrap, String topic, long samples, Duration timeout)
      throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      List<ModelSnapshot> all = readAll(bootstrap, topic);
      if (!all.isEmpty() && all.get(all.size() - 1).getSamplesSeen() >= samples) {
        return all.get(all.size() - 1);
      }
      Thread.sleep(250);
    }
    throw new IllegalStateException(
        "no snapshot with " + samples + " samples on " + topic + " in " + timeout);
  }

  static List<ModelSnapshot> readAll(String bootstrap, String topic) {
    List<ModelSnapshot> out = new ArrayList<>();
    ScorerBenchmark.readTopic(
        bootstrap, topic, r -> out.add(Codecs.MODEL_SNAPSHOT.decode(r.value())));
    return out;
  }

  static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }
}
