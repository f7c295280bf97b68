package io.streamlearn.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.contract.Prediction;
import io.streamlearn.contract.TransformKind;
import io.streamlearn.contract.avro.Codecs;
import io.streamlearn.model.InputTransform;
import io.streamlearn.model.Snapshots;
import io.streamlearn.testkit.RealKafka;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
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
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A data set that is not images, through the whole pipeline on the real broker: CSV files of four
 * Gaussian classes in 30 dimensions, written by the test, go through the CSV producer, the learner
 * (a feature model, standardized by default) and the scorer ({@code ./streamlearn demo --train
 * --test}). The classes share one isotropic covariance in a latent space and the features are that
 * space shifted and scaled per feature, so the Bayes rule is known exactly (the nearest class mean
 * in the latent space): the predictions topic must reach the Bayes accuracy on the same test rows
 * minus a margin. The scorer's HTTP answers to {@code {"features": ...}} equal the topic's for the
 * same version, and the last snapshot's standardization statistics equal the test's own over the
 * training rows. Twice: features of mixed scales (0.1 to 10), and features whose scales differ by
 * 10^4 (0.01 and 100, offset up to 1000).
 */
@Tag("real-kafka")
class TabularPipelineIT {
  @RegisterExtension static final RealKafka kafka = new RealKafka();

  private static final int DIMENSIONS = 30;
  private static final int CLASSES = 4;
  private static final int TRAIN_ROWS = 20_000;
  private static final int TEST_ROWS = 4_000;
  private static final int EPOCHS = 3;

  /** How far below the Bayes accuracy on the test rows the pipeline may land. */
  private static final double MARGIN = 0.03;

  /** Spread of the class means in the latent space: a Bayes accuracy near 0.85. */
  private static final double MEAN_SPREAD = 0.4;

  private static final ObjectMapper JSON = new ObjectMapper();

  enum Scales {
    /** Each feature scaled by 10^u, u uniform in [-1, 1], and offset by up to 50. */
    MIXED,
    /** Even features scaled by 0.01, odd ones by 100 and offset by up to 1000: 10^4 apart. */
    TEN_THOUSANDFOLD
  }

  /** The generated data: latent class means, per-feature offsets and scales, and the rows. */
  private record Data(
      double[][] means, double[] offsets, double[] scales, float[][] rows, int[] labels) {

    /** The Bayes rule: the nearest class mean, back in the latent space. */
    int bayes(float[] row) {
      int best = 0;
      double bestDistance = Double.POSITIVE_INFINITY;
      for (int k = 0; k < means.length; k++) {
        double d = 0;
        for (int j = 0; j < row.length; j++) {
          double latent = (row[j] - offsets[j]) / scales[j];
          d += (latent - means[k][j]) * (latent - means[k][j]);
        }
        if (d < bestDistance) {
          bestDistance = d;
          best = k;
        }
      }
      return best;
    }
  }

  private static Data generate(Scales kind, int rows, long seed) {
    SplittableRandom structure = new SplittableRandom(11); // the same classes for train and test
    double[][] means = new double[CLASSES][DIMENSIONS];
    for (double[] mean : means) {
      for (int j = 0; j < DIMENSIONS; j++) {
        mean[j] = structure.nextGaussian() * MEAN_SPREAD;
      }
    }
    double[] offsets = new double[DIMENSIONS];
    double[] scales = new double[DIMENSIONS];
    for (int j = 0; j < DIMENSIONS; j++) {
      if (kind == Scales.MIXED) {
        scales[j] = Math.pow(10, structure.nextDouble(-1, 1));
        offsets[j] = structure.nextDouble(-50, 50);
      } else {
        scales[j] = j % 2 == 0 ? 0.01 : 100;
        offsets[j] = j % 2 == 0 ? structure.nextDouble(-1, 1) : structure.nextDouble(-1000, 1000);
      }
    }
    SplittableRandom random = new SplittableRandom(seed);
    float[][] out = new float[rows][DIMENSIONS];
    int[] labels = new int[rows];
    for (int r = 0; r < rows; r++) {
      int k = random.nextInt(CLASSES);
      labels[r] = k;
      for (int j = 0; j < DIMENSIONS; j++) {
        out[r][j] = (float) (offsets[j] + scales[j] * (means[k][j] + random.nextGaussian()));
      }
    }
    return new Data(means, offsets, scales, out, labels);
  }

  /** Writes the rows as CSV: a header {@code f0..f29,label}, floats as Java prints them. */
  private static void write(Data data, Path file) throws IOException {
    StringBuilder csv = new StringBuilder();
    for (int j = 0; j < DIMENSIONS; j++) {
      csv.append('f').append(j).append(',');
    }
    csv.append("label\n");
    for (int r = 0; r < data.rows().length; r++) {
      for (float v : data.rows()[r]) {
        csv.append(v).append(',');
      }
      csv.append(data.labels()[r]).append('\n');
    }
    Files.writeString(file, csv);
  }

