package io.streamlearn.scorer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.streamlearn.core.http.HttpService;
import io.streamlearn.core.metrics.MetricsEndpoint;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The scorer's HTTP API, on the same port as {@code /metrics}:
 *
 * <ul>
 *   <li>{@code POST /v1/predict}: a JSON body {@code {"pixels": [784 numbers 0-255]}} (or the bare
 *       array), or a 28x28 grayscale PNG (white digit on black, as MNIST); answers the digit, the
 *       10 probabilities and the model id and version that scored it;
 *   <li>{@code GET /v1/model}: the model in use;
 *   <li>{@code GET /health/live}: 200 while the process runs; {@code GET /health/ready}: 200 once a
 *       model is loaded, else 503.
 * </ul>
 *
 * Bad input gets a 4xx with a JSON {@code {"error": ...}} message: 400 malformed or wrongly sized,
 * 404 unknown path, 405 wrong method, 413 too large, 415 unsupported content type. Before the first
 * model, predict answers 503.
 *
 * <p>Predictions are computed on a pool of their own ({@code threads}, with a queue of {@value
 * #QUEUE_PER_THREAD} per thread): when it is full, predict answers 503 at once, and the health,
 * model and metrics endpoints, which answer on the HTTP server's own threads, are never queued
 * behind predictions.
 */
final class PredictApi implements AutoCloseable {
  static final int QUEUE_PER_THREAD = 16;
  private static final Logger log = LoggerFactory.getLogger(PredictApi.class);
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
  private static final byte[] PNG_MAGIC = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

  private final ModelHolder holder;
  private final int pixels;
  private final int side;
  private final int maxRequestBytes;
  private final ThreadLocal<Classifier> classifiers = ThreadLocal.withInitial(Classifier::new);
  private final MeterRegistry registry;
  private final Map<String, Counter> requests = new ConcurrentHashMap<>();
  private final ThreadPoolExecutor predictions;

  /** A request that gets a 4xx (or 503) answer with this message. */
  static final class ClientError extends Exception {
    private static final long serialVersionUID = 1L;
    final int status;

    ClientError(int status, String message) {
      super(message, null, false, false);
      this.status = status;
    }
  }

  /**
   * @param threads the size of the pool that computes predictions
   */
  PredictApi(
      ModelHolder holder, int pixels, int maxRequestBytes, int threads, MeterRegistry registry) {
    this.holder = holder;
    this.pixels = pixels;
    this.side = (int) Math.round(Math.sqrt(pixels));
    this.maxRequestBytes = maxRequestBytes;
    this.registry = registry;
    AtomicInteger count = new AtomicInteger();
    this.predictions =
        new ThreadPoolExecutor(
            threads,
            threads,
            60,
            TimeUnit.SECONDS,
            new ArrayBlockingQueue<>(threads * QUEUE_PER_THREAD),
            r -> {
              Thread t = new Thread(r, "scorer-predict-" + count.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
  }

  void register(MetricsEndpoint endpoint) {
    HttpService.Answer busy =
        json(
            503,
            JSON.createObjectNode()
                .put(
                    "error",
                    "too many predictions at once ("
                        + predictions.getMaximumPoolSize()
                        + " computing, "
                        + predictions.getQueue().remainingCapacity()
                        + " waiting): try again"));
    endpoint.route(
        "/v1/predict",
        new HttpService.Route(
            e -> handle(e, "predict", "POST", this::predict), maxRequestBytes, predictions, busy));
    endpoint.route(
        "/v1/model", HttpService.Route.inline(e -> handle(e, "model", "GET", this::model)));
    endpoint.route(
        "/health/live", HttpService.Route.inline(e -> handle(e, "live", "GET", this::live)));
    endpoint.route(
        "/health/ready", HttpService.Route.inline(e -> handle(e, "ready", "GET", this::ready)));
    endpoint.fallback(
        HttpService.Route.inline(
            e ->
                handle(
                    e,
                    "unknown",
                    null,
                    x -> {
                      throw new ClientError(
                          404,
                          "no such path: "
                              + x.path()
                              + " (try POST /v1/predict, GET /v1/model, /health/live, /health/ready, /metrics)");
                    })));
  }

  @Override
  public void close() {
    predictions.shutdownNow();
  }

  private interface Endpoint {
    Response answer(HttpService.Exchange exchange) throws ClientError;
  }

  private record Response(int status, JsonNode body) {}

  private HttpService.Answer handle(
      HttpService.Exchange exchange, String name, String method, Endpoint endpoint) {
    Response response;
    String allow = null;
    try {
      if (method != null && !method.equals(exchange.method())) {
        allow = method;
        throw new ClientError(
            405, exchange.method() + " is not allowed on " + exchange.path() + "; use " + method);
      }
      response = endpoint.answer(exchange);
    } catch (ClientError e) {
      response = new Response(e.status, JSON.createObjectNode().put("error", e.getMessage()));
    } catch (RuntimeException e) {
      // The log has the cause; the client gets nothing of it (an exception's message may hold
      // anything).
      log.error("HTTP {} {} failed", exchange.method(), exchange.path(), e);
      response = new Response(500, JSON.createObjectNode().put("error", "internal error"));
    }
    count(
        name, response.status()); // before the answer, so a scrape right after it sees the request
    HttpService.Answer answer = json(response.status(), response.body());
    return allow == null ? answer : answer.withHeader("Allow", allow);
  }

  private static HttpService.Answer json(int status, JsonNode body) {
    try {
      return HttpService.Answer.of(status, "application/json", JSON.writeValueAsBytes(body));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write a JSON answer", e);
    }
  }

  private void count(String endpoint, int status) {
    requests
        .computeIfAbsent(
            endpoint + " " + status,
            k ->
                Counter.builder("streamlearn.scorer.http.requests")
                    .description("HTTP requests answered, by endpoint and status")
                    .tag("endpoint", endpoint)
                    .tag("status", Integer.toString(status))
                    .register(registry))
        .increment();
  }

  private Response predict(HttpService.Exchange exchange) throws ClientError {
    byte[] body = body(exchange);
    String type =
        Optional.ofNullable(exchange.header("Content-Type")).orElse("").toLowerCase(Locale.ROOT);
    byte[] image;
    if (type.startsWith("image/png")
        || (type.isEmpty() || type.startsWith("application/octet-stream"))
            && startsWith(body, PNG_MAGIC)) {
      image = fromPng(body);
    } else if (type.isEmpty() || type.startsWith("application/json")) {
      image = fromJson(body);
    } else {
      throw new ClientError(
          415,
          "unsupported Content-Type '"
              + type
              + "': send application/json with 784 pixel"
              + " values or image/png (28x28 grayscale)");
    }
    ServingModel model =
        holder
            .current()
            .orElseThrow(
                () ->
                    new ClientError(
                        503,
                        "no model loaded yet: the scorer is waiting for the first snapshot of model "
                            + holder.modelId()));
    int classes = model.network().outputs();
    float[] probabilities = new float[classes];
    classifiers.get().classify(model, new SingleRow(image), 1, probabilities);
    int digit = Classifier.argmax(probabilities, 0, classes);
    ObjectNode answer = JSON.createObjectNode();
    answer.put("digit", digit);
    ArrayNode p = answer.putArray("probabilities");
    for (float v : probabilities) {
      p.add(v);
    }
    answer.put("modelId", model.modelId());
    answer.put("modelVersion", model.version());
    answer.put("snapshotCreatedAt", model.createdAt().toString());
    return new Response(200, answer);
  }

  private Response model(HttpService.Exchange exchange) throws ClientError {
    ServingModel model =
        holder
            .current()
            .orElseThrow(
                () ->
                    new ClientError(
                        503,
                        "no model loaded yet: the scorer is waiting for the first snapshot of model "
                            + holder.modelId()));
    ObjectNode answer = JSON.createObjectNode();
    answer.put("modelId", model.modelId());
    answer.put("version", model.version());
    answer.put("createdAt", model.createdAt().toString());
    answer.put("appliedAt", model.appliedAt().toString());
    answer.put("runId", model.runId());
    answer.put("weightsKind", model.weightsKind());
    ArrayNode sizes = answer.putArray("layerSizes");
    for (int s : model.sizes()) {
      sizes.add(s);
    }
    answer.put("inputScale", model.inputScale());
    answer.put("samplesSeen", model.samplesSeen());
    answer.put("batchesSeen", model.batchesSeen());
    if (model.prequentialAccuracy() != null) {
      answer.put("prequentialAccuracy", model.prequentialAccuracy());
    }
    return new Response(200, answer);
  }

  private Response live(HttpService.Exchange exchange) {
    return new Response(200, JSON.createObjectNode().put("status", "live"));
  }

  private Response ready(HttpService.Exchange exchange) {
    if (holder.isReady()) {
      long version = holder.current().map(ServingModel::version).orElse(-1L);
      return new Response(
          200, JSON.createObjectNode().put("status", "ready").put("modelVersion", version));
    }
    return new Response(
        503,
        JSON.createObjectNode()
            .put("status", "not ready")
            .put("reason", "waiting for the newest snapshot of model " + holder.modelId()));
  }

  private byte[] body(HttpService.Exchange exchange) throws ClientError {
    if (exchange.bodyTooLarge()) {
      throw new ClientError(
          413,
          "request body is over the limit of "
              + maxRequestBytes
              + " bytes (key 'max-request-bytes')");
    }
    if (exchange.body().length == 0) {
      throw new ClientError(
          400, "empty request body: send JSON {\"pixels\": [784 values 0-255]} or a PNG");
    }
    return exchange.body();
  }

  /**
   * {@code {"pixels": [...]}} or a bare array of 784 numbers, each 0-255 (fractions are rounded).
   */
  byte[] fromJson(byte[] body) throws ClientError {
    JsonNode root;
    try {
      root = JSON.readTree(body);
    } catch (JsonProcessingException e) {
      throw new ClientError(400, "malformed JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new ClientError(400, "unreadable JSON: " + e.getMessage());
    }
    JsonNode values = root != null && root.isObject() ? root.get("pixels") : root;
    if (values == null || !values.isArray()) {
      throw new ClientError(
          400,
          "expected {\"pixels\": ["
              + pixels
              + " values 0-255]} or an array of "
              + pixels
              + " values");
    }
    if (values.size() != pixels) {
      throw new ClientError(
          400,
          "expected " + pixels + " pixel values (" + side + "x" + side + "), got " + values.size());
    }
    byte[] image = new byte[pixels];
    for (int i = 0; i < pixels; i++) {
      JsonNode v = values.get(i);
      if (!v.isNumber() || !(v.asDouble() >= 0 && v.asDouble() <= 255)) {
        throw new ClientError(
            400, "pixel " + i + " is " + v + "; every pixel must be a number from 0 to 255");
      }
      image[i] = (byte) Math.round(v.asDouble());
    }
    return image;
  }

  /**
   * A 28x28 PNG: grayscale as it is; colour by luminance, with transparency composited onto black.
   */
  byte[] fromPng(byte[] body) throws ClientError {
    if (!startsWith(body, PNG_MAGIC)) {
      throw new ClientError(
          400, "the body is not a PNG image (it does not start with the PNG signature)");
    }
    BufferedImage png;
    ImageReader reader = ImageIO.getImageReadersByFormatName("png").next();
    try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(body))) {
      reader.setInput(in, true, true);
      // The size from the header, before decoding: a few bytes can claim a huge image.
      int width = reader.getWidth(0);
      int height = reader.getHeight(0);
      if (width != side || height != side) {
        throw new ClientError(
            400, "expected a " + side + "x" + side + " image, got " + width + "x" + height);
      }
      png = reader.read(0);
    } catch (IOException | RuntimeException e) {
      throw new ClientError(400, "unreadable PNG: " + e.getMessage());
    } finally {
      reader.dispose();
    }
    byte[] image = new byte[pixels];
    Raster raster = png.getRaster();
    boolean gray =
        png.getColorModel().getColorSpace().getType() == java.awt.color.ColorSpace.TYPE_GRAY
            && !png.getColorModel().hasAlpha();
    int bits = png.getColorModel().getComponentSize(0);
    for (int y = 0; y < side; y++) {
      for (int x = 0; x < side; x++) {
        int value;
        if (gray) {
          // The raw sample: getRGB would pass gray through a colour-space conversion and change it.
          value = raster.getSample(x, y, 0);
          value =
              bits == 8 ? value : bits > 8 ? value >> (bits - 8) : value * 255 / ((1 << bits) - 1);
        } else {
          int argb = png.getRGB(x, y);
          int a = argb >>> 24;
          double luminance =
              0.299 * (argb >> 16 & 0xff) + 0.587 * (argb >> 8 & 0xff) + 0.114 * (argb & 0xff);
          value = (int) Math.round(luminance * a / 255.0);
        }
        image[y * side + x] = (byte) value;
      }
    }
    return image;
  }

  private static boolean startsWith(byte[] body, byte[] prefix) {
    if (body.length < prefix.length) {
      return false;
    }
    for (int i = 0; i < prefix.length; i++) {
      if (body[i] != prefix[i]) {
        return false;
      }
    }
    return true;
  }

  private record SingleRow(byte[] image) implements Classifier.Rows {
    @Override
    public byte[] bytes(int row) {
      return image;
    }

    @Override
    public int offset(int row) {
      return 0;
    }
  }
}
