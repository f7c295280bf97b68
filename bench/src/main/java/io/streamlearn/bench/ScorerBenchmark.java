package io.streamlearn.bench;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.streamlearn.broker.LocalBroker;
import io.streamlearn.contract.ImageEvent;
import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.contract.Prediction;
import io.streamlearn.contract.WeightsKind;
import io.streamlearn.contract.avro.Codecs;
import io.streamlearn.core.FileTrees;
import io.streamlearn.core.kafka.KafkaClients;
import io.streamlearn.core.kafka.TopicAdmin;
import io.streamlearn.core.kafka.TopicAdmin.TopicSpec;
import io.streamlearn.core.kafka.TopicReader;
import io.streamlearn.learner.Learner;
import io.streamlearn.learner.LearnerSettings;
import io.streamlearn.mnist.MnistDataset;
import io.streamlearn.mnist.MnistFetcher;
import io.streamlearn.model.DenseNetwork;
import io.streamlearn.model.Snapshots;
import io.streamlearn.producer.ProducerSettings;
import io.streamlearn.scorer.Scorer;
import io.streamlearn.scorer.ScorerMain;
import io.streamlearn.scorer.ScorerSettings;
import io.streamlearn.scorer.ScoringLoop;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.function.DoubleSupplier;
import java.util.function.ToLongFunction;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * {@code ./streamlearn benchmark-scorer [events] [seconds] [epochs]}: the scorer beside a
 * pass-through app, in one run on one in-process broker on this machine.
 *
 * <ol>
 *   <li>throughput of one scorer instance (one consumer) over a pre-filled 1-partition images topic
 *       of {@code events} (default 200,000) MNIST test images, read off the scorer's {@code
 *       streamlearn.scorer.predictions} counters; median of 3 runs after a warm-up run, each a new
 *       group;
 *   <li>the same for the pass-through app: a {@link ScoringLoop} whose transform copies each record
 *       (same key, same value) to an output topic, so delivery guarantee, batching and commits are
 *       the scorer's own;
 *   <li>end-to-end latency at a steady 1,000 and 5,000 events/s for both, {@code seconds} (default
 *       20) per app and rate in two halves ordered scorer, pass-through, pass-through, scorer, each
 *       after a warm-up: output-consumer receive time minus the event's eventTime;
 *   <li>model freshness: a learner trains at full speed from {@code epochs} (default 3) pre-filled
 *       MNIST epochs while the scorer scores a steady 5,000 events/s; for each snapshot, the first
 *       prediction's scoredAt minus the snapshot record's timestamp, and its parts: until a
 *       read_committed consumer sees the snapshot, until the scorer swaps it in, until the first
 *       prediction with it.
 * </ol>
 *
 * The scorer runs with its defaults (a random-weight snapshot for 1-3; the learner's own for 4),
 * changed by {@code STREAMLEARN_<KEY>} environment variables as usual.
 */
public final class ScorerBenchmark {
  private static final int[] SIZES = {784, 100, 10};
  private static final String MODEL_ID = "mnist";
  private static final int RUNS = 3;
  private static final int[] RATES = {1_000, 5_000};
  private static final int FRESHNESS_RATE = 5_000;
  private static final Duration WARM_UP = Duration.ofSeconds(5);
  private static final double THROUGHPUT_TARGET = 30_000;
  private static final double LATENCY_RATIO_TARGET = 1.5;
  private static final long FRESHNESS_TARGET_MS = 200;

  private ScorerBenchmark() {}

  public static void main(String[] args) throws Exception {
    int events = args.length > 0 ? Integer.parseInt(args[0]) : 200_000;
    Duration measure = Duration.ofSeconds(args.length > 1 ? Integer.parseInt(args[1]) : 20);
    int epochs = args.length > 2 ? Integer.parseInt(args[2]) : 3;
    MnistDataset test = MnistDataset.test(MnistFetcher.ensureDefault());
    long wallStart = System.nanoTime();
    String loadStart = loadAverage();

    Path dir = Files.createTempDirectory("streamlearn-bench-scorer");
    try (LocalBroker broker =
        LocalBroker.start(dir.resolve("kafka"), "localhost", 0, 0, Map.of())) {
      String bootstrap = broker.bootstrapServers();
      String snapshots = "bench-snapshots";
      createTopics(bootstrap, snapshots);
      publishRandomSnapshot(bootstrap, snapshots);

      // 1 and 2: throughput, scorer and pass-through runs interleaved so both see the same machine.
      String images = "bench-images";
      createTopics(bootstrap, images);
      prefill(bootstrap, images, test, events);
      double[] scorerRates = new double[RUNS];
      double[] passRates = new double[RUNS];
      int maxBatch = 0;
      String throughputBatches = null;
      // Run 0 warms up the JIT, the page cache and the broker for both apps; runs 1..RUNS are
      // measured.
      for (int run = 0; run <= RUNS; run++) {
        ScorerSettings.Config config =
            scorerConfig(
                bootstrap, "bench-scorer-" + run, images, "bench-predictions-" + run, snapshots);
        maxBatch = config.maxBatch();
        double scorerRate;
        double passRate;
        try (Scorer scorer = Scorer.start(config)) {
          scorerRate = rate(events, () -> predictions(scorer.registry()), null, "scorer");
          throughputBatches = batchStats(scorer.registry());
        }
        try (PassThrough pass =
            new PassThrough(
                config.clientProperties(),
                "bench-pass-" + run,
                images,
                "bench-copies-" + run,
                config.maxBatch())) {
          passRate = rate(events, () -> pass.passed.get(), pass.failure, "pass-through");
        }
        System.err.printf(
            "[benchmark-scorer] throughput %s: scorer %.0f events/s, pass-through %.0f events/s%n",
            run == 0 ? "warm-up" : "run " + run, scorerRate, passRate);
        if (run > 0) {
          scorerRates[run - 1] = scorerRate;
          passRates[run - 1] = passRate;
        }
      }

      // 3: end-to-end latency at fixed rates, the same producer and the same measuring consumer for
      // both apps, in
      // the order scorer, pass-through, pass-through, scorer (half the time each), so that neither
      // app always runs
      // first after a change of phase (the JIT still compiles a lot here, see the log).
      Map<Integer, Latency> scorerLatency = new TreeMap<>();
      Map<Integer, Latency> passLatency = new TreeMap<>();
      Duration half = measure.dividedBy(2);
      for (int rate : RATES) {
        Latency[] scorer = new Latency[2];
        Latency[] pass = new Latency[2];
        for (int leg = 0; leg < 4; leg++) {
          boolean scoring = leg == 0 || leg == 3;
          String name = (scoring ? "scorer-" : "pass-") + rate + "-" + leg;
          String in = "bench-live-in-" + name;
          String out = "bench-live-out-" + name;
          ScorerSettings.Config config =
              scorerConfig(bootstrap, "bench-live-" + name, in, out, snapshots);
          Latency l;
          if (scoring) {
            l =
                latency(
                    bootstrap,
                    test,
                    rate,
                    half,
                    in,
                    out,
                    "scorer-loop-",
                    v -> Codecs.PREDICTION.decode(v).getEventTime().toEpochMilli(),
                    () -> startScorer(config));
            scorer[leg == 0 ? 0 : 1] = l;
          } else {
            l =
                latency(
                    bootstrap,
                    test,
                    rate,
                    half,
                    in,
                    out,
                    "pass-through-",
                    v -> Codecs.IMAGE_EVENT.decode(v).getEventTime().toEpochMilli(),
                    () ->
                        new PassThrough(
                            config.clientProperties(),
                            "bench-live-" + name,
                            in,
                            out,
                            config.maxBatch()));
            pass[leg - 1] = l;
          }
          System.err.printf(
              "[benchmark-scorer] latency at %d events/s, %s: %s%n",
              rate, scoring ? "scorer" : "pass-through", l);
        }
        scorerLatency.put(rate, Latency.pool(scorer[0], scorer[1]));
        passLatency.put(rate, Latency.pool(pass[0], pass[1]));
      }

      // 4: model freshness while a learner publishes snapshots.
      Freshness freshness = freshness(bootstrap, dir, test, epochs, FRESHNESS_RATE);
      System.err.printf("[benchmark-scorer] freshness: %s%n", freshness);

      double scorerRate = LearnerBenchmark.median(scorerRates);
      double passRate = LearnerBenchmark.median(passRates);
      System.out.println();
      System.out.println("| what | scorer | pass-through | scorer / pass-through | target | |");
      System.out.println("|---|---:|---:|---:|---|---|");
      System.out.printf(
          "| throughput, 1 consumer, 1 partition (events/s, median of %d) | %,.0f | %,.0f | %.2f |"
              + " scorer ≥ %,.0f events/s | %s |%n",
          RUNS,
          scorerRate,
          passRate,
          scorerRate / passRate,
          THROUGHPUT_TARGET,
          verdict(scorerRate >= THROUGHPUT_TARGET));
      for (int rate : RATES) {
        Latency s = scorerLatency.get(rate);
        Latency p = passLatency.get(rate);
        System.out.printf(
            "| latency p50 at %,d events/s (ms) | %d | %d | %s | | |%n",
            rate, s.p50(), p.p50(), ratio(s.p50(), p.p50()));
        boolean targeted = rate == RATES[RATES.length - 1];
        System.out.printf(
            "| latency p99 at %,d events/s (ms) | %d | %d | %s | %s | %s |%n",
            rate,
            s.p99(),
            p.p99(),
            ratio(s.p99(), p.p99()),
            targeted ? String.format("scorer ≤ %.1f× pass-through", LATENCY_RATIO_TARGET) : "",
            targeted ? verdict(s.p99() <= LATENCY_RATIO_TARGET * p.p99()) : "");
      }
      System.out.printf(
          "| model freshness p50 (ms), %d snapshots | %d | – | – | | |%n",
          freshness.measured, freshness.p50);
      System.out.printf(
          "| model freshness p99 (ms), %d snapshots | %d | – | – | < %d ms | %s |%n",
          freshness.measured,
          freshness.p99,
          FRESHNESS_TARGET_MS,
          verdict(freshness.measured > 0 && freshness.p99 < FRESHNESS_TARGET_MS));
      System.out.println();
      System.out.printf(
          "throughput = events counted by the app (scorer: its streamlearn.scorer.predictions counters,"
              + " summed over digits; pass-through: records copied) from 10%% to 100%% of %,d pre-filled events on a"
              + " 1-partition topic / time, read every 10 ms; %d runs each after one warm-up run (scorer: %s events/s;"
              + " pass-through: %s events/s), each a new consumer group; both run the scorer's ScoringLoop"
              + " (max.poll.records %d, acks=all, flush then commit per batch).%n",
          events, RUNS, list(scorerRates), list(passRates), maxBatch);
      System.out.printf(
          "latency = the output consumer's clock when poll returns − the event's eventTime (set at"
              + " send: the producer sends on a 1 ms schedule, linger.ms 1, acks=all); events sent in %d s per app and"
              + " rate, in two runs of %d s (order scorer, pass-through, pass-through, scorer) each after a %d s"
              + " warm-up, 1-partition topics; the scorer's eventTime is read from the Prediction, the pass-through's"
              + " from the copied ImageEvent. Events measured: %s.%n",
          measure.toSeconds(),
          half.toSeconds(),
          WARM_UP.toSeconds(),
          counts(scorerLatency, passLatency));
      System.out.printf(
          "freshness = scoredAt of the first prediction made with a snapshot's version (or a newer"
              + " one, if it was superseded before an event was scored with it: %d) − the snapshot record's timestamp"
              + " (its publication time); the learner trains from %d epochs of MNIST on a 1-partition topic with its"
              + " defaults while the scorer scores %,d events/s; snapshots from the second one the scorer served on"
              + " (the first starts the scorer); max %d ms. In parts: publication → visible to a read_committed"
              + " consumer of the benchmark (the learner's transaction commit) p50 %d ms, p99 %d ms; visible → swapped in"
              + " by the scorer (ServingModel.appliedAt: its follower's fetch, checks and load) p50 %d ms, p99 %d ms;"
              + " swapped in → first prediction p50 %d ms, p99 %d ms.%n",
          freshness.superseded,
          epochs,
          FRESHNESS_RATE,
          freshness.max,
          freshness.visibleP50,
          freshness.visibleP99,
          freshness.swapP50,
          freshness.swapP99,
          freshness.pickupP50,
          freshness.pickupP99);
      StringBuilder batches = new StringBuilder("last throughput run: " + throughputBatches);
      scorerLatency.forEach(
          (rate, l) -> batches.append(String.format("; at %,d events/s: %s", rate, l.batches)));
      System.out.printf(
          "scorer micro-batches (streamlearn.scorer.batch.latency: decode, score, encode): %s.%n",
          batches);
      StringBuilder cpu = new StringBuilder();
      for (int rate : RATES) {
        cpu.append(cpu.length() == 0 ? "" : "; ")
            .append(
                String.format(
                    "at %,d events/s: scorer %.0f µs," + " pass-through %.0f µs",
                    rate,
                    scorerLatency.get(rate).loopCpuMicrosPerEvent,
                    passLatency.get(rate).loopCpuMicrosPerEvent));
      }
      System.out.printf(
          "CPU time of the loop thread per event (poll, transform, send, flush, commit): %s.%n",
          cpu);
      System.out.printf(
          "whole run %.0f s; the broker, producers, consumers, scorer and learner share this"
              + " machine's %d cores; load average at start %s, at end %s.%n",
          (System.nanoTime() - wallStart) / 1e9,
          Runtime.getRuntime().availableProcessors(),
          loadStart,
          loadAverage());
    } finally {
      FileTrees.delete(dir);
    }
  }

  /**
   * The 1-minute load average (Linux), to tell a quiet machine from a shared one; "?" elsewhere.
   */
  private static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
    } catch (IOException | RuntimeException e) {
      return "?";
    }
  }

  private static String verdict(boolean pass) {
    return pass ? "PASS" : "MISS";
  }

  private static String ratio(long a, long b) {
    return b == 0 ? "–" : String.format("%.2f", a / (double) b);
  }

  private static String list(double[] values) {
    StringBuilder out = new StringBuilder();
    for (double v : values) {
      out.append(out.length() == 0 ? "" : ", ").append(String.format("%,.0f", v));
    }
    return out.toString();
  }

  private static String counts(Map<Integer, Latency> scorer, Map<Integer, Latency> pass) {
    StringBuilder out = new StringBuilder();
    for (int rate : scorer.keySet()) {
      out.append(out.length() == 0 ? "" : "; ")
          .append(
              String.format(
                  "%,d/s: scorer %,d of %,d sent," + " pass-through %,d of %,d",
                  rate,
                  scorer.get(rate).measured(),
                  scorer.get(rate).sent,
                  pass.get(rate).measured(),
                  pass.get(rate).sent));
    }
    return out.toString();
  }

  // ---- the apps ----

  static ScorerSettings.Config scorerConfig(
      String bootstrap, String group, String images, String predictions, String snapshots) {
    String[] args = {
      "--bootstrap-servers",
      bootstrap,
      "--model-id",
      MODEL_ID,
      "--group-id",
      group,
      "--images-topic",
      images,
      "--predictions-topic",
      predictions,
      "--snapshot-topic",
      snapshots,
      "--dead-letter-topic",
      "bench-dead-letters",
      "--http-port",
      "0",
      "--partitions",
      "1"
    };
    return ScorerSettings.resolve(
        ScorerMain.COMMAND
            .parse(args, System.getenv(), new PrintWriter(new StringWriter()))
            .orElseThrow());
  }

  /** The client properties the scorer gives its loops, for the pass-through's loop. */
  /**
   * The scorer's loop with an identity transform: each input record to the output topic, same key
   * and value.
   */
  static final class PassThrough implements AutoCloseable {
    final AtomicLong passed = new AtomicLong();
    final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final ScoringLoop loop;
    private final Thread thread;

    PassThrough(
        Map<String, Object> client, String group, String input, String output, int maxBatch) {
      loop =
          new ScoringLoop(
              "pass-through-" + group,
              client,
              group,
              input,
              maxBatch,
              (batch, out) -> {
                for (ConsumerRecord<byte[], byte[]> record : batch) {
                  out.add(new ProducerRecord<>(output, record.key(), record.value()));
                }
                passed.addAndGet(batch.count());
              },
              () -> true);
      thread = new Thread(loop, "pass-through-" + group);
      thread.setUncaughtExceptionHandler((t, e) -> failure.set(e));
      thread.start();
    }

    @Override
    public void close() throws InterruptedException {
      loop.stop();
      thread.join(15_000);
    }
  }

  static double predictions(MeterRegistry registry) {
    double sum = 0;
    for (Counter counter : registry.find("streamlearn.scorer.predictions").counters()) {
      sum += counter.count();
    }
    return sum;
  }

  /** Count and mean/max time of the scorer's micro-batches (decode, score, encode), for the log. */
  static String batchStats(MeterRegistry registry) {
    Timer timer = registry.get("streamlearn.scorer.batch.latency").timer();
    return String.format(
        "%,d batches, %.1f events each, transform mean %.3f ms, max %.1f ms",
        timer.count(),
        predictions(registry) / Math.max(1, timer.count()),
        timer.mean(TimeUnit.MILLISECONDS),
        timer.max(TimeUnit.MILLISECONDS));
  }

  /** Events/s from 10% to 100% of {@code expected}, reading {@code counter} every 10 ms. */
  static double rate(
      long expected, DoubleSupplier counter, AtomicReference<Throwable> failure, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
    long startNanos = 0;
    double startCount = 0;
    double count;
    while ((count = counter.getAsDouble()) < expected) {
      if (startNanos == 0 && count >= expected / 10) {
        startNanos = System.nanoTime();
        startCount = count;
      }
      if (failure != null && failure.get() != null) {
        throw new IllegalStateException(what + " failed", failure.get());
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            what + " did not process " + expected + " events in 3 minutes (" + count + " done)");
      }
      Thread.sleep(10);
    }
    if (startNanos == 0) {
      throw new IllegalStateException(
          what
              + " went from under 10% to 100% of "
              + expected
              + " events between two"
              + " reads of its counter: use more events");
    }
    return (count - startCount) / ((System.nanoTime() - startNanos) / 1e9);
  }

  // ---- events and topics ----

  static void createTopics(String bootstrap, String... names) {
    try (TopicAdmin topics = TopicAdmin.connect(KafkaClients.properties(bootstrap, Map.of()))) {
      for (String name : names) {
        topics.ensure(new TopicSpec(name, 1, (short) 1, Map.of()));
      }
    }
  }

  static KafkaProducer<byte[], byte[]> producer(String bootstrap, int lingerMs) {
    return new KafkaProducer<>(
        KafkaClients.properties(
            bootstrap,
            Map.of(
                ProducerConfig.ACKS_CONFIG,
                "all",
                ProducerConfig.COMPRESSION_TYPE_CONFIG,
                "lz4",
                ProducerConfig.LINGER_MS_CONFIG,
                lingerMs,
                ProducerConfig.BATCH_SIZE_CONFIG,
                256 * 1024,
                ProducerConfig.MAX_REQUEST_SIZE_CONFIG,
                2 * 1024 * 1024),
            Map.of()),
        new ByteArraySerializer(),
        new ByteArraySerializer());
  }

  /** Event {@code n}: test image {@code n mod 10,000} with its label, id {@code bench-<n>}. */
  static ProducerRecord<byte[], byte[]> event(
      String topic, MnistDataset test, long n, long eventTimeMs) {
    int row = (int) (n % test.size());
    String id = "bench-" + n;
    byte[] value =
        Codecs.IMAGE_EVENT.encode(
            ImageEvent.newBuilder()
                .setImageId(id)
                .setPixels(ByteBuffer.wrap(test.pixels(row)))
                .setEventTime(Instant.ofEpochMilli(eventTimeMs))
                .setLabel(test.label(row))
                .build());
    return new ProducerRecord<>(
        topic, null, eventTimeMs, id.getBytes(StandardCharsets.UTF_8), value);
  }

  static void prefill(String bootstrap, String topic, MnistDataset test, int events) {
    long start = System.nanoTime();
    AtomicReference<Exception> failure = new AtomicReference<>();
    try (KafkaProducer<byte[], byte[]> producer = producer(bootstrap, 5)) {
      for (int n = 0; n < events; n++) {
        producer.send(
            event(topic, test, n, System.currentTimeMillis()),
            (m, e) -> {
              if (e != null) {
                failure.compareAndSet(null, e);
              }
            });
      }
      producer.flush();
    }
    if (failure.get() != null) {
      throw new IllegalStateException("could not pre-fill " + topic, failure.get());
    }
    System.err.printf(
        "[benchmark-scorer] pre-filled %s with %,d image events in %.1f s%n",
        topic, events, (System.nanoTime() - start) / 1e9);
  }

  /**
   * Snapshot v1 of a 784-100-10 network with seeded random (He) weights: as fast to score as a
   * trained one.
   */
  static void publishRandomSnapshot(String bootstrap, String topic) throws Exception {
    DenseNetwork network = DenseNetwork.initialized(SIZES, DataType.FLOAT, 42);
    ModelSnapshot snapshot =
        Snapshots.build(
            new Snapshots.Header(
                MODEL_ID, 1, Instant.now(), "bench-random", WeightsKind.RAW, 0, 0, null, null),
            SIZES,
            network.parameters());
    try (KafkaProducer<byte[], byte[]> producer = producer(bootstrap, 0)) {
      producer
          .send(
              new ProducerRecord<>(
                  topic,
                  MODEL_ID.getBytes(StandardCharsets.UTF_8),
                  Codecs.MODEL_SNAPSHOT.encode(snapshot)))
          .get(30, TimeUnit.SECONDS);
    }
  }

  /** Reads a topic from its beginning to the end offsets found at start (read_committed). */
  static void readTopic(
      String bootstrap, String topic, Consumer<ConsumerRecord<byte[], byte[]>> each) {
    try (KafkaConsumer<byte[], byte[]> consumer = committedReader(bootstrap)) {
      TopicReader.readToEnd(consumer, topic, Duration.ofMinutes(2), each);
    }
  }

  /** A read_committed consumer in no group, with fetches large enough for any snapshot. */
  static KafkaConsumer<byte[], byte[]> committedReader(String bootstrap) {
    return new KafkaConsumer<>(
        KafkaClients.committedReader(
            KafkaClients.properties(
                bootstrap,
                Map.of(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 64 * 1024 * 1024),
                Map.of())),
        new ByteArrayDeserializer(),
        new ByteArrayDeserializer());
  }

  // ---- end-to-end latency ----

  /**
   * Latencies in ms (sorted) of the events sent in the measuring windows and how many were sent
   * then; CPU time of the app's loop thread per event sent; JIT compilation time during the run
   * (ms); the scorer's batch figures.
   */
  record Latency(
      long[] sorted, long sent, double loopCpuMicrosPerEvent, long jitMillis, String batches) {
    long p50() {
      return percentile(sorted, 0.50);
    }

    long p99() {
      return percentile(sorted, 0.99);
    }

    int measured() {
      return sorted.length;
    }

    static Latency pool(Latency a, Latency b) {
      long[] all = Arrays.copyOf(a.sorted, a.sorted.length + b.sorted.length);
      System.arraycopy(b.sorted, 0, all, a.sorted.length, b.sorted.length);
      Arrays.sort(all);
      String batches = a.batches == null ? null : a.batches + " / " + b.batches;
      return new Latency(
          all,
          a.sent + b.sent,
          (a.loopCpuMicrosPerEvent + b.loopCpuMicrosPerEvent) / 2,
          a.jitMillis + b.jitMillis,
          batches);
    }

    @Override
    public String toString() {
      return String.format(
          "p50 %d ms, p99 %d ms, max %d ms, %d of %d events; loop thread %.0f µs CPU/event;"
              + " JIT compiled %d ms meanwhile%s",
          p50(),
          p99(),
          sorted.length == 0 ? -1 : sorted[sorted.length - 1],
          sorted.length,
          sent,
          loopCpuMicrosPerEvent,
          jitMillis,
          batches == null ? "" : "; " + batches);
    }
  }

  static Scorer startScorer(ScorerSettings.Config config) throws InterruptedException {
    Scorer scorer = Scorer.start(config);
    if (!scorer.models().awaitReady(30, TimeUnit.SECONDS)) {
      scorer.close();
      throw new IllegalStateException(
          "the scorer did not load a snapshot from " + config.snapshotTopic() + " in 30 s");
    }
    return scorer;
  }

  /**
   * Starts the app, sends {@code rate} events/s to {@code input} for the warm-up and then {@code
   * measure}, and measures the latency of the events sent after the warm-up as they arrive on
   * {@code output}.
   *
   * @param loopThread name prefix of the app's loop thread, whose CPU time is reported
   */
  static Latency latency(
      String bootstrap,
      MnistDataset test,
      int rate,
      Duration measure,
      String input,
      String output,
      String loopThread,
      ToLongFunction<byte[]> eventTime,
      Callable<AutoCloseable> startApp)
      throws Exception {
    createTopics(bootstrap, input, output);
    try (AutoCloseable app = startApp.call()) {
      long from = System.currentTimeMillis() + WARM_UP.toMillis();
      long to = from + measure.toMillis();
      OutputWatcher watcher = new OutputWatcher(bootstrap, output, eventTime, from, to);
      Thread watching = new Thread(watcher, "latency-watcher");
      watching.start();
      PacedProducer pacer = new PacedProducer(bootstrap, input, test, rate, from, to);
      long cpuStart = threadCpuNanos(loopThread);
      long jitStart = ManagementFactory.getCompilationMXBean().getTotalCompilationTime();
      pacer.run(); // until 'to'
      long deadline = System.currentTimeMillis() + 15_000;
      while (watcher.measured() < pacer.inWindow() && System.currentTimeMillis() < deadline) {
        Thread.sleep(20);
      }
      double cpuPerEvent =
          (threadCpuNanos(loopThread) - cpuStart) / 1e3 / Math.max(1, pacer.sent());
      long jit = ManagementFactory.getCompilationMXBean().getTotalCompilationTime() - jitStart;
      watcher.stop();
      watching.join(10_000);
      String batches = app instanceof Scorer scorer ? batchStats(scorer.registry()) : null;
      long[] values = watcher.latencies();
      Arrays.sort(values);
      return new Latency(values, pacer.inWindow(), cpuPerEvent, jit, batches);
    }
  }

  /** CPU time so far of the live threads whose names start with {@code prefix}. */
  static long threadCpuNanos(String prefix) {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long sum = 0;
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.getName().startsWith(prefix) && t.isAlive()) {
        sum += Math.max(0, threads.getThreadCpuTime(t.getId()));
      }
    }
    return sum;
  }

  /** Nearest-rank percentile of sorted values; -1 when there are none. */
  static long percentile(long[] sorted, double p) {
    if (sorted.length == 0) {
      return -1;
    }
    int rank = (int) Math.ceil(p * sorted.length);
    return sorted[Math.max(0, rank - 1)];
  }

  /**
   * Sends {@code rate} events/s on a steady schedule (every millisecond, the events then due) until
   * {@code until}, eventTime = the send time; counts those sent in [from, until).
   */
  static final class PacedProducer implements Runnable {
    private final String bootstrap;
    private final String topic;
    private final MnistDataset test;
    private final int rate;
    private final long from;
    private final long until;
    private volatile boolean running = true;
    private volatile long inWindow;
    private volatile long sentSoFar;

    PacedProducer(
        String bootstrap, String topic, MnistDataset test, int rate, long from, long until) {
      this.bootstrap = bootstrap;
      this.topic = topic;
      this.test = test;
      this.rate = rate;
      this.from = from;
      this.until = until;
    }

    @Override
    public void run() {
      AtomicReference<Exception> failure = new AtomicReference<>();
      try (KafkaProducer<byte[], byte[]> producer = producer(bootstrap, 1)) {
        long start = System.nanoTime();
        long sent = 0;
        long counted = 0;
        while (running) {
          long now = System.currentTimeMillis();
          if (now >= until) {
            break;
          }
          long elapsed = System.nanoTime() - start;
          long due = elapsed * rate / 1_000_000_000L;
          for (; sent < due; sent++) {
            long eventTime = System.currentTimeMillis();
            producer.send(
                event(topic, test, sent, eventTime),
                (m, e) -> {
                  if (e != null) {
                    failure.compareAndSet(null, e);
                  }
                });
            if (eventTime >= from && eventTime < until) {
              counted++;
            }
          }
          inWindow = counted;
          sentSoFar = sent;
          LockSupport.parkNanos(1_000_000 - elapsed % 1_000_000);
        }
        producer.flush();
      }
      if (failure.get() != null) {
        throw new IllegalStateException("paced producer could not send to " + topic, failure.get());
      }
    }

    long inWindow() {
      return inWindow;
    }

    long sent() {
      return sentSoFar;
    }

    void stop() {
      running = false;
    }
  }

  /**
   * Reads the output topic from its beginning; records receive time − eventTime for events sent in
   * [from, to).
   */
  static final class OutputWatcher implements Runnable {
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final String topic;
    private final ToLongFunction<byte[]> eventTime;
    private final long from;
    private final long to;
    private volatile boolean running = true;
    private volatile int measured;
    private long[] latencies = new long[1 << 16];

    OutputWatcher(
        String bootstrap, String topic, ToLongFunction<byte[]> eventTime, long from, long to) {
      this.consumer =
          new KafkaConsumer<>(
              KafkaClients.properties(
                  bootstrap,
                  Map.of(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false),
                  Map.of()),
              new ByteArrayDeserializer(),
              new ByteArrayDeserializer());
      this.topic = topic;
      this.eventTime = eventTime;
      this.from = from;
      this.to = to;
    }

    @Override
    public void run() {
      try {
        TopicPartition partition = new TopicPartition(topic, 0);
        consumer.assign(List.of(partition));
        consumer.seekToBeginning(List.of(partition));
        while (running) {
          ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(100));
          long now = System.currentTimeMillis();
          int n = measured;
          for (ConsumerRecord<byte[], byte[]> record : records) {
            long t = eventTime.applyAsLong(record.value());
            if (t >= from && t < to) {
              if (n == latencies.length) {
                latencies = Arrays.copyOf(latencies, 2 * n);
              }
              latencies[n++] = now - t;
            }
          }
          measured = n;
        }
      } finally {
        consumer.close(Duration.ofSeconds(5));
      }
    }

    int measured() {
      return measured;
    }

    /** The latencies measured, once {@link #run()} has ended. */
    long[] latencies() {
      return Arrays.copyOf(latencies, measured);
    }

    void stop() {
      running = false;
    }
  }

  // ---- model freshness ----

  /** Freshness in ms over the snapshots measured; how many were superseded before serving. */
  /**
   * Freshness in ms over the snapshots measured, in three parts: publication to visible (a
   * read_committed consumer of the benchmark receives it: the learner's transaction commit),
   * visible to swap (the scorer's follower fetches, checks and loads it) and swap to first
   * prediction (the scoring loop's next batch).
   */
  record Freshness(
      long p50,
      long p99,
      long max,
      int measured,
      int superseded,
      int published,
      long visibleP50,
      long visibleP99,
      long swapP50,
      long swapP99,
      long pickupP50,
      long pickupP99) {
    @Override
    public String toString() {
      return String.format(
          "p50 %d ms, p99 %d ms, max %d ms over %d snapshots (%d published, %d superseded);"
              + " publication to visible p50 %d ms, p99 %d ms; visible to swap p50 %d ms, p99 %d ms; swap to first"
              + " prediction p50 %d ms, p99 %d ms",
          p50,
          p99,
          max,
          measured,
          published,
          superseded,
          visibleP50,
          visibleP99,
          swapP50,
          swapP99,
          pickupP50,
          pickupP99);
    }
  }

  static Freshness freshness(String bootstrap, Path dir, MnistDataset test, int epochs, int rate)
      throws Exception {
    String training = "bench-fresh-train";
    String snapshots = "bench-fresh-snapshots";
    String images = "bench-fresh-images";
    String predictions = "bench-fresh-predictions";
    int rc =
        Prefill.run(Prefill.training(bootstrap, training, 1).set(ProducerSettings.EPOCHS, epochs));
    if (rc != 0) {
      throw new IllegalStateException("producer failed: " + rc);
    }
    createTopics(bootstrap, images, predictions);
    ScorerSettings.Config scorerConfig =
        scorerConfig(bootstrap, "bench-fresh-scorer", images, predictions, snapshots);
    LearnerSettings.Config learnerConfig =
        LearnerBenchmark.config(
            bootstrap, "bench-fresh-learner", training, snapshots, dir.resolve("state-fresh"));
    long expected = 60_000L * epochs;
    PacedProducer pacer = new PacedProducer(bootstrap, images, test, rate, 0, Long.MAX_VALUE);
    Thread pacing = new Thread(pacer, "paced-producer");
    long start = System.nanoTime();
    Map<Long, Long> swappedAt =
        new ConcurrentHashMap<>(); // version -> when the scorer started serving it
    Map<Long, Long> visibleAt =
        new ConcurrentHashMap<>(); // version -> when a read_committed consumer got it
    AtomicBoolean watching = new AtomicBoolean(true);
    Thread visibility =
        new Thread(
            () -> watchSnapshots(bootstrap, snapshots, visibleAt, watching), "snapshot-watcher");
    visibility.setDaemon(true);
    try (Scorer scorer = Scorer.start(scorerConfig);
        Learner learner = Learner.start(learnerConfig)) {
      visibility.start();
      Thread swaps =
          new Thread(
              () -> {
                while (watching.get()) {
                  scorer
                      .model()
                      .ifPresent(
                          m -> swappedAt.putIfAbsent(m.version(), m.appliedAt().toEpochMilli()));
                  LockSupport.parkNanos(500_000);
                }
              },
              "swap-watcher");
      swaps.setDaemon(true);
      swaps.start();
      pacing.start();
      long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
      while (learner.samplesTrained() < expected) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(
              "the learner did not train " + expected + " samples in 3 minutes");
        }
        Thread.sleep(20);
      }
      // The last half-filled batch trains after flush-idle, and its snapshot goes out at the next
      // interval.
      Thread.sleep(
          learnerConfig.flushIdle().toMillis()
              + learnerConfig.snapshotInterval().toMillis()
              + 1_000);
      pacer.stop();
      pacing.join(10_000);
      Thread.sleep(500);
    } finally {
      pacer.stop();
      watching.set(false);
    }
    System.err.printf(
        "[benchmark-scorer] freshness phase: %,d samples trained in %.1f s while scoring %,d events/s"
            + "%n",
        expected, (System.nanoTime() - start) / 1e9, rate);

    TreeMap<Long, Long> publishedAt = new TreeMap<>(); // version -> record timestamp
    readTopic(
        bootstrap,
        snapshots,
        r -> publishedAt.put(Codecs.MODEL_SNAPSHOT.decode(r.value()).getVersion(), r.timestamp()));
    TreeMap<Long, Long> firstScored = new TreeMap<>(); // version -> earliest scoredAt
    readTopic(
        bootstrap,
        predictions,
        r -> {
          Prediction p = Codecs.PREDICTION.decode(r.value());
          firstScored.merge(p.getModelVersion(), p.getScoredAt().toEpochMilli(), Math::min);
        });
    if (firstScored.isEmpty()) {
      throw new IllegalStateException("no predictions on " + predictions);
    }
    long firstServed = firstScored.firstKey();
    List<Long> values = new ArrayList<>();
    List<Long> visible = new ArrayList<>();
    List<Long> swap = new ArrayList<>();
    List<Long> pickup = new ArrayList<>();
    List<long[]> parts =
        new ArrayList<>(); // version, total, publication to visible, to swap, to first prediction
    int superseded = 0;
    for (Map.Entry<Long, Long> snapshot : publishedAt.tailMap(firstServed, false).entrySet()) {
      // First prediction by this version or a newer one (scoring is in order: a newer version's
      // first prediction
      // comes after every prediction by an older one).
      Map.Entry<Long, Long> served = firstScored.ceilingEntry(snapshot.getKey());
      if (served == null) {
        continue; // published after the stream stopped
      }
      if (!served.getKey().equals(snapshot.getKey())) {
        superseded++;
      }
      values.add(served.getValue() - snapshot.getValue());
      Long swapped = swappedAt.get(served.getKey());
      Long seen = visibleAt.get(served.getKey());
      if (swapped != null && seen != null) {
        visible.add(seen - snapshot.getValue());
        swap.add(swapped - seen);
        pickup.add(served.getValue() - swapped);
        parts.add(
            new long[] {
              snapshot.getKey(),
              served.getValue() - snapshot.getValue(),
              seen - snapshot.getValue(),
              swapped - seen,
              served.getValue() - swapped
            });
      }
    }
    // The slowest snapshots in parts: a p99 over ~20 snapshots is their maximum, so say where it
    // came from.
    parts.sort((x, y) -> Long.compare(y[1], x[1]));
    for (long[] p : parts.subList(0, Math.min(3, parts.size()))) {
      System.err.printf(
          "[benchmark-scorer] freshness, slow snapshot v%d: %d ms = publication to visible %d ms +"
              + " visible to swap %d ms + swap to first prediction %d ms%n",
          p[0], p[1], p[2], p[3], p[4]);
    }
    long[] sorted = sorted(values);
    long[] visibles = sorted(visible);
    long[] swaps = sorted(swap);
    long[] pickups = sorted(pickup);
    return new Freshness(
        percentile(sorted, 0.50),
        percentile(sorted, 0.99),
        sorted.length == 0 ? -1 : sorted[sorted.length - 1],
        sorted.length,
        superseded,
        publishedAt.size(),
        percentile(visibles, 0.50),
        percentile(visibles, 0.99),
        percentile(swaps, 0.50),
        percentile(swaps, 0.99),
        percentile(pickups, 0.50),
        percentile(pickups, 0.99));
  }

  /**
   * Records when each snapshot version becomes visible to a read_committed consumer (fetch wait 10
   * ms).
   */
  static void watchSnapshots(
      String bootstrap, String topic, Map<Long, Long> visibleAt, AtomicBoolean watching) {
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(
            KafkaClients.properties(
                bootstrap,
                Map.of(
                    ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                    "read_committed",
                    ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG,
                    false,
                    ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG,
                    10,
                    ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG,
                    64 * 1024 * 1024),
                Map.of()),
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer())) {
      List<PartitionInfo> infos = List.of();
      while (watching.get() && infos.isEmpty()) {
        infos = consumer.partitionsFor(topic, Duration.ofSeconds(5));
        if (infos.isEmpty()) {
          LockSupport.parkNanos(20_000_000);
        }
      }
      List<TopicPartition> partitions = new ArrayList<>();
      for (PartitionInfo info : infos) {
        partitions.add(new TopicPartition(topic, info.partition()));
      }
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      while (watching.get()) {
        ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(100));
        long now = System.currentTimeMillis();
        for (ConsumerRecord<byte[], byte[]> record : records) {
          visibleAt.putIfAbsent(Codecs.MODEL_SNAPSHOT.decode(record.value()).getVersion(), now);
        }
      }
    }
  }

  private static long[] sorted(List<Long> values) {
    return values.stream().mapToLong(Long::longValue).sorted().toArray();
  }
}