  @ParameterizedTest
  @EnumSource(Scales.class)
  void gaussianClassesReachTheirBayesAccuracyThroughCsvLearnerAndScorer(
      Scales kind, @TempDir Path work) throws Exception {
    Data train = generate(kind, TRAIN_ROWS, 1);
    Data test = generate(kind, TEST_ROWS, 2);
    Path trainCsv = work.resolve("train.csv");
    Path testCsv = work.resolve("test.csv");
    write(train, trainCsv);
    write(test, testCsv);
    int bayesCorrect = 0;
    for (int r = 0; r < TEST_ROWS; r++) {
      bayesCorrect += test.bayes(test.rows()[r]) == test.labels()[r] ? 1 : 0;
    }
    double bayes = bayesCorrect / (double) TEST_ROWS;

    ByteArrayOutputStream console = new ByteArrayOutputStream();
    try (Demo demo =
        new Demo(
            new Demo.Options(
                EPOCHS,
                false,
                kafka.bootstrapServers(),
                0,
                0,
                0,
                20_000,
                work.resolve("demo"),
                Map.of(),
                Demo.Data.csv(trainCsv, testCsv)),
            new PrintStream(console, true, StandardCharsets.UTF_8))) {
      Demo.Summary summary = demo.run();
      demo.printSummary(summary);
      String printed = console.toString(StandardCharsets.UTF_8);
      assertTrue(printed.contains("scorer's accuracy on the test rows"), printed);
      assertEquals((long) TRAIN_ROWS * EPOCHS, summary.samplesTrained());

      // The verdict from the predictions topic, as a downstream consumer computes it.
      Map<String, Prediction> byId = new HashMap<>();
      for (ConsumerRecord<byte[], byte[]> r :
          kafka.readFromBeginning(summary.predictionsTopic(), TEST_ROWS, Duration.ofSeconds(60))) {
        Prediction p = Codecs.PREDICTION.decode(r.value());
        byId.put(p.getImageId(), p);
      }
      assertEquals(TEST_ROWS, byId.size(), "one prediction per test row");
      int correct = 0;
      for (int r = 0; r < TEST_ROWS; r++) {
        Prediction p = byId.get("test-" + r);
        assertNotNull(p, "no prediction for test-" + r);
        assertEquals(CLASSES, p.getProbabilities().size());
        correct += p.getDigit() == test.labels()[r] ? 1 : 0;
      }
      double accuracy = correct / (double) TEST_ROWS;
      System.out.printf(
          "[TabularPipelineIT] %s: accuracy %.4f, Bayes accuracy on the same rows %.4f%n",
          kind, accuracy, bayes);
      assertTrue(
          accuracy >= bayes - MARGIN,
          kind + ": accuracy " + accuracy + " below the Bayes accuracy " + bayes + " - " + MARGIN);

      // The last snapshot: its statistics are the test's own over the training rows.
      List<ConsumerRecord<byte[], byte[]>> records = kafka.readToEnd(summary.snapshotTopic());
      ModelSnapshot last =
          records.stream()
              .map(r -> Codecs.MODEL_SNAPSHOT.decode(r.value()))
              .max(Comparator.comparingLong(ModelSnapshot::getVersion))
              .orElseThrow();
      assertEquals(summary.snapshotVersion(), last.getVersion(), "the version served");
      assertEquals(TransformKind.STANDARDIZE, last.getSpec().getTransform());
      assertEquals(DIMENSIONS, last.getSpec().getInputs());
      assertEquals(CLASSES, last.getSpec().getClasses());
      List<String> names = new ArrayList<>();
      for (int j = 0; j < DIMENSIONS; j++) {
        names.add("f" + j);
      }
      assertEquals(names, last.getSpec().getFeatureNames());
      InputTransform.Standardize stats =
          (InputTransform.Standardize) Snapshots.input(last).transform();
      assertEquals((long) TRAIN_ROWS * EPOCHS, stats.count(), "every sample of every epoch");
      for (int j = 0; j < DIMENSIONS; j++) {
        double sum = 0;
        for (float[] row : train.rows()) {
          sum += row[j];
        }
        double mean = sum / TRAIN_ROWS;
        double squares = 0;
        for (float[] row : train.rows()) {
          squares += (row[j] - mean) * (row[j] - mean);
        }
        // Each epoch repeats the rows, which leaves the mean and the population variance as they
        // are.
        float variance = (float) (squares / TRAIN_ROWS);
        assertEquals(
            (float) mean,
            stats.mean()[j],
            2 * Math.ulp((float) mean) + 1e-6 * Math.sqrt(variance),
            "mean of f" + j);
        assertEquals(variance, stats.variance()[j], 4 * Math.ulp(variance), "variance of f" + j);
      }

      // HTTP: the same probabilities as the topic's, for the same version.
      HttpClient http = HttpClient.newHttpClient();
      JsonNode model = get(http, demo.scorerPort(), "/v1/model");
      assertEquals("standardize", model.get("spec").get("transform").get("kind").asText());
      assertEquals(last.getVersion(), model.get("version").asLong());
      for (int r = 0; r < 50; r++) {
        ObjectNode body = JSON.createObjectNode();
        ArrayNode features = body.putArray("features");
        for (float v : test.rows()[r]) {
          features.add(v);
        }
        JsonNode answer = post(http, demo.scorerPort(), body);
        Prediction p = byId.get("test-" + r);
        assertEquals(p.getModelVersion(), answer.get("modelVersion").asLong(), "same version");
        assertEquals(p.getDigit(), answer.get("digit").asInt(), "test-" + r);
        for (int c = 0; c < CLASSES; c++) {
          // Within float rounding: the topic's batches go through a GEMM, one request row by row.
          assertEquals(
              p.getProbabilities().get(c),
              answer.get("probabilities").get(c).floatValue(),
              1e-5,
              "probability of class " + c + " for test-" + r);
        }
      }
    }
  }

  private static JsonNode get(HttpClient http, int port, String path) throws Exception {
    HttpResponse<String> response =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).GET().build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode(), response.body());
    return JSON.readTree(response.body());
  }

  private static JsonNode post(HttpClient http, int port, JsonNode body) throws Exception {
    HttpResponse<String> response =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/predict"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode(), response.body());
    return JSON.readTree(response.body());
  }
}
