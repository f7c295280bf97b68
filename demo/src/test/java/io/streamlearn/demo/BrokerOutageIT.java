package io.streamlearn.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.streamlearn.broker.LocalBroker;
import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.contract.Prediction;
import io.streamlearn.contract.avro.Codecs;
import io.streamlearn.core.config.ConfigBuilder;
import io.streamlearn.learner.Learner;
import io.streamlearn.learner.LearnerSettings;
import io.streamlearn.producer.ProducerMain;
import io.streamlearn.producer.ProducerSettings;
import io.streamlearn.scorer.Scorer;
import io.streamlearn.scorer.ScorerSettings;
import io.streamlearn.testkit.Await;
import io.streamlearn.testkit.RealKafka;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The broker stopped for 20 s mid-stream and started again on the same data, ports and folder,
 * while the producer streams training samples and events: every service reconnects by itself,
 * nothing is lost (every sample trained once, every event predicted), and what the health endpoints
 * and metrics said during the outage is recorded and asserted. Not tagged real-kafka: it runs its
 * own broker, which it has to stop ({@link LocalBroker}).
 */
class BrokerOutageIT {
  private static final int SAMPLES = 60_000;
  private static final int EVENTS = 10_000;
  private static final Duration OUTAGE = Duration.ofSeconds(20);
  private static final Duration WAIT = Duration.ofMinutes(5);
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @Test
  void everyServiceReconnectsAfterATwentySecondOutageAndNothingIsLost(@TempDir Path dir)
      throws Exception {
    int port = freePort();
    int controllerPort = freePort();
    int scorerPort = freePort();
    int learnerPort = freePort();
    String bootstrap = "localhost:" + port;
    LocalBroker broker =
        LocalBroker.start(dir.resolve("kafka"), "localhost", port, controllerPort, Map.of());
    Learner learner = null;
    Scorer scorer = null;
    try {
      learner =
          Learner.start(
              LearnerSettings.builder()
                  .set(LearnerSettings.BOOTSTRAP_SERVERS, bootstrap)
                  .set(LearnerSettings.TRAINING_TOPIC, "outage.train")
                  .set(LearnerSettings.SNAPSHOT_TOPIC, "outage.snapshots")
                  .set(LearnerSettings.DEAD_LETTER_TOPIC, "outage.dlq")
                  .set(LearnerSettings.STATE_DIR, dir.resolve("state"))
                  .set(LearnerSettings.METRICS_PORT, learnerPort)
                  .set(LearnerSettings.SNAPSHOT_INTERVAL, 300L)
                  .build());
      scorer =
          Scorer.start(
              ScorerSettings.builder()
                  .set(ScorerSettings.BOOTSTRAP_SERVERS, bootstrap)
                  .set(ScorerSettings.SNAPSHOT_TOPIC, "outage.snapshots")
                  .set(ScorerSettings.IMAGES_TOPIC, "outage.images")
                  .set(ScorerSettings.PREDICTIONS_TOPIC, "outage.predictions")
                  .set(ScorerSettings.DEAD_LETTER_TOPIC, "outage.dlq")
                  .set(ScorerSettings.HTTP_PORT, scorerPort)
                  .build());
      Learner training = learner;
      // The producers retry through the outage (delivery.timeout.ms, 120 s by default, outlasts
      // it).
      CompletableFuture<Integer> samples =
          CompletableFuture.supplyAsync(
              () ->
                  produce(
                      producer(bootstrap)
                          .set(ProducerSettings.TOPIC, "outage.train")
                          .set(ProducerSettings.RATE, 2000.0)));
      Await.until(
          () -> training.samplesTrained() >= 10_000,
          WAIT,
          "10,000 samples trained before the outage");
      CompletableFuture<Integer> events =
          CompletableFuture.supplyAsync(
              () ->
                  produce(
                      producer(bootstrap)
                          .set(ProducerSettings.MODE, ProducerSettings.Mode.EVENTS)
                          .set(ProducerSettings.TOPIC, "outage.images")
                          .set(ProducerSettings.RATE, 400.0)));
      Scorer scoring = scorer;
      Await.until(() -> scoring.isReady(), WAIT, "the scorer ready before the outage");

      broker.close();
      double trainedAtStop = learner.samplesTrained();
      Map<String, Set<Integer>> seen = new TreeMap<>();
      long end = System.nanoTime() + OUTAGE.toNanos();
      while (System.nanoTime()
          < end) { // the outage is the fault itself: its length is fixed, not awaited
        seen.computeIfAbsent("scorer /health/live", k -> new HashSet<>())
            .add(status(scorerPort, "/health/live"));
        seen.computeIfAbsent("scorer /health/ready", k -> new HashSet<>())
            .add(status(scorerPort, "/health/ready"));
        seen.computeIfAbsent("scorer /metrics", k -> new HashSet<>())
            .add(status(scorerPort, "/metrics"));
        seen.computeIfAbsent("learner /metrics", k -> new HashSet<>())
            .add(status(learnerPort, "/metrics"));
        seen.computeIfAbsent("learner state " + learner.state(), k -> new HashSet<>()).add(0);
        Thread.sleep(500);
      }
      double trainedDuringOutage = learner.samplesTrained() - trainedAtStop;
      broker = LocalBroker.start(dir.resolve("kafka"), "localhost", port, controllerPort, Map.of());

      assertEquals(
          0, samples.get(5, TimeUnit.MINUTES), "the training producer lost nothing (exit 0)");
      assertEquals(0, events.get(5, TimeUnit.MINUTES), "the event producer lost nothing (exit 0)");
      Await.until(
          () -> newestSnapshot(bootstrap, "outage.snapshots").getSamplesSeen() >= SAMPLES,
          WAIT,
          () ->
              "a snapshot of all "
                  + SAMPLES
                  + " samples after the outage (newest "
                  + newestSnapshot(bootstrap, "outage.snapshots").getSamplesSeen()
                  + ")");
      Await.until(
          () -> predictedIds(bootstrap, "outage.predictions").size() == EVENTS,
          WAIT,
          () -> "every event predicted after the outage");
      System.out.printf(
          "[BrokerOutageIT] 20 s outage after %.0f samples trained (%.0f more during it, from"
              + " records already fetched); seen during the outage: %s; afterwards %d samples trained, %d events"
              + " predicted%n",
          trainedAtStop,
          trainedDuringOutage,
          seen,
          newestSnapshot(bootstrap, "outage.snapshots").getSamplesSeen(),
          EVENTS);
      assertEquals(Set.of(200), seen.get("scorer /health/live"), "the scorer stays live");
      assertEquals(
          Set.of(200),
          seen.get("scorer /health/ready"),
          "the scorer stays ready: its model serves HTTP predictions without the broker");
      assertEquals(Set.of(200), seen.get("scorer /metrics"));
      assertEquals(
          Set.of(200), seen.get("learner /metrics"), "the learner's metrics answer throughout");
      learner.close(); // nothing is published after it closed: the newest snapshot is the last
      assertEquals(
          SAMPLES,
          newestSnapshot(bootstrap, "outage.snapshots").getSamplesSeen(),
          "each sample trained exactly once");
    } finally {
      if (scorer != null) {
        scorer.close();
      }
      if (learner != null) {
        learner.close();
      }
      broker.close();
    }
  }

