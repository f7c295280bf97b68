package io.streamlearn.producer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamlearn.contract.ImageEvent;
import io.streamlearn.contract.TrainingSample;
import io.streamlearn.contract.avro.Codecs;
import io.streamlearn.mnist.MnistDataset;
import io.streamlearn.mnist.MnistFetcher;
import io.streamlearn.mnist.MnistFiles;
import io.streamlearn.testkit.Await;
import io.streamlearn.testkit.RealKafka;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPOutputStream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The producer against a real broker: what it writes is exactly what the IDX files hold. */
@Tag("real-kafka")
class ProducerIT {
  @RegisterExtension static final RealKafka kafka = new RealKafka();
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static MnistFiles files;

  @BeforeAll
  static void fetchMnist() {
    files = MnistFetcher.ensureDefault();
  }

  private static Result produce(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(
        List.of(
            "--bootstrap-servers",
            kafka.bootstrapServers(),
            "--metrics-port",
            "0",
            "--no-progress"));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int rc =
        ProducerMain.run(
            all.toArray(String[]::new),
            Map.of(),
            new PrintStream(out, true),
            new PrintStream(err, true),
            false);
    return new Result(
        rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  private record Result(int exitCode, String out, String err) {}

  private static int row(String id, String prefix) {
    assertTrue(id.startsWith(prefix + "-"), () -> id + " should start with " + prefix + "-");
    return Integer.parseInt(id.substring(prefix.length() + 1));
  }

  private static byte[] bytes(ByteBuffer buffer) {
    byte[] copy = new byte[buffer.remaining()];
    buffer.duplicate().get(copy);
    return copy;
  }

  @Test
  void trainingSamplesMatchTheSourceFilesIdLabelAndEveryPixel() throws Exception {
    String topic = RealKafka.uniqueName("train");
    Result result =
        produce("--mode", "train", "--topic", topic, "--limit", "10000", "--partitions", "3");
    assertEquals(0, result.exitCode(), result.err());
    assertTrue(
        result.out().contains("produced 10000 TrainingSample records to " + topic), result.out());

    List<ConsumerRecord<byte[], byte[]>> records = kafka.readFromBeginning(topic, 10_000, TIMEOUT);
    assertEquals(10_000, records.size(), "exactly the limit, no duplicates");
    MnistDataset train = MnistDataset.train(files);
    Set<Integer> rows = new HashSet<>();
    for (ConsumerRecord<byte[], byte[]> r : records) {
      TrainingSample sample = Codecs.TRAINING_SAMPLE.decode(r.value());
      assertEquals(
          sample.getSampleId(), new String(r.key(), StandardCharsets.UTF_8), "key = sampleId");
      int row = row(sample.getSampleId(), "train");
      assertTrue(rows.add(row), "sample " + row + " sent twice");
      assertEquals(train.label(row), sample.getLabel(), "label of " + row);
      assertArrayEquals(train.pixels(row), bytes(sample.getPixels()), "pixels of " + row);
      assertEquals("mnist-train", sample.getSource());
    }
    assertNotEquals(
        contiguous(10_000), rows, "the training set is shuffled, not the first 10000 rows");

    try (Admin admin = kafka.admin()) {
      TopicDescription description =
          admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic);
      assertEquals(3, description.partitions().size());
      var config =
          admin
              .describeConfigs(List.of(new ConfigResource(ConfigResource.Type.TOPIC, topic)))
              .all()
              .get(30, TimeUnit.SECONDS)
              .values()
              .iterator()
              .next();
      assertEquals("1", config.get("min.insync.replicas").value());
    }
  }

  @Test
  void imageEventsFollowTheTestFileInOrderWithLabels() {
    String topic = RealKafka.uniqueName("images");
    Result result =
        produce("--mode", "events", "--topic", topic, "--limit", "1000", "--partitions", "1");
    assertEquals(0, result.exitCode(), result.err());

    List<ConsumerRecord<byte[], byte[]>> records = kafka.readFromBeginning(topic, 1000, TIMEOUT);
    assertEquals(1000, records.size());
    MnistDataset test = MnistDataset.test(files);
    for (int i = 0; i < records.size(); i++) {
      ConsumerRecord<byte[], byte[]> r = records.get(i);
      ImageEvent event = Codecs.IMAGE_EVENT.decode(r.value());
      assertEquals("t10k-" + i, event.getImageId(), "one partition keeps file order");
      assertEquals(event.getImageId(), new String(r.key(), StandardCharsets.UTF_8));
      assertEquals(test.label(i), event.getLabel(), "label of " + i);
      assertArrayEquals(test.pixels(i), bytes(event.getPixels()), "pixels of " + i);
    }
  }

  @Test
  void servesPrometheusMetricsWhileItRuns() throws Exception {
    int port;
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    String topic = RealKafka.uniqueName("metrics");
    List<String> args =
        List.of(
            "--mode",
            "events",
            "--topic",
            topic,
            "--limit",
            "300",
            "--rate",
            "100",
            "--bootstrap-servers",
            kafka.bootstrapServers(),
            "--metrics-port",
            Integer.toString(port),
            "--no-progress");
    var run =
        java.util.concurrent.CompletableFuture.supplyAsync(
            () ->
                ProducerMain.run(
                    args.toArray(String[]::new),
                    Map.of(),
                    new PrintStream(OutputStream.nullOutputStream()),
                    new PrintStream(OutputStream.nullOutputStream()),
                    false));
    var http = java.net.http.HttpClient.newHttpClient();
    var request =
        java.net.http.HttpRequest.newBuilder(
                java.net.URI.create("http://localhost:" + port + "/metrics"))
            .build();
    // The endpoint starts after the data is loaded: a refused connection is "not yet".
    String body =
        Await.value(
            () -> http.send(request, java.net.http.HttpResponse.BodyHandlers.ofString()).body(),
            b -> b.matches("(?s).*streamlearn_producer_records_total\\{[^}]*\\} [1-9].*"),
            Duration.ofSeconds(60),
            b -> "a scrape counting sent records (last: " + b + ")");
    assertTrue(body.contains("streamlearn_producer_records_total{"), "records counter served");
    assertTrue(
        body.matches("(?s).*streamlearn_producer_records_total\\{[^}]*\\} [1-9].*"),
        "records counted while running");
    assertTrue(body.contains("kafka_producer_"), "Kafka client metrics bound");
    assertTrue(body.contains("jvm_memory_used_bytes"), "JVM metrics bound");
    assertTrue(body.contains("service=\"producer\""), "common service tag");
    assertEquals(0, run.get(60, TimeUnit.SECONDS));
  }

  @Test
  void imageEventsLeaveTheLabelOutOnRequest() {
    String topic = RealKafka.uniqueName("images-unlabelled");
    Result result = produce("--mode", "events", "--topic", topic, "--limit", "50", "--no-labels");
    assertEquals(0, result.exitCode(), result.err());
    for (ConsumerRecord<byte[], byte[]> r : kafka.readFromBeginning(topic, 50, TIMEOUT)) {
      assertNull(Codecs.IMAGE_EVENT.decode(r.value()).getLabel());
    }
  }

  @Test
  void userGzippedIdxFilesStreamOncePerEpochInADifferentOrderEachEpoch(@TempDir Path dir)
      throws IOException {
    int count = 40;
    byte[] pixels = new byte[count * 784];
    byte[] labels = new byte[count];
    for (int i = 0; i < count; i++) {
      labels[i] = (byte) (i % 10);
      for (int p = 0; p < 784; p++) {
        pixels[i * 784 + p] = (byte) (i * 7 + p);
      }
    }
    Path images = dir.resolve("digits-images.gz");
    Path labelsFile = dir.resolve("digits-labels.gz");
    writeGzipIdx(images, new int[] {2051, count, 28, 28}, pixels);
    writeGzipIdx(labelsFile, new int[] {2049, count}, labels);

    String topic = RealKafka.uniqueName("user-train");
    Result result =
        produce(
            "--images",
            images.toString(),
            "--labels",
            labelsFile.toString(),
            "--epochs",
            "2",
            "--topic",
            topic,
            "--partitions",
            "1",
            "--id-prefix",
            "digits",
            "--source",
            "my-pipeline");
    assertEquals(0, result.exitCode(), result.err());

    List<ConsumerRecord<byte[], byte[]>> records =
        kafka.readFromBeginning(topic, 2 * count, TIMEOUT);
    assertEquals(2 * count, records.size());
    List<Integer> order = new ArrayList<>();
    Map<Integer, Integer> seen = new HashMap<>();
    for (ConsumerRecord<byte[], byte[]> r : records) {
      TrainingSample sample = Codecs.TRAINING_SAMPLE.decode(r.value());
      int row = row(sample.getSampleId(), "digits");
      order.add(row);
      seen.merge(row, 1, Integer::sum);
      assertEquals(labels[row], sample.getLabel());
      byte[] expected = new byte[784];
      System.arraycopy(pixels, row * 784, expected, 0, 784);
      assertArrayEquals(expected, bytes(sample.getPixels()));
      assertEquals("my-pipeline", sample.getSource());
    }
    for (int i = 0; i < count; i++) {
      assertEquals(2, seen.get(i), "row " + i + " once per epoch");
    }
    assertEquals(Set.copyOf(order.subList(0, count)), contiguous(count), "epoch 1 holds every row");
    assertNotEquals(
        order.subList(0, count), order.subList(count, 2 * count), "each epoch is reshuffled");
  }

  @Test
  void badIdxInputStopsBeforeSendingWithTheFileNamed(@TempDir Path dir) throws IOException {
    Path images = dir.resolve("broken-images");
    Files.write(images, new byte[] {0, 0, 8, 1, 0, 0, 0, 1}); // labels magic in an images file
    Result result =
        produce(
            "--images",
            images.toString(),
            "--labels",
            images.toString(),
            "--topic",
            RealKafka.uniqueName("never"));
    assertEquals(2, result.exitCode());
    assertTrue(result.err().contains(images.toString()), result.err());
  }

  @Test
  void aKafkaPropertyThatDoesNotParseExitsTwoNamingIt() {
    Result result =
        produce(
            "--limit", "10", "--topic", RealKafka.uniqueName("never"), "--kafka", "linger.ms=soon");
    assertEquals(2, result.exitCode(), result.err());
    assertTrue(result.err().contains("linger.ms"), result.err());
  }

  private static Set<Integer> contiguous(int n) {
    Set<Integer> set = new HashSet<>();
    for (int i = 0; i < n; i++) {
      set.add(i);
    }
    return set;
  }

  private static void writeGzipIdx(Path file, int[] header, byte[] body) throws IOException {
    try (OutputStream raw = Files.newOutputStream(file);
        DataOutputStream out = new DataOutputStream(new GZIPOutputStream(raw))) {
      for (int h : header) {
        out.writeInt(h);
      }
      out.write(body);
    }
  }
}
