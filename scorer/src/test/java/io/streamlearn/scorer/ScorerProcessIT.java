package io.streamlearn.scorer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamlearn.contract.ImageEvent;
import io.streamlearn.contract.Prediction;
import io.streamlearn.contract.avro.Codecs;
import io.streamlearn.core.kafka.KafkaClients;
import io.streamlearn.testkit.Await;
import io.streamlearn.testkit.RealKafka;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scorer as a separate JVM on the real broker: SIGKILLed while events stream, then restarted;
 * and abused over HTTP in a small heap.
 */
@Tag("real-kafka")
class ScorerProcessIT {
  @RegisterExtension static final RealKafka kafka = new RealKafka();
  private static final String MODEL = "mnist";
  private static final Duration WAIT = Duration.ofMinutes(3);
  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(30))
          .build();

  /** The topics of one test. */
  private record Topics(
      String snapshots, String images, String predictions, String deadLetters, String group) {
    static Topics fresh() {
      return new Topics(
          RealKafka.uniqueName("snapshots"),
          RealKafka.uniqueName("images"),
          RealKafka.uniqueName("predictions"),
          RealKafka.uniqueName("dlq"),
          RealKafka.uniqueName("scorer"));
    }
  }

  /** A scorer JVM with its HTTP port, its log, and its heap limit. */
  private static final class ScorerProcess implements AutoCloseable {
    final Process process;
    final int port;

    ScorerProcess(Topics t, int port, String heap, Path log, String... extra) throws Exception {
      this.port = port;
      List<String> command =
          new ArrayList<>(
              List.of(
                  Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                  "-Xmx" + heap,
                  "-XX:+ExitOnOutOfMemoryError",
                  "-cp",
                  System.getProperty("java.class.path"),
                  ScorerMain.class.getName(),
                  "--bootstrap-servers",
                  kafka.bootstrapServers(),
                  "--model-id",
                  MODEL,
                  "--snapshot-topic",
                  t.snapshots(),
                  "--images-topic",
                  t.images(),
                  "--predictions-topic",
                  t.predictions(),
                  "--dead-letter-topic",
                  t.deadLetters(),
                  "--group-id",
                  t.group(),
                  "--http-port",
                  Integer.toString(port)));
      command.addAll(List.of(extra));
      ProcessBuilder builder =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
      builder.environment().put("OMP_NUM_THREADS", "1");
      process = builder.start();
    }

    void kill() throws InterruptedException {
      process.destroyForcibly();
      assertTrue(
          process.waitFor(60, TimeUnit.SECONDS), "the scorer did not die within 60 s of SIGKILL");
    }

    @Override
    public void close() throws InterruptedException {
      process.destroy();
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private HttpResponse<String> get(int port, String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(60))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** The version /v1/model reports, or -1 while the scorer has none (or does not answer yet). */
  private long servedVersion(int port) {
    try {
      HttpResponse<String> model = get(port, "/v1/model");
      if (model.statusCode() != 200) {
        return -1;
      }
      return new com.fasterxml.jackson.databind.ObjectMapper()
          .readTree(model.body())
          .get("version")
          .asLong();
    } catch (Exception notYet) {
      return -1;
    }
  }

  private static void publish(Topics t, byte[] snapshot) throws Exception {
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(
            KafkaClients.properties(
                kafka.bootstrapServers(),
                Map.of(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 2 * 1024 * 1024),
                Map.of()),
            new ByteArraySerializer(),
            new ByteArraySerializer())) {
      producer
          .send(
              new ProducerRecord<>(t.snapshots(), MODEL.getBytes(StandardCharsets.UTF_8), snapshot))
          .get(30, TimeUnit.SECONDS);
    }
  }

  private static void createTopics(Topics t) throws Exception {
    kafka.createTopic(
        t.snapshots(), 1, Map.of("cleanup.policy", "compact", "max.message.bytes", "2000000"));
    kafka.createTopic(t.images(), 2, Map.of());
  }

  @Test
  void aKilledScorerRestartsOnTheNewestSnapshotAndEveryEventGetsAPrediction(@TempDir Path dir)
      throws Exception {
    Topics t = Topics.fresh();
    createTopics(t);
    PublishedModels models = new PublishedModels(MODEL);
    publish(t, models.encoded(1));
    int events = 12_000;
    Path log = dir.resolve("scorer.log");
    int port = freePort();
    CompletableFuture<Void> producing;
    int predictedBeforeKill;
    try {
      try (ScorerProcess first = new ScorerProcess(t, port, "512m", log)) {
        Await.until(() -> servedVersion(port) == 1, WAIT, "the first scorer serving v1");
        producing = CompletableFuture.runAsync(() -> produceEvents(t.images(), events, 2_000));
        Await.until(
            () ->
                kafka.readToEnd(t.predictions()).size() >= 2_000
                    || producing.isCompletedExceptionally(),
            WAIT,
            "2,000 predictions before the kill");
        if (producing.isCompletedExceptionally()) {
          producing.join();
        }
        first.kill(); // SIGKILL mid-stream: no offsets committed for what it scored since its last
        // commit
        predictedBeforeKill = kafka.readToEnd(t.predictions()).size();
      }
      publish(t, models.encoded(2)); // published while no scorer runs
      try (ScorerProcess second = new ScorerProcess(t, port, "512m", log)) {
        Await.until(
            () -> servedVersion(port) == 2,
            WAIT,
            "the restarted scorer serving the newest snapshot, v2");
        producing.get(2, TimeUnit.MINUTES);
        Await.until(
            () -> distinctIds(t.predictions()).size() == events,
            WAIT,
            () ->
                "a prediction for each of the "
                    + events
                    + " events ("
                    + distinctIds(t.predictions()).size()
                    + " so far)");
      }
    } finally {
      Files.copy(
          log,
          Path.of("target", "ScorerProcessIT-kill.log"),
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
    List<Prediction> all =
        kafka.readToEnd(t.predictions()).stream()
            .map(r -> Codecs.PREDICTION.decode(r.value()))
            .toList();
    Map<String, Integer> perId = new HashMap<>();
    all.forEach(p -> perId.merge(p.getImageId(), 1, Integer::sum));
    long duplicates = all.size() - perId.size();
    System.out.printf(
        "[ScorerProcessIT] killed after %d predictions; %d events, %d predictions, %d duplicates (same"
            + " image id, scored again after the kill); %d by v2%n",
        predictedBeforeKill,
        events,
        all.size(),
        duplicates,
        all.stream().filter(p -> p.getModelVersion() == 2).count());
    assertEquals(events, perId.size(), "every event predicted");
    assertTrue(
        all.stream().anyMatch(p -> p.getModelVersion() == 2),
        "the restarted scorer scores with v2");
  }

  @Test
  void underHttpAbuseInASmallHeapTheScorerStaysUpAndEveryBadRequestGetsItsClientError(
      @TempDir Path dir) throws Exception {
    Topics t = Topics.fresh();
    createTopics(t);
    publish(t, new PublishedModels(MODEL).encoded(1));
    Path log = dir.resolve("scorer-abuse.log");
    int port = freePort();
    List<Socket> slow = new ArrayList<>();
    // An idle timeout far beyond the test, so that "still open" below cannot be the server's
    // timeout at work.
    try (ScorerProcess scorer =
        new ScorerProcess(t, port, "160m", log, "--http-idle-timeout", "600000")) {
      Await.until(() -> servedVersion(port) == 1, WAIT, "the scorer serving v1");
      for (int i = 0; i < 256; i++) {
        Socket s = new Socket("127.0.0.1", port);
        OutputStream out = s.getOutputStream();
        out.write(
            (i % 2 == 0
                    ? "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n[1,2"
                    : "GET /health/re")
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        slow.add(s);
      }
      String pixels =
          IntStream.range(0, 784)
              .mapToObj(i -> Integer.toString(i % 256))
              .collect(Collectors.joining(",", "[", "]"));
      List<CompletableFuture<HttpResponse<String>>> predicts = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        predicts.add(
            http.sendAsync(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/predict"))
                    .timeout(Duration.ofMinutes(2))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(pixels))
                    .build(),
                HttpResponse.BodyHandlers.ofString()));
      }
      long start = System.nanoTime();
      assertEquals(200, get(port, "/health/live").statusCode());
      long live = System.nanoTime() - start;
      assertEquals(200, get(port, "/metrics").statusCode());
      long metrics = System.nanoTime() - start - live;
      for (int i = 0; i < slow.size(); i++) {
        Socket s = slow.get(i);
        s.setSoTimeout(50);
        try {
          int b = s.getInputStream().read();
          throw new AssertionError(
              "slow socket "
                  + i
                  + " was answered or closed before health answered (read "
                  + b
                  + ")");
        } catch (java.net.SocketTimeoutException stillOpen) {
          // what a client in the middle of its request sees
        }
      }
      AtomicInteger ok = new AtomicInteger();
      for (CompletableFuture<HttpResponse<String>> p : predicts) {
        int status = p.join().statusCode();
        assertTrue(status == 200 || status == 503, "predict answered " + status);
        ok.addAndGet(status == 200 ? 1 : 0);
      }

      // Oversized and malformed bodies, many at once: each its 4xx, and nothing sized by them is
      // allocated.
      // Four clients at a time (the scorer's predict threads), so the pool never has to answer 503:
      // each bad body
      // must get its own 4xx, whatever the interleaving.
      List<CompletableFuture<Void>> clients = new ArrayList<>();
      AtomicInteger badSent = new AtomicInteger();
      for (int c = 0; c < 4; c++) {
        clients.add(
            CompletableFuture.runAsync(
                () -> {
                  for (int i = 0; i < 10; i++) {
                    status(
                            port,
                            "application/json",
                            "{\"pixels\": [1, 2,".getBytes(StandardCharsets.UTF_8),
                            400)
                        .join();
                    status(port, "image/png", new byte[] {(byte) 0x89, 'P', 'N', 'G', 0, 0}, 400)
                        .join();
                    status(port, "text/plain", "hello".getBytes(StandardCharsets.UTF_8), 415)
                        .join();
                    badSent.addAndGet(3);
                  }
                }));
      }
      for (CompletableFuture<Void> c : clients) {
        c.join();
      }
      // A body declared at 1 GB, and a chunked one past the limit: answered 413 without being read
      // to the end
      // (raw sockets, so the answer is read while the rest of the body is still unsent).
      for (int i = 0; i < 20; i++) {
        assertEquals(
            413,
            rawStatus(
                port,
                "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 1000000000\r\n\r\n[1,2,3"),
            "declared 1 GB");
        StringBuilder chunked =
            new StringBuilder(
                "POST /v1/predict HTTP/1.1\r\nHost: x\r\n"
                    + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (int c = 0; c < 9; c++) {
          chunked
              .append("2000\r\n")
              .append("1".repeat(0x2000))
              .append("\r\n"); // 9 x 8 KiB: past 64 KiB
        }
        assertEquals(413, rawStatus(port, chunked.toString()), "chunked past the limit");
      }
      assertEquals(200, get(port, "/health/live").statusCode(), "still answering");
      assertTrue(scorer.process.isAlive(), "the scorer is still running");
      assertFalse(
          Files.readString(log).contains("OutOfMemoryError"),
          "no OutOfMemoryError in the scorer's log");
      System.out.printf(
          "[ScorerProcessIT] -Xmx160m, 256 slow sockets: /health/live in %.1f ms, /metrics in %.1f"
              + " ms; %d of 200 predicts answered 200 (the rest 503); %d bad requests each got its 4xx%n",
          live / 1e6, metrics / 1e6, ok.get(), badSent.get() + 40);
    } finally {
      for (Socket s : slow) {
        s.close();
      }
      Files.copy(
          log,
          Path.of("target", "ScorerProcessIT-abuse.log"),
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
  }

  /** Sends {@code request} on a fresh socket and returns the answer's status code. */
  private static int rawStatus(int port, String request) throws Exception {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(60_000);
      socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();
      String line = new String(socket.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
      assertTrue(line.startsWith("HTTP/1.1 "), "no HTTP answer: " + line);
      return Integer.parseInt(line.substring(9, 12));
    }
  }

  /** Sends a predict with {@code body}; the future fails unless the answer is {@code expected}. */
  private CompletableFuture<Integer> status(int port, String type, byte[] body, int expected) {
    return http.sendAsync(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/predict"))
                .timeout(Duration.ofMinutes(2))
                .header("Content-Type", type)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .build(),
            HttpResponse.BodyHandlers.ofString())
        .thenApply(
            r -> {
              assertEquals(
                  expected,
                  r.statusCode(),
                  type + " body of " + body.length + " bytes: " + r.body());
              return r.statusCode();
            });
  }

  private static Set<String> distinctIds(String topic) {
    Set<String> ids = new HashSet<>();
    for (ConsumerRecord<byte[], byte[]> r : kafka.readToEnd(topic)) {
      ids.add(new String(r.key(), StandardCharsets.UTF_8));
    }
    return ids;
  }

  /** Sends events e-0 .. e-(count-1) at {@code rate} per second, each acknowledged. */
  private static void produceEvents(String topic, int count, int rate) {
    SplittableRandom random = new SplittableRandom(5);
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(
            KafkaClients.properties(
                kafka.bootstrapServers(),
                Map.of(ProducerConfig.ACKS_CONFIG, "all", ProducerConfig.LINGER_MS_CONFIG, 5),
                Map.of()),
            new ByteArraySerializer(),
            new ByteArraySerializer())) {
      List<java.util.concurrent.Future<?>> sent = new ArrayList<>();
      long start = System.nanoTime();
      for (int i = 0; i < count; i++) {
        long due = start + (long) (i * 1e9 / rate);
        long wait = due - System.nanoTime();
        if (wait > 0) {
          java.util.concurrent.locks.LockSupport.parkNanos(wait);
        }
        byte[] pixels = new byte[784];
        random.nextBytes(pixels);
        String id = "e-" + i;
        sent.add(
            producer.send(
                new ProducerRecord<>(
                    topic,
                    id.getBytes(StandardCharsets.UTF_8),
                    Codecs.IMAGE_EVENT.encode(
                        ImageEvent.newBuilder()
                            .setImageId(id)
                            .setPixels(ByteBuffer.wrap(pixels))
                            .setEventTime(Instant.now())
                            .build()))));
      }
      for (java.util.concurrent.Future<?> f : sent) {
        f.get(2, TimeUnit.MINUTES);
      }
    } catch (Exception e) {
      throw new IllegalStateException("producing events failed", e);
    }
  }
}