  private int status(int port, String path) {
    try {
      return http.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                  .timeout(Duration.ofSeconds(5))
                  .build(),
              HttpResponse.BodyHandlers.discarding())
          .statusCode();
    } catch (Exception e) {
      return -1; // no answer: recorded, and the assertions say whether that is allowed
    }
  }

  private static ConfigBuilder<ProducerSettings.Config> producer(String bootstrap) {
    return ProducerSettings.builder()
        .set(ProducerSettings.BOOTSTRAP_SERVERS, bootstrap)
        .set(ProducerSettings.METRICS_PORT, 0)
        .set(ProducerSettings.PROGRESS, false)
        .set(ProducerSettings.PARTITIONS, 1);
  }

  private static int produce(ConfigBuilder<ProducerSettings.Config> producer) {
    PrintStream nowhere = new PrintStream(OutputStream.nullOutputStream());
    return ProducerMain.run(producer.build(), nowhere, System.err, false);
  }

  private static PrintWriter quiet() {
    return new PrintWriter(new StringWriter());
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static Set<String> predictedIds(String bootstrap, String topic) {
    Set<String> ids = new HashSet<>();
    for (ConsumerRecord<byte[], byte[]> r : RealKafka.readToEnd(bootstrap, topic)) {
      Prediction p = Codecs.PREDICTION.decode(r.value());
      ids.add(p.getImageId());
    }
    return ids;
  }

  private static ModelSnapshot newestSnapshot(String bootstrap, String topic) {
    ModelSnapshot newest = null;
    for (ConsumerRecord<byte[], byte[]> r : RealKafka.readToEnd(bootstrap, topic)) {
      ModelSnapshot s = Codecs.MODEL_SNAPSHOT.decode(r.value());
      if (newest == null || s.getVersion() > newest.getVersion()) {
        newest = s;
      }
    }
    return newest;
  }
}
