package io.streamlearn.scorer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.streamlearn.contract.avro.Codecs;
import io.streamlearn.core.http.HttpService;
import io.streamlearn.core.metrics.MetricsEndpoint;
import io.streamlearn.model.InputTransform;
import io.streamlearn.model.ModelSpec;
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
 *   <li>{@code POST /v1/predict}: for a feature model, a JSON body {@code {"features": [numbers]}}
 *       of the served width (or the bare array); for an image model, {@code {"pixels": [numbers
 *       0-255]}} (or the bare array) or a grayscale PNG of the model's image shape (MNIST: 28x28,
 *       white digit on black); answers the class index ({@code digit}), its name when the spec
 *       names classes, one probability per class and the model id and version that scored it;
 *   <li>{@code GET /v1/model}: the model in use, with its spec and input transform;
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
  PredictApi(ModelHolder holder, int maxRequestBytes, int threads, MeterRegistry registry) {
    this.holder = holder;
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
    boolean png =
        type.startsWith("image/png")
            || (type.isEmpty() || type.startsWith("application/octet-stream"))
                && startsWith(body, PNG_MAGIC);
    if (!png && !type.isEmpty() && !type.startsWith("application/json")) {
      throw new ClientError(
          415,
          "unsupported Content-Type '"
              + type
              + "': send application/json ({\"features\": [...]} for a feature model,"
              + " {\"pixels\": [...]} for an image model) or image/png (an image model)");
    }
    ServingModel model = servedModel();
    ModelSpec spec = model.spec();
    SingleRow row = png ? new SingleRow(fromPng(body, spec), null) : fromJson(body, spec);
    int classes = model.network().outputs();
    float[] probabilities = new float[classes];
    classifiers.get().classify(model, row, 1, probabilities);
    int digit = Classifier.argmax(probabilities, 0, classes);
    ObjectNode answer = JSON.createObjectNode();
    answer.put("digit", digit);
    if (model.className(digit) != null) {
      answer.put("className", model.className(digit));
    }
    ArrayNode p = answer.putArray("probabilities");
    for (float v : probabilities) {
      p.add(v);
    }
    answer.put("modelId", model.modelId());
    answer.put("modelVersion", model.version());
    answer.put("snapshotCreatedAt", model.createdAt().toString());
    return new Response(200, answer);
  }

  private ServingModel servedModel() throws ClientError {
    return holder
        .current()
        .orElseThrow(
            () ->
                new ClientError(
                    503,
                    "no model loaded yet: the scorer is waiting for the first snapshot of model "
                        + holder.modelId()));
  }

  private Response model(HttpService.Exchange exchange) throws ClientError {
    ServingModel model = servedModel();
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
    answer.set("spec", specJson(model.spec(), model.transform()));
    return new Response(200, answer);
  }

  /** The spec and transform as {@code /v1/model} shows them. */
  static ObjectNode specJson(ModelSpec spec, InputTransform transform) {
    ObjectNode out = JSON.createObjectNode();
    out.put("inputs", spec.inputs());
    out.put("classes", spec.classes());
    ArrayNode features = out.putArray("featureNames");
    spec.featureNames().forEach(features::add);
    ArrayNode classes = out.putArray("classNames");
    spec.classNames().forEach(classes::add);
    if (spec.image() != null) {
      out.putObject("image")
          .put("height", spec.image().height())
          .put("width", spec.image().width());
    } else {
      out.putNull("image");
    }
    ObjectNode t = out.putObject("transform");
    if (transform instanceof InputTransform.Scale scale) {
      t.put("kind", "scale").put("scale", scale.factor());
    } else if (transform instanceof InputTransform.Standardize standardize) {
      t.put("kind", "standardize");
      ArrayNode mean = t.putArray("mean");
      for (float v : standardize.mean()) {
        mean.add(v);
      }
      ArrayNode variance = t.putArray("variance");
      for (float v : standardize.variance()) {
        variance.add(v);
      }
      t.put("count", standardize.count()).put("epsilon", standardize.epsilon());
    }
    return out;
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
          400,
          "empty request body: send JSON {\"features\": [...]} or {\"pixels\": [...]} or a PNG");
    }
    return exchange.body();
  }

  /**
   * For an image model, {@code {"pixels": [...]}} or a bare array of its width of numbers, each
   * 0-255 (fractions are rounded); for a feature model, {@code {"features": [...]}} or a bare array
   * of its width of finite numbers.
   */
  SingleRow fromJson(byte[] body, ModelSpec spec) throws ClientError {
    JsonNode root;
    try {
      root = JSON.readTree(body);
    } catch (JsonProcessingException e) {
      throw new ClientError(400, "malformed JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new ClientError(400, "unreadable JSON: " + e.getMessage());
    }
    int width = spec.inputs();
    String field = spec.images() ? "pixels" : "features";
    String other = spec.images() ? "features" : "pixels";
    String expected =
        spec.images()
            ? "{\"pixels\": [" + width + " values 0-255]} or an array of " + width + " values"
            : "{\"features\": [" + width + " numbers]} or an array of " + width + " numbers";
    if (root != null && root.isObject() && root.has(other) && !root.has(field)) {
      throw new ClientError(
          400,
          "the model takes "
              + (spec.images() ? "images" : "feature vectors")
              + ", not "
              + other
              + ": expected "
              + expected);
    }
    JsonNode values = root != null && root.isObject() ? root.get(field) : root;
    if (values == null || !values.isArray()) {
      throw new ClientError(400, "expected " + expected);
    }
    if (values.size() != width) {
      throw new ClientError(
          400,
          "expected "
              + width
              + (spec.images() ? " pixel values (" + spec.image() + ")" : " feature values")
              + ", got "
              + values.size());
    }
    if (!spec.images()) {
      float[] features = new float[width];
      for (int i = 0; i < width; i++) {
        JsonNode v = values.get(i);
        float f = v.isNumber() ? (float) v.asDouble() : Float.NaN;
        if (!Float.isFinite(f) || Math.abs(f) > Codecs.MAX_FEATURE_MAGNITUDE) {
          throw new ClientError(
              400,
              "feature "
                  + i
                  + " is "
                  + v
                  + "; every feature must be a finite number within +-"
                  + Codecs.MAX_FEATURE_MAGNITUDE);
        }
        features[i] = f;
      }
      return new SingleRow(null, features);
    }
    byte[] image = new byte[width];
    for (int i = 0; i < width; i++) {
      JsonNode v = values.get(i);
      if (!v.isNumber() || !(v.asDouble() >= 0 && v.asDouble() <= 255)) {
        throw new ClientError(
            400, "pixel " + i + " is " + v + "; every pixel must be a number from 0 to 255");
      }
      image[i] = (byte) Math.round(v.asDouble());
    }
    return new SingleRow(image, null);
  }

  /**
   * A PNG of an image model's shape: grayscale as it is; colour by luminance, with transparency
   * composited onto black.
   */
  byte[] fromPng(byte[] body, ModelSpec spec) throws ClientError {
    if (!spec.images()) {
      throw new ClientError(
          400,
          "the model takes feature vectors, not images: send {\"features\": ["
              + spec.inputs()
              + " numbers]}");
    }
    int rows = spec.image().height();
    int columns = spec.image().width();
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
      if (width != columns || height != rows) {
        throw new ClientError(
            400, "expected a " + columns + "x" + rows + " image, got " + width + "x" + height);
      }
      png = reader.read(0);
    } catch (IOException | RuntimeException e) {
      throw new ClientError(400, "unreadable PNG: " + e.getMessage());
    } finally {
      reader.dispose();
    }
    byte[] image = new byte[rows * columns];
    Raster raster = png.getRaster();
    boolean gray =
        png.getColorModel().getColorSpace().getType() == java.awt.color.ColorSpace.TYPE_GRAY
            && !png.getColorModel().hasAlpha();
    int bits = png.getColorModel().getComponentSize(0);
    for (int y = 0; y < rows; y++) {
      for (int x = 0; x < columns; x++) {
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
        image[y * columns + x] = (byte) value;
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

  /** One request's inputs: an image's pixels, or a feature vector. */
  record SingleRow(byte[] image, float[] features) implements Classifier.Rows {
    @Override
    public byte[] bytes(int row) {
      return image;
    }

    @Override
    public int offset(int row) {
      return 0;
    }

    @Override
    public void copy(int row, float[] into) {
      if (features != null) {
        System.arraycopy(features, 0, into, 0, features.length);
      } else {
        Classifier.Rows.super.copy(row, into);
      }
    }
  }
}
