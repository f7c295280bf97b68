package io.streamlearn.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.streamlearn.learner.Learner;
import io.streamlearn.learner.LearnerMain;
import io.streamlearn.learner.LearnerSettings;
import io.streamlearn.producer.ProducerMain;
import io.streamlearn.scorer.Scorer;
import io.streamlearn.scorer.ScorerMain;
import io.streamlearn.scorer.ScorerSettings;
import io.streamlearn.testkit.Await;
import io.streamlearn.testkit.RealKafka;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The dashboard and the alert rules, proven against the running services: the pipeline runs on the
 * embedded broker, each service configured from its {@code environment:} entries in {@code
 * deploy/compose.yaml}; a real Prometheus (Debian package) scrapes them with {@code
 * deploy/prometheus/prometheus.yml} (targets rewritten to this run's ports, a 2-second interval)
 * and evaluates {@code alerts.yml}. One dead letter on each input, one rejected snapshot and one
 * learner restart (on an empty state directory, so it restores) give every panel something to show.
 * Then every panel query and every alert expression is evaluated as a range query over the run.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DashboardIT {
  @RegisterExtension static final RealKafka kafka = new RealKafka();

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Path COMPOSE = Tools.ROOT.resolve("deploy/compose.yaml");
  private static final Path DASHBOARD = Tools.ROOT.resolve(GenerateDeploy.DASHBOARD);
  private static final Path RULES = Tools.ROOT.resolve(GenerateDeploy.RULES);
  private static final Path SCRAPE_CONFIG = Tools.ROOT.resolve("deploy/prometheus/prometheus.yml");

  /** What Grafana's $__rate_interval is at a 2 s scrape interval: at least four scrapes. */
  private static final String RATE_INTERVAL = "10s";

  private static final Duration TIMEOUT = Duration.ofMinutes(4);

  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private Path work;
  private Process prometheus;
  private int prometheusPort;
  private long start;
  private long end;
  private Learner learner;
  private Scorer scorer;

  /**
   * Each service's own /metrics, scraped while it ran (the contract test reads names from here).
   */
  private final Map<String, String> scrapes = new TreeMap<>();

  private final Map<String, Integer> ports = new HashMap<>();

  @BeforeAll
  void runThePipelineUnderPrometheus() throws Exception {
    String binary = Tools.require("prometheus", "prometheus");
    work = Files.createTempDirectory("dashboard-it");
    JsonNode compose = YAML.readTree(COMPOSE.toFile());
    for (String service : List.of("learner", "scorer", "producer-train", "producer-events")) {
      ports.put(service, Tools.freePort());
    }
    startPrometheus(binary);
    start = System.currentTimeMillis() / 1000;

    Map<String, String> learnerEnv =
        environment(
            compose,
            "learner",
            Map.of(
                "STREAMLEARN_METRICS_PORT", Integer.toString(ports.get("learner")),
                "STREAMLEARN_STATE_DIR", work.resolve("state-1").toString()));
    learner = startLearner(learnerEnv);
    Map<String, String> scorerEnv =
        environment(
            compose,
            "scorer",
            Map.of("STREAMLEARN_HTTP_PORT", Integer.toString(ports.get("scorer"))));
    scorer =
        Scorer.start(
            ScorerSettings.resolve(
                ScorerMain.COMMAND
                    .parse(new String[0], scorerEnv, new PrintWriter(new StringWriter()))
                    .orElseThrow()));

    // A short training stream (the compose file streams 5 epochs; a test streams part of one, no
    // faster than a
    // real pipeline would), then labelled live events once a model is served.
    CompletableFuture<Integer> train =
        produce(
            compose,
            "producer-train",
            Map.of("STREAMLEARN_LIMIT", "12000", "STREAMLEARN_RATE", "1500"));
    Await.until(() -> scorer.isReady(), TIMEOUT, "the scorer serves no model within " + TIMEOUT);
    CompletableFuture<Integer> events =
        produce(
            compose,
            "producer-events",
            Map.of("STREAMLEARN_LIMIT", "600", "STREAMLEARN_RATE", "60"));
    predictOverHttp();

    // Faults: one undecodable record on each input, one snapshot the scorer must refuse; first
    // Prometheus must hold
    // the counters at 0, so that the increase is seen.
    Await.until(
        () -> {
          end = System.currentTimeMillis() / 1000;
          return hasData("streamlearn_learner_dead_letters_total")
              && hasData("streamlearn_scorer_dead_letters_total")
              && hasData("streamlearn_scorer_snapshots_rejected_total");
        },
        TIMEOUT,
        "Prometheus has not scraped the dead-letter and rejection counters");
    try (KafkaProducer<byte[], byte[]> raw =
        new KafkaProducer<>(
            kafka.clientProperties(), new ByteArraySerializer(), new ByteArraySerializer())) {
      byte[] junk = "not an avro record".getBytes(StandardCharsets.UTF_8);
      raw.send(
              new ProducerRecord<>(
                  env(learnerEnv, "STREAMLEARN_TRAINING_TOPIC", "mnist.train"), junk))
          .get();
      raw.send(
              new ProducerRecord<>(
                  env(scorerEnv, "STREAMLEARN_IMAGES_TOPIC", "mnist.images"), junk))
          .get();
      raw.send(
              new ProducerRecord<>(
                  env(scorerEnv, "STREAMLEARN_SNAPSHOT_TOPIC", "mnist.model.snapshots"),
                  env(scorerEnv, "STREAMLEARN_MODEL_ID", "mnist").getBytes(StandardCharsets.UTF_8),
                  junk))
          .get();
    }
    Await.until(
        () ->
            count(scorer.registry(), "streamlearn.scorer.snapshots.rejected") > 0
                && count(scorer.registry(), "streamlearn.scorer.dead.letters") > 0
                && count(learner.registry(), "streamlearn.learner.dead.letters") > 0,
        TIMEOUT,
        "the injected dead letters and the bad snapshot were not all counted");

    assertEquals(
        0, (int) train.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS), "the training producer failed");
    Await.until(
        () -> learner.samplesTrained() >= 12000,
        TIMEOUT,
        () -> "the learner trained " + learner.samplesTrained() + " of 12000 samples");
    scrapes.put("learner", scrape(ports.get("learner")));

    // One learner restart, as on a new node: an empty state directory, so its state is restored
    // from the changelog.
    learner.close();
    Map<String, String> movedEnv = new HashMap<>(learnerEnv);
    movedEnv.put("STREAMLEARN_STATE_DIR", work.resolve("state-2").toString());
    learner = startLearner(movedEnv);
    Await.until(
        () ->
            count(learner.registry(), "streamlearn.learner.state.restored") > 0
                && learner.state() == KafkaStreams.State.RUNNING,
        TIMEOUT,
        "the restarted learner did not restore its state and reach RUNNING");
    assertEquals(
        0, (int) events.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS), "the events producer failed");
    scrapes.put("scorer", scrape(ports.get("scorer")));

    // Every panel has data once Prometheus has scraped and evaluated after the last event.
    Map<String, String> panels = panelQueries(JSON.readTree(DASHBOARD.toFile()));
    Await.until(
        () -> {
          end = System.currentTimeMillis() / 1000;
          return withoutData(panels).isEmpty();
        },
        TIMEOUT,
        () -> "panels still without data: " + safeWithoutData(panels));
  }

  @AfterAll
  void stop() throws IOException {
    if (learner != null) {
      learner.close();
    }
    if (scorer != null) {
      scorer.close();
    }
    if (prometheus != null) {
      prometheus.destroy();
      try {
        prometheus.waitFor(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      prometheus.destroyForcibly();
    }
    if (work != null) {
      try (Stream<Path> files = Files.walk(work)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  @Test
  void everyPanelQueryReturnsData() throws Exception {
    Map<String, String> panels = panelQueries(JSON.readTree(DASHBOARD.toFile()));
    List<String> missing = withoutData(panels);
    System.out.printf(
        "[DashboardIT] panel queries with data: %d/%d%n",
        panels.size() - missing.size(), panels.size());
    assertTrue(panels.size() >= 25, "the dashboard has only " + panels.size() + " queries");
    assertEquals(List.of(), missing, "panel queries without a non-NaN sample over the run");
  }

  /**
   * The check is real: one misspelled metric in a copy of the dashboard leaves its panel without
   * data.
   */
  @Test
  void aMisspelledMetricLeavesItsPanelWithoutData() throws Exception {
    String text = Files.readString(DASHBOARD, StandardCharsets.UTF_8);
    String misspelled =
        text.replaceFirst(
            "streamlearn_scorer_model_age_seconds", "streamlearn_scorer_model_age_second");
    assertFalse(
        text.equals(misspelled), "the dashboard no longer shows the model age: update this test");
    Map<String, String> panels = panelQueries(JSON.readTree(misspelled));
    List<String> missing = withoutData(panels);
    assertEquals(1, missing.size(), "panels without data in the misspelled copy: " + missing);
    assertTrue(missing.get(0).startsWith("Model age"), missing.toString());
  }

  /**
   * Every alert expression, with its comparisons made bool, has data: every metric and join in it
   * exists.
   */
  @Test
  void everyAlertExpressionReturnsData() throws Exception {
    Map<String, String> alerts = alertExpressions();
    Map<String, String> asBool = new LinkedHashMap<>();
    alerts.forEach((name, expr) -> asBool.put(name, PromQl.withBoolComparisons(expr)));
    List<String> missing = withoutData(asBool);
    System.out.printf(
        "[DashboardIT] alert expressions with data: %d/%d%n",
        alerts.size() - missing.size(), alerts.size());
    assertEquals(List.of(), missing, "alert expressions without a non-NaN sample over the run");
  }

  /**
   * The faults injected make their alerts' conditions true (they would fire after their for:
   * duration).
   */
  @Test
  void injectedFaultsMakeTheirAlertsTrue() throws Exception {
    Map<String, String> alerts = alertExpressions();
    for (String name : List.of("StreamlearnDeadLetters", "StreamlearnSnapshotRejected")) {
      assertTrue(hasData(alerts.get(name)), name + " never became true after the injected fault");
    }
    JsonNode dead = rangeQuery(alerts.get("StreamlearnDeadLetters"));
    Set<String> services = new TreeSet<>();
    dead.forEach(series -> services.add(series.path("metric").path("service").asText()));
    assertEquals(Set.of("learner", "scorer"), services, "dead-letter alerts by service");
  }

  /**
   * Every metric the dashboard and the rules read is exported by a service (names from real
   * scrapes).
   */
  @Test
  void everyMetricUsedIsExportedByAService() throws Exception {
    Set<String> exported = new TreeSet<>();
    scrapes
        .values()
        .forEach(
            text ->
                text.lines()
                    .filter(l -> !l.startsWith("#") && !l.isBlank())
                    .forEach(l -> exported.add(l.split("[{ ]", 2)[0])));
    assertTrue(
        scrapes
            .keySet()
            .containsAll(List.of("learner", "scorer", "producer-train", "producer-events")),
        "scraped: " + scrapes.keySet());
    Set<String> recorded = new TreeSet<>();
    for (JsonNode group : YAML.readTree(RULES.toFile()).get("groups")) {
      group
          .get("rules")
          .forEach(
              r -> {
                if (r.has("record")) {
                  recorded.add(r.get("record").asText());
                }
              });
    }
    Set<String> used = new TreeSet<>();
    panelQueries(JSON.readTree(DASHBOARD.toFile()))
        .values()
        .forEach(q -> used.addAll(PromQl.metricNames(q)));
    alertExpressions().values().forEach(e -> used.addAll(PromQl.metricNames(e)));
    used.removeAll(recorded);
    used.remove("up"); // Prometheus' own series per target
    Set<String> unknown = new TreeSet<>(used);
    unknown.removeAll(exported);
    assertTrue(used.size() > 20, "metric names found: " + used);
    assertEquals(
        Set.of(), unknown, "metrics used by the dashboard or the rules that no service exports");
  }

  // --- the pipeline ---

  private static Learner startLearner(Map<String, String> env) {
    return Learner.start(
        LearnerSettings.resolve(
            LearnerMain.COMMAND
                .parse(new String[0], env, new PrintWriter(new StringWriter()))
                .orElseThrow()));
  }

  /**
   * The service's compose environment, pointed at this test's broker, data folder and ports, plus
   * overrides.
   */
  private Map<String, String> environment(
      JsonNode compose, String service, Map<String, String> overrides) {
    JsonNode entries = compose.path("services").path(service).path("environment");
    assertTrue(
        entries.isObject() && entries.size() > 0,
        "compose service " + service + " has no environment map");
    Map<String, String> env = new TreeMap<>();
    entries.fields().forEachRemaining(e -> env.put(e.getKey(), e.getValue().asText()));
    env.put("STREAMLEARN_BOOTSTRAP_SERVERS", kafka.bootstrapServers());
    env.put("STREAMLEARN_DATA_DIR", System.getProperty("streamlearn.data.dir", "data"));
    env.putAll(overrides);
    return env;
  }

  private CompletableFuture<Integer> produce(
      JsonNode compose, String service, Map<String, String> size) {
    Map<String, String> env = new TreeMap<>(environment(compose, service, size));
    env.put("STREAMLEARN_METRICS_PORT", Integer.toString(ports.get(service)));
    CompletableFuture<Integer> exit =
        CompletableFuture.supplyAsync(
            () ->
                ProducerMain.run(
                    new String[0],
                    env,
                    new PrintStream(java.io.OutputStream.nullOutputStream()),
                    System.err,
                    false));
    // Its own /metrics while it runs (it is a job: the port closes when it ends).
    Await.until(
        () -> {
          try {
            String text = scrape(ports.get(service));
            if (text.contains("streamlearn_producer_records_total")) {
              scrapes.put(service, text);
              return true;
            }
          } catch (IOException e) {
            // not listening yet
          }
          return exit.isDone();
        },
        TIMEOUT,
        service + " never served /metrics");
    assertTrue(scrapes.containsKey(service), service + " ended before its /metrics could be read");
    return exit;
  }

  private void predictOverHttp() throws Exception {
    StringBuilder pixels = new StringBuilder("{\"pixels\":[");
    for (int i = 0; i < 784; i++) {
      pixels.append(i == 0 ? "" : ",").append(i % 255);
    }
    pixels.append("]}");
    HttpResponse<String> answer =
        http.send(
            HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + ports.get("scorer") + "/v1/predict"))
                .POST(HttpRequest.BodyPublishers.ofString(pixels.toString()))
                .header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(30))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, answer.statusCode(), answer.body());
  }

  private static double count(io.micrometer.core.instrument.MeterRegistry registry, String name) {
    return registry.find(name).counters().stream().mapToDouble(c -> c.count()).sum();
  }

  private static String env(Map<String, String> env, String key, String fallback) {
    return env.getOrDefault(key, fallback);
  }

  private String scrape(int port) throws IOException {
    try {
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                  .timeout(Duration.ofSeconds(10))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        throw new IOException("/metrics on port " + port + " answered " + r.statusCode());
      }
      return r.body();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }

  // --- Prometheus ---

  /**
   * deploy/prometheus/prometheus.yml with each compose host:port target replaced by this run's
   * address.
   */
  private void startPrometheus(String binary) throws Exception {
    ObjectNode config = (ObjectNode) YAML.readTree(SCRAPE_CONFIG.toFile());
    ((ObjectNode) config.get("global"))
        .put("scrape_interval", "2s")
        .put("evaluation_interval", "2s");
    Files.copy(RULES, work.resolve("alerts.yml"));
    for (JsonNode job : config.get("scrape_configs")) {
      for (JsonNode statics : job.get("static_configs")) {
        ArrayNode targets = (ArrayNode) statics.get("targets");
        for (int i = 0; i < targets.size(); i++) {
          String host = targets.get(i).asText().split(":")[0];
          Integer port = ports.get(host);
          assertTrue(
              port != null,
              "scrape target "
                  + targets.get(i).asText()
                  + " is not a compose service the test"
                  + " runs: "
                  + ports.keySet());
          targets.set(i, JSON.getNodeFactory().textNode("127.0.0.1:" + port));
        }
      }
    }
    Path file = work.resolve("prometheus.yml");
    YAML.writeValue(file.toFile(), config);
    prometheusPort = Tools.freePort();
    prometheus =
        new ProcessBuilder(
                binary,
                "--config.file=" + file,
                "--storage.tsdb.path=" + work.resolve("tsdb"),
                "--web.listen-address=127.0.0.1:" + prometheusPort,
                "--log.level=warn")
            .redirectErrorStream(true)
            .redirectOutput(work.resolve("prometheus.log").toFile())
            .start();
    Await.until(
        () -> {
          try {
            return http.send(
                        HttpRequest.newBuilder(
                                URI.create("http://127.0.0.1:" + prometheusPort + "/-/ready"))
                            .timeout(Duration.ofSeconds(5))
                            .build(),
                        HttpResponse.BodyHandlers.discarding())
                    .statusCode()
                == 200;
          } catch (IOException e) {
            return false;
          }
        },
        Duration.ofMinutes(1),
        "Prometheus did not become ready (see its log in the test's temp folder)");
  }

  /** Each panel target's query, template variables substituted, keyed "panel title / refId". */
  private static Map<String, String> panelQueries(JsonNode dashboard) {
    Map<String, String> queries = new LinkedHashMap<>();
    List<JsonNode> panels = new ArrayList<>();
    dashboard
        .get("panels")
        .forEach(
            p -> {
              panels.add(p);
              p.path("panels").forEach(panels::add);
            });
    for (JsonNode panel : panels) {
      for (JsonNode target : panel.path("targets")) {
        String expr = target.get("expr").asText();
        assertFalse(expr.contains("vector("), "padding with vector() is not data: " + expr);
        queries.put(
            panel.get("title").asText() + " / " + target.get("refId").asText(),
            expr.replace("$__rate_interval", RATE_INTERVAL).replace("$model", ".*"));
      }
    }
    return queries;
  }

  private static Map<String, String> alertExpressions() throws IOException {
    Map<String, String> alerts = new LinkedHashMap<>();
    for (JsonNode group : YAML.readTree(RULES.toFile()).get("groups")) {
      group
          .get("rules")
          .forEach(
              r -> {
                if (r.has("alert")) {
                  alerts.put(r.get("alert").asText(), r.get("expr").asText());
                }
              });
    }
    return alerts;
  }

  private List<String> withoutData(Map<String, String> queries)
      throws IOException, InterruptedException {
    List<String> missing = new ArrayList<>();
    for (Map.Entry<String, String> q : queries.entrySet()) {
      if (!hasData(q.getValue())) {
        missing.add(q.getKey() + ": " + q.getValue());
      }
    }
    return missing;
  }

  private String safeWithoutData(Map<String, String> queries) {
    try {
      return withoutData(queries).toString();
    } catch (Exception e) {
      return e.toString();
    }
  }

  private boolean hasData(String query) throws IOException, InterruptedException {
    for (JsonNode series : rangeQuery(query)) {
      for (JsonNode point : series.path("values")) {
        String value = point.get(1).asText();
        if (!value.equals("NaN")) {
          return true;
        }
      }
    }
    return false;
  }

  private JsonNode rangeQuery(String query) throws IOException, InterruptedException {
    long to = Math.max(end, start + 2);
    String url =
        "http://127.0.0.1:"
            + prometheusPort
            + "/api/v1/query_range?query="
            + URLEncoder.encode(query, StandardCharsets.UTF_8)
            + "&start="
            + start
            + "&end="
            + to
            + "&step=2";
    HttpResponse<String> answer =
        http.send(
            HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).build(),
            HttpResponse.BodyHandlers.ofString());
    JsonNode body = JSON.readTree(answer.body());
    assertEquals(
        "success",
        body.path("status").asText(),
        "Prometheus refused " + query + ": " + answer.body());
    return body.path("data").path("result");
  }
}
