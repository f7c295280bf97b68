package io.streamlearn.scorer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.streamlearn.contract.WeightsKind;
import io.streamlearn.core.http.HttpService;
import io.streamlearn.core.metrics.MetricsEndpoint;
import io.streamlearn.model.DenseNetwork;
import io.streamlearn.model.Snapshots;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The scorer's HTTP port under abuse: clients that send half a request and stall, many at once,
 * beside a burst of predictions. Health and metrics must answer while every slow socket is still
 * open (the order is asserted, the latency printed; nothing here is timed). With {@code
 * com.sun.net.httpserver}, four such sockets blocked every endpoint.
 */
class HttpAbuseTest {
  private static final int SLOW = 256;
  private static final int PREDICTS = 200;

  private MetricsEndpoint endpoint;
  private PredictApi api;
  private final List<Socket> slow = new ArrayList<>();
  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(30))
          .build();

  @BeforeEach
  void start() {
    ModelHolder holder =
        new ModelHolder(
            "mnist",
            Clock.systemUTC(),
            new ModelHolder.Listener() {
              @Override
              public void applied(ServingModel model) {}

              @Override
              public void rejected(SnapshotRejection reason) {}
            });
    DenseNetwork network = DenseNetwork.initialized(new int[] {784, 16, 10}, DataType.FLOAT, 3);
    holder.offer(
        Snapshots.build(
            new Snapshots.Header(
                "mnist", 1, Instant.now(), "run", WeightsKind.RAW, 64, 1, null, null),
            network.sizes(),
            network.parameters()),
        "test");
    holder.caughtUp();
    // An idle timeout far beyond the test, so that "still open" below cannot be the server's
    // timeout at work.
    endpoint =
        MetricsEndpoint.start(
            "scorer",
            new HttpService.Limits("127.0.0.1", 0, "http-port", 1024, Duration.ofMinutes(5)));
    api = new PredictApi(holder, 64 * 1024, 2, endpoint.registry());
    api.register(endpoint);
  }

  @AfterEach
  void stop() throws Exception {
    for (Socket s : slow) {
      s.close();
    }
    endpoint.close();
    api.close();
  }

  /** Opens a socket, sends {@code prefix} and nothing more. */
  private Socket stall(String prefix) throws Exception {
    Socket socket = new Socket("127.0.0.1", endpoint.port());
    OutputStream out = socket.getOutputStream();
    out.write(prefix.getBytes(StandardCharsets.US_ASCII));
    out.flush();
    slow.add(socket);
    return socket;
  }

  private HttpResponse<String> get(String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + endpoint.port() + path))
            .timeout(Duration.ofSeconds(60))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static String pixels() {
    return IntStream.range(0, 784)
        .mapToObj(i -> Integer.toString(i % 256))
        .collect(Collectors.joining(",", "[", "]"));
  }

  @Test
  void healthAndMetricsAnswerWhileSlowClientsHoldHalfSentRequestsAndPredictionsRun()
      throws Exception {
    for (int i = 0; i < SLOW; i++) {
      switch (i % 4) {
        case 0 ->
            stall(
                "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 5000\r\n\r\n[1,2,3"); // headers, then a body that never
        // comes
        case 1 -> stall("GET /health/li"); // half a request line
        case 2 -> stall("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: "); // half a header
        default -> stall(""); // connected, silent
      }
    }
    String body = pixels();
    List<CompletableFuture<HttpResponse<String>>> predicts = new ArrayList<>();
    for (int i = 0; i < PREDICTS; i++) {
      predicts.add(
          http.sendAsync(
              HttpRequest.newBuilder(
                      URI.create("http://127.0.0.1:" + endpoint.port() + "/v1/predict"))
                  .timeout(Duration.ofSeconds(120))
                  .header("Content-Type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofString(body))
                  .build(),
              HttpResponse.BodyHandlers.ofString()));
    }

    long start = System.nanoTime();
    HttpResponse<String> live = get("/health/live");
    long liveNanos = System.nanoTime() - start;
    HttpResponse<String> metrics = get("/metrics");
    long metricsNanos = System.nanoTime() - start - liveNanos;
    assertEquals(200, live.statusCode(), live.body());
    assertEquals(200, metrics.statusCode());
    assertTrue(metrics.body().contains("jvm_memory_used_bytes"), "a whole scrape");

    // Every slow socket is still open (the answers above came while they held their half requests).
    for (Socket s : slow) {
      assertStillOpen(s);
    }
    int ok = 0;
    int busy = 0;
    for (CompletableFuture<HttpResponse<String>> p : predicts) {
      int status = p.join().statusCode();
      ok += status == 200 ? 1 : 0;
      busy += status == 503 ? 1 : 0;
      assertTrue(status == 200 || status == 503, "predict answered " + status);
    }
    System.out.printf(
        "[HttpAbuseTest] %d slow sockets open: /health/live answered in %.1f ms, /metrics in %.1f ms;"
            + " %d predictions answered 200, %d answered 503 (pool full)%n",
        SLOW, liveNanos / 1e6, metricsNanos / 1e6, ok, busy);
    assertTrue(ok > 0, "no prediction got through");
  }

  @Test
  void badRequestsGetTheirClientErrors() throws Exception {
    int port = endpoint.port();
    assertEquals(
        431,
        raw(
            port,
            "GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(20_000) + "\r\n\r\n"),
        "headers over 8 KiB");
    assertEquals(400, raw(port, "NOT-HTTP\r\n\r\n"), "a request line that is no HTTP");
    assertEquals(
        413,
        raw(
            port,
            "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Content-Length: 999999999\r\n\r\n"),
        "a declared body over the limit, refused before it is sent");
    assertEquals(
        400,
        raw(port, "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"),
        "a Content-Length that is no number");
    assertEquals(200, get("/health/live").statusCode(), "and the server goes on");
  }

  /** Sends {@code request} on a fresh socket and returns the status code of the answer. */
  private static int raw(int port, String request) throws Exception {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(60_000);
      socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();
      byte[] head = new byte[12];
      int n = socket.getInputStream().readNBytes(head, 0, 12);
      String line = new String(head, 0, n, StandardCharsets.US_ASCII);
      if (!line.startsWith("HTTP/1.1 ")) {
        fail("no HTTP answer: '" + line + "'");
      }
      return Integer.parseInt(line.substring(9, 12));
    }
  }

  private static void assertStillOpen(Socket socket) throws Exception {
    socket.setSoTimeout(50);
    InputStream in = socket.getInputStream();
    try {
      int b = in.read();
      fail(
          "a slow socket was answered or closed before the health check finished (read " + b + ")");
    } catch (SocketTimeoutException stillWaiting) {
      // open, and nothing sent to it: what a client in the middle of its request sees
    }
  }
}
