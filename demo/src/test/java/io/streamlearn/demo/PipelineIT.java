package io.streamlearn.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamlearn.contract.Prediction;
import io.streamlearn.contract.avro.Codecs;
import io.streamlearn.mnist.MnistDataset;
import io.streamlearn.mnist.MnistFetcher;
import io.streamlearn.testkit.RealKafka;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Producer -> learner -> scorer on the real broker, one epoch: the predictions topic holds one
 * prediction per test image (by image id), and their accuracy against the MNIST test labels is
 * 94.5% or better.
 */
@Tag("real-kafka")
class PipelineIT {
  @RegisterExtension static final RealKafka kafka = new RealKafka();

  @Test
  void oneEpochThroughLearnerAndScorerPredictsTheTestImagesAtLeast945Percent(@TempDir Path work)
      throws Exception {
    MnistDataset test = MnistDataset.test(MnistFetcher.ensureDefault());
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    Demo.Summary summary;
    try (Demo demo =
        new Demo(
            new Demo.Options(
                1,
                false,
                kafka.bootstrapServers(),
                0,
                0,
                0,
                20_000,
                work,
                Map.of(),
                Demo.Data.MNIST),
            new PrintStream(console, true, StandardCharsets.UTF_8))) {
      summary = demo.run();
      demo.printSummary(summary);
    }
    String printed = console.toString(StandardCharsets.UTF_8);
    assertTrue(printed.contains("scorer's accuracy on the test images"), printed);
    assertEquals(60_000, summary.samplesTrained());

    // The verdict comes from the predictions topic itself, as a downstream consumer would compute
    // it.
    List<ConsumerRecord<byte[], byte[]>> records =
        kafka.readFromBeginning(summary.predictionsTopic(), test.size(), Duration.ofSeconds(60));
    Map<String, Prediction> byImage = new HashMap<>();
    for (ConsumerRecord<byte[], byte[]> record : records) {
      Prediction p = Codecs.PREDICTION.decode(record.value());
      assertEquals(
          p.getImageId(), new String(record.key(), StandardCharsets.UTF_8), "key = image id");
      byImage.put(p.getImageId(), p);
    }
    assertEquals(test.size(), byImage.size(), "one prediction per test image id");
    int correct = 0;
    for (int row = 0; row < test.size(); row++) {
      Prediction p = byImage.get("t10k-" + row);
      assertTrue(p != null, "no prediction for t10k-" + row);
      if (p.getDigit() == test.label(row)) {
        correct++;
      }
    }
    double accuracy = correct / (double) test.size();
    System.out.printf(
        "[PipelineIT] accuracy of the predictions topic on the 10,000 test images: %.4f%n",
        accuracy);
    assertTrue(accuracy >= 0.945, "accuracy " + accuracy + " below 0.945");
    assertEquals(
        accuracy, summary.testAccuracy(), 1e-9, "the demo's summary agrees with the topic");
  }
}
