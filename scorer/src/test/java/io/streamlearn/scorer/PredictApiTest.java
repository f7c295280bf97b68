package io.streamlearn.scorer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.contract.WeightsKind;
import io.streamlearn.core.metrics.MetricsEndpoint;
import io.streamlearn.model.DenseNetwork;
import io.streamlearn.model.InputTransform;
import io.streamlearn.model.ModelSpec;
import io.streamlearn.model.Snapshots;
import io.streamlearn.testkit.Await;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublisher;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

class PredictApiTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String MODEL = "mnist";
  private static final int[] SIZES = {784, 100, 10};
  private static final int MAX_REQUEST_BYTES = 16 * 1024;
  private static final Instant CREATED = Instant.parse("2024-05-01T12:00:00Z");
  private static final Instant NOW = Instant.parse("2024-05-01T12:00:05Z");
  private static final DenseNetwork FIRST = DenseNetwork.initialized(SIZES, DataType.FLOAT, 21);
  private static final DenseNetwork SECOND = DenseNetwork.initialized(SIZES, DataType.FLOAT, 22);
  private static final double TOLERANCE = 1e-6;

  private ModelHolder holder;
  private MetricsEndpoint endpoint;
  private PredictApi api;
  private HttpClient http;

  @BeforeEach
  void startApi() {
    holder =
        new ModelHolder(
            MODEL,
            Clock.fixed(NOW, ZoneOffset.UTC),
            new ModelHolder.Listener() {
              @Override
              public void applied(ServingModel model) {}

              @Override
              public void rejected(SnapshotRejection reason) {}
            });
    endpoint = MetricsEndpoint.start("scorer", 0);
    api = new PredictApi(holder, MAX_REQUEST_BYTES, 2, endpoint.registry());
    api.register(endpoint);
    http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
  }

  @AfterEach
  void stopApi() {
    endpoint.close();
    api.close();
  }

  // --- predict

  @Test
  void predictsTheDigitAndProbabilitiesOfAJsonImage() throws Exception {
    load(1, FIRST);
    byte[] image = image(1);

    HttpResponse<String> response = post("/v1/predict", "application/json", jsonObject(image));

    assertEquals(200, response.statusCode(), response.body());
    assertEquals("application/json", response.headers().firstValue("Content-Type").orElse(""));
    JsonNode answer = JSON.readTree(response.body());
    assertAnswers(answer, FIRST, image, 1);
    assertEquals(MODEL, answer.get("modelId").asText());
    assertEquals(CREATED.toString(), answer.get("snapshotCreatedAt").asText());
  }

  @Test
  void acceptsABareArrayWithOrWithoutAContentType() throws Exception {
    load(1, FIRST);
    byte[] image = image(2);

    JsonNode typed =
        okJson(post("/v1/predict", "application/json; charset=utf-8", jsonArray(image)));
    JsonNode untyped = okJson(post("/v1/predict", null, jsonArray(image)));

    assertAnswers(typed, FIRST, image, 1);
    assertAnswers(untyped, FIRST, image, 1);
  }

  @Test
  void roundsFractionalPixelValues() throws Exception {
    load(1, FIRST);
    byte[] image = image(3);
    String fractional =
        IntStream.range(0, 784)
            .mapToObj(i -> (image[i] & 0xff) == 255 ? "254.6" : (image[i] & 0xff) + ".4")
            .collect(Collectors.joining(",", "[", "]"));

    assertAnswers(okJson(post("/v1/predict", "application/json", fractional)), FIRST, image, 1);
  }

  @Test
  void predictsFromAGrayscalePngAsFromTheSamePixelsInJson() throws Exception {
    load(1, FIRST);
    byte[] image = image(4);

    JsonNode fromPng = okJson(post("/v1/predict", "image/png", png(grayImage(image, 28, 28))));
    JsonNode fromJson = okJson(post("/v1/predict", "application/json", jsonObject(image)));

    assertAnswers(fromPng, FIRST, image, 1);
    assertEquals(
        fromJson, fromPng, "the PNG and the JSON of the same pixels got different answers");
  }

  @Test
  void recognisesAPngSentWithoutAnImageContentType() throws Exception {
    load(1, FIRST);
    byte[] image = image(5);
    byte[] png = png(grayImage(image, 28, 28));

    assertAnswers(okJson(post("/v1/predict", null, png)), FIRST, image, 1);
    assertAnswers(okJson(post("/v1/predict", "application/octet-stream", png)), FIRST, image, 1);
  }

  @Test
  void readsA16BitGrayscalePngByItsHighByte() throws Exception {
    load(1, FIRST);
    byte[] image = image(6);
    BufferedImage wide = new BufferedImage(28, 28, BufferedImage.TYPE_USHORT_GRAY);
    for (int i = 0; i < 784; i++) {
      // the low byte differs from the high byte, so only the high byte gives back the image
      wide.getRaster().setSample(i % 28, i / 28, 0, (image[i] & 0xff) << 8 | (~image[i] & 0xff));
    }

    assertAnswers(okJson(post("/v1/predict", "image/png", png(wide))), FIRST, image, 1);
  }

  @Test
  void readsAColourPngByLuminanceWithTransparencyOnBlack() throws Exception {
    load(1, FIRST);
    byte[] image = image(7);
    BufferedImage rgb = new BufferedImage(28, 28, BufferedImage.TYPE_INT_RGB);
    BufferedImage whiteWithAlpha = new BufferedImage(28, 28, BufferedImage.TYPE_INT_ARGB);
    for (int i = 0; i < 784; i++) {
      int v = image[i] & 0xff;
      rgb.setRGB(i % 28, i / 28, v << 16 | v << 8 | v);
      whiteWithAlpha.setRGB(i % 28, i / 28, v << 24 | 0xffffff);
    }

    assertAnswers(okJson(post("/v1/predict", "image/png", png(rgb))), FIRST, image, 1);
    assertAnswers(okJson(post("/v1/predict", "image/png", png(whiteWithAlpha))), FIRST, image, 1);
  }

  @Test
  void answersWithTheNewModelOnceItIsSwappedIn() throws Exception {
    load(1, FIRST);
    byte[] image = image(8);
    assertAnswers(
        okJson(post("/v1/predict", "application/json", jsonObject(image))), FIRST, image, 1);

    assertTrue(holder.offer(snapshot(2, SECOND), "test").applied());

    assertAnswers(
        okJson(post("/v1/predict", "application/json", jsonObject(image))), SECOND, image, 2);
  }

  @Test
  void predictBeforeAnyModelAnswers503NamingTheModel() throws Exception {
    byte[] image = image(9);
    HttpResponse<String> response = post("/v1/predict", "application/json", jsonObject(image));

    String error = assertError(response, 503);
    assertTrue(error.contains(MODEL), error);

    holder.offer(snapshot(1, FIRST), "test");
    assertAnswers(
        okJson(post("/v1/predict", "application/json", jsonObject(image))), FIRST, image, 1);
  }

  // --- model and health

  @Test
  void describesTheModelInUse() throws Exception {
    load(3, FIRST);

    JsonNode model = okJson(get("/v1/model"));

    assertEquals(MODEL, model.get("modelId").asText());
    assertEquals(3, model.get("version").asLong());
    assertEquals(JSON.readTree("[784,100,10]"), model.get("layerSizes"));
    assertEquals(CREATED.toString(), model.get("createdAt").asText());
    assertEquals(NOW.toString(), model.get("appliedAt").asText());
    assertEquals("run-a", model.get("runId").asText());
    assertEquals("RAW", model.get("weightsKind").asText());
    assertEquals(Snapshots.INPUT_SCALE, model.get("inputScale").floatValue());
    assertEquals(3000, model.get("samplesSeen").asLong());
    assertEquals(30, model.get("batchesSeen").asLong());
    assertEquals(0.9, model.get("prequentialAccuracy").asDouble());
  }

  @Test
  void modelBeforeAnyModelAnswers503() throws Exception {
    assertError(get("/v1/model"), 503);
  }

  @Test
  void isLiveBeforeAndAfterAModel() throws Exception {
    assertEquals(200, get("/health/live").statusCode());
    load(1, FIRST);
    assertEquals(200, get("/health/live").statusCode());
  }

  @Test
  void isReadyOnlyOnceCaughtUpWithAModel() throws Exception {
    assertEquals(503, get("/health/ready").statusCode(), "ready with no model");

    holder.offer(snapshot(1, FIRST), "test");
    assertEquals(
        503,
        get("/health/ready").statusCode(),
        "ready before the snapshot topic was read to its end");

    holder.caughtUp();
    HttpResponse<String> ready = get("/health/ready");
    assertEquals(200, ready.statusCode(), ready.body());
    assertEquals(1, JSON.readTree(ready.body()).get("modelVersion").asLong());
  }

  @Test
  void servesMetricsCountingRequestsByEndpointAndStatus() throws Exception {
    load(1, FIRST);
    okJson(post("/v1/predict", "application/json", jsonObject(image(10))));
    assertError(post("/v1/predict", "application/json", "[1,2,3]"), 400);

    awaitMetric("endpoint=\"predict\"", "status=\"200\"");
    String scrape = awaitMetric("endpoint=\"predict\"", "status=\"400\"");
    assertTrue(scrape.contains("streamlearn_scorer_http_requests"), scrape);
  }

  // --- bad input: a 4xx with a JSON error, never a 500

  static Stream<Arguments> badBodies() throws IOException {
    byte[] image = image(11);
    String valid = jsonArray(image);
    byte[] validPng = png(grayImage(image, 28, 28));
    return Stream.of(
        bad("malformed JSON", "application/json", "{\"pixels\": [1, 2,", 400),
        bad("783 values", "application/json", jsonArray(Arrays.copyOf(image, 783)), 400),
        bad("785 values", "application/json", valid.replace("]", ",0]"), 400),
        bad("a value of 256", "application/json", valid.replaceFirst("^\\[\\d+", "[256"), 400),
        bad("a value of -1", "application/json", valid.replaceFirst("^\\[\\d+", "[-1"), 400),
        bad("a value of 255.6", "application/json", valid.replaceFirst("^\\[\\d+", "[255.6"), 400),
        bad("a value of 1e400", "application/json", valid.replaceFirst("^\\[\\d+", "[1e400"), 400),
        bad("a string value", "application/json", valid.replaceFirst("^\\[\\d+", "[\"12\""), 400),
        bad("a null value", "application/json", valid.replaceFirst("^\\[\\d+", "[null"), 400),
        bad("a boolean value", "application/json", valid.replaceFirst("^\\[\\d+", "[true"), 400),
        bad("a nested array", "application/json", valid.replaceFirst("^\\[\\d+", "[[1]"), 400),
        bad("an object without pixels", "application/json", "{\"image\": " + valid + "}", 400),
        bad("pixels that are no array", "application/json", "{\"pixels\": 7}", 400),
        bad("JSON null", "application/json", "null", 400),
        bad("a JSON string", "application/json", "\"hello\"", 400),
        bad("an empty body", "application/json", new byte[0], 400),
        bad("an empty body without a type", null, new byte[0], 400),
        bad("an unsupported content type", "text/plain", valid, 415),
        bad("form data", "application/x-www-form-urlencoded", "pixels=1,2,3", 415),
        bad(
            "a PNG of 27x28",
            "image/png",
            png(grayImage(Arrays.copyOf(image, 27 * 28), 27, 28)),
            400),
        bad(
            "a PNG of 28x29",
            "image/png",
            png(grayImage(Arrays.copyOf(image, 28 * 29), 28, 29)),
            400),
        bad("random bytes claiming image/png", "image/png", randomBytes(300), 400),
        bad("JSON claiming image/png", "image/png", valid, 400),
        bad("a truncated PNG", "image/png", Arrays.copyOf(validPng, validPng.length / 2), 400),
        bad("only the PNG signature", "image/png", Arrays.copyOf(validPng, 8), 400),
        bad("a GIF claiming image/png", "image/png", encode(grayImage(image, 28, 28), "gif"), 400),
        bad(
            "a JPEG claiming image/png",
            "image/png",
            encode(grayImage(image, 28, 28), "jpeg"),
            400),
        bad("a BMP claiming image/png", "image/png", encode(grayImage(image, 28, 28), "bmp"), 400),
        bad("JSON with trailing garbage", "application/json", valid + " garbage", 400),
        bad("two JSON documents", "application/json", valid + valid, 400),
        bad("deeply nested arrays", "application/json", "[".repeat(5000) + "]".repeat(5000), 400),
        bad("random bytes as octet-stream", "application/octet-stream", randomBytes(784), 415));
  }

  @Test
  void aTinyPngClaimingAHugeImageIsRefusedFromItsHeaderBeforeDecoding() throws Exception {
    load(1, FIRST);
    byte[] claim = png(grayImage(image(5), 28, 28));
    // IHDR: width and height at bytes 16-23, its CRC (over type and data, bytes 12-28) at 29-32.
    java.nio.ByteBuffer.wrap(claim).putInt(16, 20_000).putInt(20, 20_000);
    java.util.zip.CRC32 crc = new java.util.zip.CRC32();
    crc.update(claim, 12, 17);
    java.nio.ByteBuffer.wrap(claim).putInt(29, (int) crc.getValue());
    String error = assertError(post("/v1/predict", "image/png", claim), 400);
    assertTrue(error.contains("got 20000x20000"), error);
  }

  private static Arguments bad(String name, String contentType, String body, int status) {
    return bad(name, contentType, body.getBytes(StandardCharsets.UTF_8), status);
  }

  private static Arguments bad(String name, String contentType, byte[] body, int status) {
    return Arguments.of(Named.of(name, body), contentType, status);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badBodies")
  void refusesABadPredictBodyWithAClientError(byte[] body, String contentType, int status)
      throws Exception {
    load(1, FIRST);
    assertError(post("/v1/predict", contentType, body), status);
  }

  @Test
  void refusesABodyOverTheLimitWith413() throws Exception {
    load(1, FIRST);
    byte[] big = new byte[MAX_REQUEST_BYTES + 1];
    Arrays.fill(big, (byte) ' ');
    big[0] = '[';

    String declared = assertError(post("/v1/predict", "application/json", big), 413);
    assertTrue(declared.contains("max-request-bytes"), declared);

    HttpResponse<String> chunked =
        send(
            HttpRequest.newBuilder(uri("/v1/predict"))
                .header("Content-Type", "application/json")
                .POST(BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(big))));
    assertError(chunked, 413);
  }

  @Test
  void acceptsABodyOfExactlyTheLimit() throws Exception {
    load(1, FIRST);
    byte[] image = image(12);
    byte[] json = jsonArray(image).getBytes(StandardCharsets.UTF_8);
    byte[] padded = Arrays.copyOf(json, MAX_REQUEST_BYTES);
    Arrays.fill(padded, json.length, padded.length, (byte) ' ');

    assertAnswers(okJson(post("/v1/predict", "application/json", padded)), FIRST, image, 1);
  }

  @Test
  void refusesTheWrongMethodWith405NamingTheRightOne() throws Exception {
    load(1, FIRST);

    HttpResponse<String> getPredict = get("/v1/predict");
    assertError(getPredict, 405);
    assertEquals("POST", getPredict.headers().firstValue("Allow").orElse(""));

    HttpResponse<String> postModel = post("/v1/model", "application/json", "{}");
    assertError(postModel, 405);
    assertEquals("GET", postModel.headers().firstValue("Allow").orElse(""));

    assertError(
        send(
            HttpRequest.newBuilder(uri("/v1/predict"))
                .PUT(BodyPublishers.ofString(jsonArray(image(1))))),
        405);
    assertError(send(HttpRequest.newBuilder(uri("/health/ready")).DELETE()), 405);
  }

  @Test
  void answers404ForUnknownPaths() throws Exception {
    load(1, FIRST);
    for (String path :
        List.of(
            "/",
            "/v2/predict",
            "/v1/predict/7",
            "/v1/predictions",
            "/v1/model/3",
            "/health",
            "/health/readyz")) {
      String error = assertError(get(path), 404);
      assertTrue(error.contains(path), path + ": " + error);
    }
    assertError(post("/v1/predictx", "application/json", jsonArray(image(1))), 404);
  }

  // --- concurrency

  @Test
  void answersManyConcurrentRequestsConsistently() throws Exception {
    load(1, FIRST);
    int threads = 8;
    int perThread = 50;
    byte[][] images = {image(20), image(21), image(22), image(23)};
    byte[][] pngs = new byte[images.length][];
    for (int i = 0; i < images.length; i++) {
      pngs[i] = png(grayImage(images[i], 28, 28));
    }
    float[][] expected = new float[images.length][];
    for (int i = 0; i < images.length; i++) {
      expected[i] = forward(FIRST, images[i]);
    }

    List<List<String>> failures =
        runConcurrently(
            threads,
            (thread, request) -> {
              int which = (thread + request) % images.length;
              HttpResponse<String> response =
                  request % 2 == 0
                      ? post("/v1/predict", "application/json", jsonArray(images[which]))
                      : post("/v1/predict", "image/png", pngs[which]);
              if (response.statusCode() != 200) {
                return "status " + response.statusCode() + ": " + response.body();
              }
              return mismatch(JSON.readTree(response.body()), expected[which], 1);
            },
            perThread);

    for (List<String> f : failures) {
      assertTrue(f.isEmpty(), () -> f.size() + " bad answers, e.g. " + f.get(0));
    }
  }

  @Test
  void answersDuringAModelSwapComeWhollyFromTheVersionTheyName() throws Exception {
    load(1, FIRST);
    int threads = 8;
    int perThread = 25;
    byte[] image = image(30);
    float[] byFirst = forward(FIRST, image);
    float[] bySecond = forward(SECOND, image);
    AtomicInteger answered = new AtomicInteger();
    CountDownLatch half = new CountDownLatch(threads * perThread / 2);
    AtomicInteger[] lastVersion = new AtomicInteger[threads];
    for (int t = 0; t < threads; t++) {
      lastVersion[t] = new AtomicInteger(1);
    }
    Thread swapper =
        new Thread(
            () -> {
              try {
                if (half.await(30, TimeUnit.SECONDS)) {
                  holder.offer(snapshot(2, SECOND), "test");
                }
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
    swapper.start();

    List<List<String>> failures =
        runConcurrently(
            threads,
            (thread, request) -> {
              HttpResponse<String> response =
                  post("/v1/predict", "application/json", jsonArray(image));
              answered.incrementAndGet();
              half.countDown();
              if (response.statusCode() != 200) {
                return "status " + response.statusCode() + ": " + response.body();
              }
              JsonNode answer = JSON.readTree(response.body());
              int version = answer.get("modelVersion").asInt();
              if (version < lastVersion[thread].getAndSet(version)) {
                return "thread " + thread + " saw v" + version + " after a newer version";
              }
              return mismatch(answer, version == 1 ? byFirst : bySecond, version);
            },
            perThread);
    swapper.join(30_000);

    assertFalse(swapper.isAlive(), "the swap did not happen within 30 s");
    assertEquals(threads * perThread, answered.get());
    for (List<String> f : failures) {
      assertTrue(f.isEmpty(), () -> f.size() + " bad answers, e.g. " + f.get(0));
    }
    assertEquals(2, holder.current().orElseThrow().version());
    assertAnswers(
        okJson(post("/v1/predict", "application/json", jsonArray(image))), SECOND, image, 2);
  }

  private interface Call {
    /** Null if the answer is right, else what is wrong with it. */
    String check(int thread, int request) throws Exception;
  }

  /**
   * Runs {@code perThread} calls on each of {@code threads} threads; the problems each thread
   * found.
   */
  private static List<List<String>> runConcurrently(int threads, Call call, int perThread)
      throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      CountDownLatch start = new CountDownLatch(1);
      List<Future<List<String>>> results = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int thread = t;
        results.add(
            pool.submit(
                () -> {
                  start.await();
                  List<String> problems = new ArrayList<>();
                  for (int r = 0; r < perThread; r++) {
                    String problem = call.check(thread, r);
                    if (problem != null) {
                      problems.add(problem);
                    }
                  }
                  return problems;
                }));
      }
      start.countDown();
      List<List<String>> problems = new ArrayList<>();
      for (Future<List<String>> result : results) {
        problems.add(result.get(60, TimeUnit.SECONDS));
      }
      return problems;
    } finally {
      pool.shutdownNow();
    }
  }

  // --- a feature model

  private static final ModelSpec TABULAR =
      new ModelSpec(
          3, 2, List.of("age", "income", "score"), List.of("stays", "leaves"), null, true);
  private static final InputTransform.Standardize STATS =
      new InputTransform.Standardize(
          new float[] {40f, 5e4f, 0.5f}, new float[] {100f, 1e8f, 0f}, 12, 1e-12f);
  private static final DenseNetwork TABULAR_NETWORK =
      DenseNetwork.initialized(new int[] {3, 5, 2}, DataType.FLOAT, 23);

  private void loadTabular() {
    Snapshots.Header header =
        new Snapshots.Header(MODEL, 1, CREATED, "run-t", WeightsKind.RAW, 12, 3, null, null);
    assertTrue(
        holder
            .offer(
                Snapshots.build(
                    header, TABULAR_NETWORK.sizes(), TABULAR_NETWORK.parameters(), TABULAR, STATS),
                "test")
            .applied());
    holder.caughtUp();
  }

  @Test
  void aFeatureModelPredictsFeaturesStandardizedAsTheLearnerDid() throws Exception {
    loadTabular();
    float[] features = {50f, 6e4f, 3f};

    JsonNode answer =
        okJson(post("/v1/predict", "application/json", "{\"features\": [50, 60000, 3]}"));

    float[] x = features.clone();
    STATS.apply(x, 3);
    INDArray input = TABULAR_NETWORK.newInput(1);
    DenseNetwork.setInputRow(input, 0, x, new InputTransform.Scale(1f));
    TABULAR_NETWORK.forward(input, null);
    float[] expected = TABULAR_NETWORK.probabilities(1).dup().data().asFloat();
    for (int c = 0; c < 2; c++) {
      assertEquals(expected[c], answer.get("probabilities").get(c).floatValue(), 1e-6);
    }
    int best = expected[1] > expected[0] ? 1 : 0;
    assertEquals(best, answer.get("digit").asInt());
    assertEquals(TABULAR.classNames().get(best), answer.get("className").asText());
    assertEquals(
        answer.get("probabilities"),
        okJson(post("/v1/predict", null, "[50, 60000, 3]")).get("probabilities"),
        "a bare array is the features");
  }

  @Test
  void aFeatureModelRefusesPixelsPngsWrongWidthsAndNonNumbers() throws Exception {
    loadTabular();

    assertTrue(
        assertError(post("/v1/predict", "application/json", "{\"pixels\": [1, 2, 3]}"), 400)
            .contains("the model takes feature vectors"));
    assertTrue(
        assertError(post("/v1/predict", "image/png", png(grayImage(image(1), 28, 28))), 400)
            .contains("the model takes feature vectors, not images"));
    assertEquals(
        "expected 3 feature values, got 2",
        assertError(post("/v1/predict", "application/json", "{\"features\": [1, 2]}"), 400));
    assertTrue(
        assertError(post("/v1/predict", "application/json", "{\"features\": [1, \"x\", 3]}"), 400)
            .contains("feature 1"));
    assertTrue(
        assertError(post("/v1/predict", "application/json", "{\"features\": [1, 1e39, 3]}"), 400)
            .contains("finite"));
  }

  @Test
  void anImageModelRefusesFeatures() throws Exception {
    load(1, FIRST);

    assertTrue(
        assertError(post("/v1/predict", "application/json", "{\"features\": [1, 2, 3]}"), 400)
            .contains("the model takes images"));
  }

  @Test
  void theModelEndpointShowsTheSpecAndTheTransform() throws Exception {
    loadTabular();
    JsonNode spec = okJson(get("/v1/model")).get("spec");

    assertEquals(3, spec.get("inputs").asInt());
    assertEquals(2, spec.get("classes").asInt());
    assertEquals("income", spec.get("featureNames").get(1).asText());
    assertEquals("leaves", spec.get("classNames").get(1).asText());
    assertTrue(spec.get("image").isNull());
    JsonNode transform = spec.get("transform");
    assertEquals("standardize", transform.get("kind").asText());
    assertEquals(5e4f, transform.get("mean").get(1).floatValue());
    assertEquals(1e8f, transform.get("variance").get(1).floatValue());
    assertEquals(12, transform.get("count").asLong());

    load(2, FIRST); // another lineage: an MNIST model replaces it
    JsonNode mnist = okJson(get("/v1/model")).get("spec");
    assertEquals(28, mnist.get("image").get("height").asInt());
    assertEquals("scale", mnist.get("transform").get("kind").asText());
    assertEquals(1f / 255f, mnist.get("transform").get("scale").floatValue());
  }

  // --- helpers

  private void load(long version, DenseNetwork network) {
    assertTrue(holder.offer(snapshot(version, network), "test").applied());
    holder.caughtUp();
  }

  private static ModelSnapshot snapshot(long version, DenseNetwork network) {
    Snapshots.Header header =
        new Snapshots.Header(
            MODEL,
            version,
            CREATED,
            "run-a",
            WeightsKind.RAW,
            1000 * version,
            10 * version,
            0.9,
            0.3);
    return Snapshots.build(header, network.sizes(), network.parameters());
  }

  private URI uri(String path) {
    return URI.create("http://localhost:" + endpoint.port() + path);
  }

  private HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return send(HttpRequest.newBuilder(uri(path)).GET());
  }

  private HttpResponse<String> post(String path, String contentType, String body)
      throws IOException, InterruptedException {
    return post(path, contentType, body.getBytes(StandardCharsets.UTF_8));
  }

  private HttpResponse<String> post(String path, String contentType, byte[] body)
      throws IOException, InterruptedException {
    BodyPublisher publisher =
        body.length == 0 ? BodyPublishers.noBody() : BodyPublishers.ofByteArray(body);
    HttpRequest.Builder request = HttpRequest.newBuilder(uri(path)).POST(publisher);
    if (contentType != null) {
      request.header("Content-Type", contentType);
    }
    return send(request);
  }

  private HttpResponse<String> send(HttpRequest.Builder request)
      throws IOException, InterruptedException {
    return http.send(request.timeout(Duration.ofSeconds(20)).build(), BodyHandlers.ofString());
  }

  private static JsonNode okJson(HttpResponse<String> response) throws IOException {
    assertEquals(200, response.statusCode(), response.body());
    return JSON.readTree(response.body());
  }

  /** Checks a client error answer and returns its message. */
  private static String assertError(HttpResponse<String> response, int status) throws IOException {
    assertEquals(status, response.statusCode(), response.body());
    assertEquals(
        "application/json",
        response.headers().firstValue("Content-Type").orElse(""),
        response.body());
    JsonNode error = JSON.readTree(response.body()).get("error");
    assertTrue(
        error != null && error.isTextual() && !error.asText().isBlank(),
        "no error message: " + response.body());
    return error.asText();
  }

  private String awaitMetric(String... parts) {
    // The request counter is incremented after the answer is sent, so a scrape may briefly lag
    // behind it.
    return Await.value(
        () -> {
          HttpResponse<String> metrics = get("/metrics");
          assertEquals(200, metrics.statusCode());
          return metrics.body();
        },
        scrape ->
            scrape
                .lines()
                .anyMatch(
                    line ->
                        line.startsWith("streamlearn_scorer_http_requests_total{")
                            && Arrays.stream(parts).allMatch(line::contains)
                            && !line.endsWith(" 0.0")),
        Duration.ofSeconds(5),
        scrape ->
            "a streamlearn_scorer_http_requests_total line with "
                + Arrays.toString(parts)
                + (scrape == null
                    ? ""
                    : ":\n"
                        + scrape
                            .lines()
                            .filter(l -> l.contains("http_requests"))
                            .collect(Collectors.joining("\n"))));
  }

  private static void assertAnswers(
      JsonNode answer, DenseNetwork network, byte[] image, long version) {
    String problem = mismatch(answer, forward(network, image), version);
    if (problem != null) {
      fail(problem + " in " + answer);
    }
  }

  /**
   * Null if the answer holds these probabilities, their argmax and this version, else what differs.
   */
  private static String mismatch(JsonNode answer, float[] expected, long version) {
    if (answer.get("modelVersion").asLong() != version) {
      return "modelVersion " + answer.get("modelVersion") + ", expected " + version;
    }
    if (!MODEL.equals(answer.get("modelId").asText())) {
      return "modelId " + answer.get("modelId");
    }
    JsonNode probabilities = answer.get("probabilities");
    if (probabilities == null || probabilities.size() != 10) {
      return "not 10 probabilities: " + probabilities;
    }
    double sum = 0;
    int best = 0;
    for (int k = 0; k < 10; k++) {
      double p = probabilities.get(k).asDouble();
      if (Math.abs(p - expected[k]) > TOLERANCE) {
        return "probability of " + k + " is " + p + ", expected " + expected[k];
      }
      sum += p;
      best = expected[k] > expected[best] ? k : best;
    }
    if (Math.abs(sum - 1) > 1e-5) {
      return "probabilities sum to " + sum;
    }
    if (answer.get("digit").asInt() != best) {
      return "digit " + answer.get("digit") + ", expected " + best;
    }
    return null;
  }

  /** A direct forward pass of the network over one image, scaled as snapshots scale pixels. */
  private static float[] forward(DenseNetwork network, byte[] image) {
    synchronized (network) { // the reference networks are shared by the test's threads
      INDArray x = network.newInput(1);
      DenseNetwork.setInputRow(x, 0, image, 0, Snapshots.INPUT_SCALE);
      network.forward(x, null);
      return network.probabilities(1).dup().data().asFloat();
    }
  }

  /** A digit-like image: a bright blob on black, with some noise, different for each seed. */
  private static byte[] image(long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    byte[] image = new byte[784];
    int cx = 8 + random.nextInt(12);
    int cy = 8 + random.nextInt(12);
    for (int y = 0; y < 28; y++) {
      for (int x = 0; x < 28; x++) {
        double d = Math.hypot(x - cx, y - cy);
        int v = (int) Math.max(0, 255 - 40 * Math.abs(d - 5)) + random.nextInt(20);
        image[y * 28 + x] = (byte) Math.min(255, v);
      }
    }
    return image;
  }

  private static byte[] randomBytes(int n) {
    byte[] bytes = new byte[n];
    new SplittableRandom(n).nextBytes(bytes);
    return bytes;
  }

  private static String jsonArray(byte[] image) {
    return IntStream.range(0, image.length)
        .mapToObj(i -> Integer.toString(image[i] & 0xff))
        .collect(Collectors.joining(",", "[", "]"));
  }

  private static String jsonObject(byte[] image) {
    return "{\"pixels\": " + jsonArray(image) + "}";
  }

  private static BufferedImage grayImage(byte[] pixels, int width, int height) {
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY);
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        image.getRaster().setSample(x, y, 0, pixels[y * width + x] & 0xff);
      }
    }
    return image;
  }

  private static byte[] png(BufferedImage image) {
    return encode(image, "png");
  }

  private static byte[] encode(BufferedImage image, String format) {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      assertTrue(ImageIO.write(image, format, out), "no " + format + " writer for " + image);
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
