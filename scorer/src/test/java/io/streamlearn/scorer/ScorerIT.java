package io.streamlearn.scorer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Counter;
import io.streamlearn.contract.ImageEvent;
import io.streamlearn.contract.Prediction;
import io.streamlearn.contract.avro.Codecs;
import io.streamlearn.contract.avro.PayloadError;
import io.streamlearn.core.config.ConfigBuilder;
import io.streamlearn.core.kafka.DeadLetter;
import io.streamlearn.testkit.Await;
import io.streamlearn.testkit.RealKafka;
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
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.stream.Collectors;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The scorer on a real broker: hot swaps under load, refused snapshots, start-up with the newest
 * snapshot, the predictions' wire format against the .avsc alone, and dead letters. Each test has
 * its own topics and group. Images are synthetic (seeded random pixels): what is checked is which
 * model answered, not how well.
 */
@Tag("real-kafka")
class ScorerIT {
  @RegisterExtension static final RealKafka kafka = new RealKafka();

  private static final String MODEL = "mnist";
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private final List<AutoCloseable> toClose = new ArrayList<>();

  /** One scenario's topics and group, all fresh. */
  private record Topics(
      String snapshots, String images, String predictions, String deadLetters, String group) {
    static Topics fresh() {
      return new Topics(
          RealKafka.uniqueName("snapshots"),
          RealKafka.uniqueName("images"),
          RealKafka.uniqueName("predictions"),
          RealKafka.uniqueName("dead-letters"),
          RealKafka.uniqueName("scorer"));
    }
  }

  @AfterEach
  void closeEverything() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  // ---------------------------------------------------------------------------------------------------------------

  @Test
  void aKafkaClientPropertyThatDoesNotParseExitsTwoAndFreesTheHttpPort() throws Exception {
    Topics t = Topics.fresh();
    int port;
    try (java.net.ServerSocket probe = new java.net.ServerSocket(0)) {
      port = probe.getLocalPort();
    }
    ScorerSettings.Config config =
        scorer(t).set(ScorerSettings.HTTP_PORT, port).kafka("max.poll.records", "abc").build();

    assertEquals(2, ScorerMain.run(config), "a bad configuration exits 2");
    try (java.net.ServerSocket again = new java.net.ServerSocket(port)) {
      assertEquals(
          port, again.getLocalPort(), "nothing holds the HTTP port after the failed start");
    }
  }

  @Test
  void hotSwapUnderLoadLosesNoEventAndNeverMixesModels() throws Exception {
    Topics t = topics(3);
    PublishedModels models = new PublishedModels(MODEL);
    int events = 20_000;
    long newest = 6;
    Scorer scorer = start(scorer(t).set(ScorerSettings.CONSUMERS, 2));
    publish(t, models.encoded(1));
    awaitServing(scorer, 1);

    // The images stream in at a steady rate on another thread while v2..v6 are published here. Each
    // version is
    // published only once the one before has scored at least 1,500 events after it was applied (a
    // batch already
    // begun with the older model may finish after a swap; two loops, at most 500 events a batch).
    AtomicReferenceArray<RecordMetadata> sent = new AtomicReferenceArray<>(events);
    AtomicInteger sentCount = new AtomicInteger();
    AtomicBoolean stopStreaming = new AtomicBoolean();
    toClose.add(() -> stopStreaming.set(true));
    CompletableFuture<Void> stream =
        CompletableFuture.runAsync(
            () -> {
              try (KafkaProducer<byte[], byte[]> producer = producer()) {
                for (int i = 0; i < events && !stopStreaming.get(); i++) {
                  int index = i;
                  producer.send(
                      eventRecord(t.images(), "img-" + i, pixels(i), null),
                      (metadata, e) -> {
                        if (e == null) {
                          sent.set(index, metadata);
                          sentCount.incrementAndGet();
                        }
                      });
                  if (i % 100 == 99) {
                    sleep(25); // ~4,000 events/s
                  }
                }
                producer.flush();
              }
            });
    for (long v = 2; v <= newest; v++) {
      long scoredBefore = (long) predictionsCounted(scorer);
      long previous = v - 1;
      Await.until(
          () -> predictionsCounted(scorer) >= scoredBefore + 1_500,
          Duration.ofSeconds(60),
          () ->
              "v"
                  + previous
                  + " scoring 1,500 events (scored "
                  + (predictionsCounted(scorer) - scoredBefore)
                  + ", images sent "
                  + sentCount.get()
                  + " of "
                  + events
                  + ")");
      publish(t, models.encoded(v));
      awaitServing(scorer, v);
    }
    stream.get(60, TimeUnit.SECONDS);
    assertEquals(events, sentCount.get(), "every image event was acknowledged by the broker");

    List<ConsumerRecord<byte[], byte[]>> records =
        kafka.readFromBeginning(t.predictions(), events, WAIT);
    Map<String, Prediction> byId = new HashMap<>();
    Map<Integer, List<ConsumerRecord<byte[], byte[]>>> byPartition = new TreeMap<>();
    Map<Long, List<Prediction>> byVersion = new TreeMap<>();
    for (ConsumerRecord<byte[], byte[]> r : records) {
      Prediction p = Codecs.PREDICTION.decode(r.value());
      assertEquals(
          p.getImageId(),
          new String(r.key(), StandardCharsets.UTF_8),
          "a prediction is keyed by imageId");
      int index = Integer.parseInt(p.getImageId().substring("img-".length()));
      assertEquals(
          sent.get(index).partition(),
          r.partition(),
          "a prediction lands in the partition of its image (same key, same partition count): "
              + p.getImageId());
      assertTrue(
          p.getModelVersion() >= 1 && p.getModelVersion() <= newest,
          p.getImageId() + " names v" + p.getModelVersion() + ", which was never published");
      assertEquals(MODEL, p.getModelId());
      byId.put(p.getImageId(), p);
      byPartition.computeIfAbsent(r.partition(), k -> new ArrayList<>()).add(r);
      byVersion.computeIfAbsent(p.getModelVersion(), k -> new ArrayList<>()).add(p);
    }
    Set<String> missing = new HashSet<>();
    for (int i = 0; i < events; i++) {
      if (!byId.containsKey("img-" + i)) {
        missing.add("img-" + i);
      }
    }
    assertTrue(
        missing.isEmpty(),
        missing.size() + " events have no prediction, e.g. " + missing.stream().limit(5).toList());

    for (var partition : byPartition.entrySet()) {
      List<ConsumerRecord<byte[], byte[]>> inOrder = partition.getValue();
      inOrder.sort(Comparator.comparingLong(ConsumerRecord::offset));
      long last = 0;
      for (ConsumerRecord<byte[], byte[]> r : inOrder) {
        long version = Codecs.PREDICTION.decode(r.value()).getModelVersion();
        if (version < last) {
          fail(
              "predictions partition "
                  + partition.getKey()
                  + " goes back from v"
                  + last
                  + " to v"
                  + version
                  + " at offset "
                  + r.offset());
        }
        last = version;
      }
    }
    assertEquals(
        Set.of(1L, 2L, 3L, 4L, 5L, 6L),
        byVersion.keySet(),
        "every published version scored events");

    // No half-loaded or mismatched model: every prediction equals what the version it names
    // computes here.
    int checked = 0;
    for (var version : byVersion.entrySet()) {
      for (Prediction p : version.getValue()) {
        int index = Integer.parseInt(p.getImageId().substring("img-".length()));
        assertProbabilitiesOf(models, version.getKey(), pixels(index), p);
        checked++;
      }
    }
    Map<Long, Integer> counts =
        byVersion.entrySet().stream()
            .collect(
                Collectors.toMap(
                    Map.Entry::getKey, e -> e.getValue().size(), (a, b) -> a, TreeMap::new));
    System.out.printf(
        "[ScorerIT] hot swap: %d predictions for %d events, by version %s, %d recomputed%n",
        records.size(), events, counts, checked);
  }

  // ---------------------------------------------------------------------------------------------------------------

  @Test
  void corruptSnapshotIsRejectedWhileTheOldModelKeepsServing() throws Exception {
    Topics t = topics(1);
    PublishedModels models = new PublishedModels(MODEL);
    Scorer scorer = start(t);
    publish(t, models.encoded(1));
    awaitServing(scorer, 1);
    produceEvents(t.images(), "before", 0, 50);
    awaitPredictionsNaming(t, "before", 50, 1);

    byte[] garbage = new byte[2_000];
    new SplittableRandom(7).nextBytes(garbage);
    publish(t, models.withBrokenChecksum(2));
    publish(t, models.withNaNWeights(2));
    publish(t, models.withNineOutputs(2));
    publish(t, garbage);
    publish(t, models.namingModel("another-model", 2));
    // Another model's snapshots share the topic: skipped without a word, never counted.
    publish(t, "another-model", new PublishedModels("another-model").encoded(9));
    Map<SnapshotRejection, Integer> expected =
        Map.of(
            SnapshotRejection.CHECKSUM,
            1,
            SnapshotRejection.NON_FINITE,
            1,
            SnapshotRejection.ARCHITECTURE,
            1,
            SnapshotRejection.UNDECODABLE,
            1,
            SnapshotRejection.MODEL_ID_MISMATCH,
            1);
    Await.until(
        () -> totalRejected(scorer) >= 5,
        WAIT,
        () -> "the scorer refusing all 5 bad snapshots; rejections so far " + rejections(scorer));
    assertEquals(expected, rejections(scorer), "rejections by reason");

    assertEquals(1, scorer.model().orElseThrow().version(), "the scorer still serves v1");
    JsonNode model = getJson(scorer, "/v1/model", 200);
    assertEquals(1, model.get("version").asLong(), "/v1/model: " + model);
    assertEquals(MODEL, model.get("modelId").asText());
    produceEvents(t.images(), "during", 100, 50);
    awaitPredictionsNaming(t, "during", 50, 1);

    publish(t, models.encoded(3));
    awaitServing(scorer, 3);
    assertEquals(3, getJson(scorer, "/v1/model", 200).get("version").asLong());
    produceEvents(t.images(), "after", 200, 50);
    awaitPredictionsNaming(t, "after", 50, 3);

    // A good snapshot that is not newer (a replayed v2) is refused too, and v3 stays.
    publish(t, models.encoded(2));
    Await.until(
        () -> rejected(scorer, SnapshotRejection.NOT_NEWER) == 1,
        WAIT,
        () -> "the replayed v2 refused as NOT_NEWER; rejections " + rejections(scorer));
    assertEquals(3, scorer.model().orElseThrow().version(), "the scorer still serves v3");
    assertEquals(
        2.0, counter(scorer, "streamlearn.scorer.snapshots.applied").count(), "v1 and v3 applied");
    assertEquals(
        3.0,
        scorer.registry().get("streamlearn.scorer.model.version").gauge().value(),
        "the model-version gauge follows the model in use");
  }

  // ---------------------------------------------------------------------------------------------------------------

  @Test
  void restartedScorerBeginsWithTheNewestSnapshot() throws Exception {
    Topics t = topics(2);
    PublishedModels models = new PublishedModels(MODEL);
    for (long v = 1; v <= 5; v++) {
      publish(t, models.encoded(v));
    }
    publish(
        t,
        models.withBrokenChecksum(6)); // the newest record, but refused: v5 is the newest good one
    produceEvents(t.images(), "first", 0, 200);

    try (Scorer first = start(t)) {
      awaitReady(first);
      assertEquals(
          5, first.model().orElseThrow().version(), "ready means the newest snapshot is in use");
      assertEquals(
          1,
          rejected(first, SnapshotRejection.CHECKSUM),
          "ready only after reading the snapshot topic to its end, the corrupt v6 included");
      awaitPredictionsNaming(t, "first", 200, 5);
    }

    produceEvents(t.images(), "second", 1_000, 200);
    Scorer second = start(t);
    awaitReady(second);
    assertEquals(
        5,
        second.model().orElseThrow().version(),
        "a restarted scorer begins with the newest snapshot");
    List<Prediction> all = awaitPredictionsNaming(t, "second", 200, 5);
    Map<String, Long> perId =
        all.stream().collect(Collectors.groupingBy(Prediction::getImageId, Collectors.counting()));
    assertEquals(400, perId.size(), "both runs together scored every event");
    assertTrue(
        perId.values().stream().allMatch(n -> n == 1),
        "a cleanly stopped scorer committed what it scored, so the restart scored nothing twice: "
            + perId.entrySet().stream().filter(e -> e.getValue() > 1).limit(5).toList());
  }

  /** With an empty snapshot topic, and before the learner has even created it. */
  @ParameterizedTest(name = "snapshot topic exists: {0}")
  @ValueSource(booleans = {true, false})
  void scorerWithoutASnapshotScoresNothingUntilTheFirstArrives(boolean snapshotTopicExists)
      throws Exception {
    Topics t = Topics.fresh();
    kafka.createTopic(t.images(), 2, Map.of());
    if (snapshotTopicExists) {
      createSnapshotTopic(t);
    }
    PublishedModels models = new PublishedModels(MODEL);
    produceEvents(t.images(), "waiting", 0, 300);
    Scorer scorer = start(t);

    long until = System.nanoTime() + Duration.ofSeconds(3).toNanos();
    while (System.nanoTime() < until) {
      assertFalse(scorer.isReady(), "ready without a model");
      Thread.sleep(200);
    }
    assertTrue(scorer.model().isEmpty(), "no model without a snapshot");
    assertEquals("not ready", getJson(scorer, "/health/ready", 503).get("status").asText());
    getJson(scorer, "/v1/model", 503);
    assertEquals(0, recordsOn(t.predictions()), "nothing is scored without a model");

    if (!snapshotTopicExists) {
      createSnapshotTopic(t);
    }
    publish(t, models.encoded(1));
    awaitReady(scorer);
    assertEquals(1, getJson(scorer, "/health/ready", 200).get("modelVersion").asLong());
    List<Prediction> all = awaitPredictionsNaming(t, "waiting", 300, 1);
    assertEquals(
        300,
        all.stream().map(Prediction::getImageId).distinct().count(),
        "every waiting event is scored once the first snapshot arrives");
  }

  // ---------------------------------------------------------------------------------------------------------------

  @Test
  void predictionsDecodeWithTheAvscAlone() throws Exception {
    // A consumer written against the first release holds Prediction-v1.avsc alone: MNIST
    // predictions are written with it (the oldest version that holds them).
    Schema schema =
        new Schema.Parser()
            .parse(
                contractFile("resources/io/streamlearn/contract/history/Prediction-v1.avsc")
                    .toFile());
    BinaryMessageDecoder<GenericRecord> decoder =
        new BinaryMessageDecoder<>(GenericData.get(), schema);
    Topics t = topics(1);
    PublishedModels models = new PublishedModels(MODEL);
    Map<String, Integer> labels = new HashMap<>();
    Map<String, byte[]> images = new HashMap<>();
    try (KafkaProducer<byte[], byte[]> producer = producer()) {
      for (int i = 0; i < 20; i++) {
        String id = "avsc-" + i;
        Integer label = i % 2 == 0 ? i % 10 : null;
        labels.put(id, label);
        images.put(id, pixels(i));
        producer.send(eventRecord(t.images(), id, pixels(i), label)).get(10, TimeUnit.SECONDS);
      }
    }
    Scorer scorer = start(t);
    publish(t, models.encoded(1));
    awaitReady(scorer);

    List<ConsumerRecord<byte[], byte[]>> records =
        kafka.readFromBeginning(t.predictions(), 20, WAIT);
    Set<String> seen = new HashSet<>();
    for (ConsumerRecord<byte[], byte[]> r : records) {
      GenericRecord p = decoder.decode(r.value());
      String id = p.get("imageId").toString();
      assertTrue(labels.containsKey(id), "unknown imageId " + id);
      seen.add(id);
      @SuppressWarnings("unchecked")
      List<Float> probabilities = (List<Float>) p.get("probabilities");
      assertEquals(10, probabilities.size(), "10 probabilities");
      float sum = 0;
      int argmax = 0;
      for (int c = 0; c < 10; c++) {
        float v = probabilities.get(c);
        assertTrue(v >= 0 && v <= 1, "probability " + v);
        sum += v;
        argmax = v > probabilities.get(argmax) ? c : argmax;
      }
      assertEquals(1.0, sum, 1e-4, "probabilities sum to 1");
      assertEquals(argmax, p.get("digit"), "digit is the most probable class");
      assertEquals(MODEL, p.get("modelId").toString());
      assertEquals(1L, p.get("modelVersion"));
      assertEquals(models.snapshot(1).getCreatedAt().toEpochMilli(), p.get("snapshotCreatedAt"));
      assertEquals(labels.get(id), p.get("label"), "label copied from the event");
      assertTrue((Long) p.get("scoredAt") >= (Long) p.get("eventTime"), "scored after the event");
      float[] expected = models.probabilities(1, images.get(id));
      for (int c = 0; c < 10; c++) {
        assertEquals(expected[c], probabilities.get(c), 1e-5, id + " probability of " + c);
      }
    }
    assertEquals(labels.keySet(), seen, "every event has a prediction");
  }

  // ---------------------------------------------------------------------------------------------------------------

  @Test
  void badEventsGoToTheDeadLetterTopic() throws Exception {
    Topics t = topics(1);
    PublishedModels models = new PublishedModels(MODEL);
    byte[] garbage = "{\"not\": \"avro\"}".getBytes(StandardCharsets.UTF_8);
    byte[] shortImage =
        Codecs.IMAGE_EVENT.encode(
            ImageEvent.newBuilder()
                .setImageId("short")
                .setPixels(ByteBuffer.wrap(new byte[100]))
                .setEventTime(Instant.now())
                .setLabel(3)
                .build());
    byte[] badLabel =
        Codecs.IMAGE_EVENT.encode(
            ImageEvent.newBuilder()
                .setImageId("twelve")
                .setPixels(ByteBuffer.wrap(pixels(99)))
                .setEventTime(Instant.now())
                .setLabel(12)
                .build());
    Map<String, RecordMetadata> bad = new HashMap<>();
    try (KafkaProducer<byte[], byte[]> producer = producer()) {
      for (int i = 0; i < 5; i++) {
        producer.send(eventRecord(t.images(), "good-" + i, pixels(i), i));
      }
      RecordHeaders traced = new RecordHeaders();
      traced.add("trace-id", "abc-123".getBytes(StandardCharsets.UTF_8));
      bad.put(
          "garbage",
          producer
              .send(new ProducerRecord<>(t.images(), null, key("garbage"), garbage, traced))
              .get(10, TimeUnit.SECONDS));
      bad.put(
          "short",
          producer
              .send(new ProducerRecord<>(t.images(), key("short"), shortImage))
              .get(10, TimeUnit.SECONDS));
      bad.put(
          "twelve",
          producer
              .send(new ProducerRecord<>(t.images(), key("twelve"), badLabel))
              .get(10, TimeUnit.SECONDS));
      for (int i = 5; i < 10; i++) {
        producer.send(eventRecord(t.images(), "good-" + i, pixels(i), i));
      }
      producer.flush();
    }
    Scorer scorer = start(t);
    publish(t, models.encoded(1));

    List<ConsumerRecord<byte[], byte[]>> letters =
        kafka.readFromBeginning(t.deadLetters(), 3, WAIT);
    assertEquals(3, letters.size(), "one dead letter per bad event");
    Map<String, ConsumerRecord<byte[], byte[]>> byKey = new HashMap<>();
    letters.forEach(r -> byKey.put(new String(r.key(), StandardCharsets.UTF_8), r));
    assertEquals(Set.of("garbage", "short", "twelve"), byKey.keySet());
    assertReason(byKey.get("garbage"), PayloadError.BAD_MARKER, bad.get("garbage"), t.images());
    assertReason(byKey.get("short"), PayloadError.BAD_PIXEL_COUNT, bad.get("short"), t.images());
    assertReason(byKey.get("twelve"), PayloadError.BAD_LABEL, bad.get("twelve"), t.images());
    assertArrayEquals(
        garbage, byKey.get("garbage").value(), "the dead letter carries the bytes as they came");
    assertArrayEquals(shortImage, byKey.get("short").value());
    assertEquals(
        "abc-123",
        DeadLetter.header(byKey.get("garbage").headers(), "trace-id"),
        "the event's own headers travel with it");

    List<ConsumerRecord<byte[], byte[]>> predictions =
        kafka.readFromBeginning(t.predictions(), 10, WAIT);
    Set<String> scored =
        predictions.stream()
            .map(r -> Codecs.PREDICTION.decode(r.value()).getImageId())
            .collect(Collectors.toSet());
    Set<String> good = new HashSet<>();
    for (int i = 0; i < 10; i++) {
      good.add("good-" + i);
    }
    assertEquals(
        good,
        scored,
        "the good events before and after the bad ones are scored, the bad ones are not");
    for (PayloadError reason :
        List.of(PayloadError.BAD_MARKER, PayloadError.BAD_PIXEL_COUNT, PayloadError.BAD_LABEL)) {
      assertEquals(
          1.0,
          scorer
              .registry()
              .get("streamlearn.scorer.dead.letters")
              .tag("reason", reason.name())
              .counter()
              .count(),
          "dead letters counted with reason " + reason);
    }
    assertEquals(
        3.0,
        scorer.registry().get("streamlearn.scorer.dead.letters").counters().stream()
            .mapToDouble(Counter::count)
            .sum(),
        "no other dead letters counted");
  }

  // --- the scorer
  // -------------------------------------------------------------------------------------------------

  /**
   * Creates the snapshot topic (compacted, room for a snapshot) and the images topic with this many
   * partitions.
   */
  private Topics topics(int imagePartitions) throws Exception {
    Topics t = Topics.fresh();
    createSnapshotTopic(t);
    kafka.createTopic(t.images(), imagePartitions, Map.of());
    return t;
  }

  private static void createSnapshotTopic(Topics t) throws Exception {
    kafka.createTopic(
        t.snapshots(), 1, Map.of("cleanup.policy", "compact", "max.message.bytes", "2000000"));
  }

  /** The scorer of model {@link #MODEL} on {@code t}'s topics, HTTP on any port. */
  private static ConfigBuilder<ScorerSettings.Config> scorer(Topics t) {
    return ScorerSettings.builder()
        .set(ScorerSettings.BOOTSTRAP_SERVERS, kafka.bootstrapServers())
        .set(ScorerSettings.MODEL_ID, MODEL)
        .set(ScorerSettings.SNAPSHOT_TOPIC, t.snapshots())
        .set(ScorerSettings.IMAGES_TOPIC, t.images())
        .set(ScorerSettings.PREDICTIONS_TOPIC, t.predictions())
        .set(ScorerSettings.DEAD_LETTER_TOPIC, t.deadLetters())
        .set(ScorerSettings.GROUP_ID, t.group())
        .set(ScorerSettings.HTTP_PORT, 0);
  }

  private Scorer start(Topics t) {
    return start(scorer(t));
  }

  private Scorer start(ConfigBuilder<ScorerSettings.Config> builder) {
    ScorerSettings.Config config = builder.build();
    Scorer scorer = Scorer.start(config);
    toClose.add(scorer);
    return scorer;
  }

  private static void awaitReady(Scorer scorer) throws InterruptedException {
    Await.until(
        scorer::isReady,
        WAIT,
        () ->
            "the scorer becoming ready; model in use "
                + scorer.model().map(m -> "v" + m.version()).orElse("none"));
  }

  private static void awaitServing(Scorer scorer, long version) throws InterruptedException {
    Await.until(
        () -> scorer.isReady() && scorer.model().map(m -> m.version() == version).orElse(false),
        WAIT,
        () ->
            "the scorer serving v"
                + version
                + "; in use: "
                + scorer.model().map(m -> "v" + m.version()).orElse("none")
                + ", rejections "
                + rejections(scorer));
  }

  private static double predictionsCounted(Scorer scorer) {
    return scorer.registry().get("streamlearn.scorer.predictions").counters().stream()
        .mapToDouble(Counter::count)
        .sum();
  }

  private static Counter counter(Scorer scorer, String name) {
    return scorer.registry().get(name).counter();
  }

  private static int rejected(Scorer scorer, SnapshotRejection reason) {
    return (int)
        scorer
            .registry()
            .get("streamlearn.scorer.snapshots.rejected")
            .tag("reason", reason.name())
            .counter()
            .count();
  }

  /** The non-zero rejection counters by reason. */
  private static Map<SnapshotRejection, Integer> rejections(Scorer scorer) {
    Map<SnapshotRejection, Integer> counts = new TreeMap<>();
    for (SnapshotRejection reason : SnapshotRejection.values()) {
      int n = rejected(scorer, reason);
      if (n > 0) {
        counts.put(reason, n);
      }
    }
    return counts;
  }

  private static int totalRejected(Scorer scorer) {
    return rejections(scorer).values().stream().mapToInt(Integer::intValue).sum();
  }

  private static JsonNode getJson(Scorer scorer, String path, int expectedStatus) throws Exception {
    HttpResponse<String> response =
        HTTP.send(
            HttpRequest.newBuilder(URI.create("http://localhost:" + scorer.httpPort() + path))
                .timeout(Duration.ofSeconds(10))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(expectedStatus, response.statusCode(), "GET " + path + ": " + response.body());
    return JSON.readTree(response.body());
  }

  // --- Kafka
  // ------------------------------------------------------------------------------------------------------

  private static KafkaProducer<byte[], byte[]> producer() {
    Map<String, Object> props = kafka.clientProperties();
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
    props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 2_000_000);
    return new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
  }

  private static void publish(Topics t, byte[] snapshot) throws Exception {
    publish(t, MODEL, snapshot);
  }

  private static void publish(Topics t, String modelKey, byte[] snapshot) throws Exception {
    try (KafkaProducer<byte[], byte[]> producer = producer()) {
      producer
          .send(new ProducerRecord<>(t.snapshots(), key(modelKey), snapshot))
          .get(10, TimeUnit.SECONDS);
    }
  }

  private static ProducerRecord<byte[], byte[]> eventRecord(
      String topic, String id, byte[] pixels, Integer label) {
    ImageEvent event =
        ImageEvent.newBuilder()
            .setImageId(id)
            .setPixels(ByteBuffer.wrap(pixels))
            .setEventTime(Instant.now())
            .setLabel(label)
            .build();
    return new ProducerRecord<>(topic, key(id), Codecs.IMAGE_EVENT.encode(event));
  }

  /**
   * Sends events {@code <prefix>-<first>} .. {@code <prefix>-<first+count-1>}, unlabelled, and
   * waits for the acks.
   */
  private static void produceEvents(String topic, String prefix, int first, int count)
      throws Exception {
    List<Future<RecordMetadata>> sent = new ArrayList<>();
    try (KafkaProducer<byte[], byte[]> producer = producer()) {
      for (int i = first; i < first + count; i++) {
        sent.add(producer.send(eventRecord(topic, prefix + "-" + i, pixels(i), null)));
      }
      producer.flush();
    }
    for (Future<RecordMetadata> f : sent) {
      f.get(); // a failed send fails the test's setup here, not later as a missing prediction
    }
  }

  /**
   * Waits for {@code count} predictions of events whose id starts with {@code prefix}, asserts that
   * all of them name {@code version}, and returns every prediction on the topic.
   */
  private static List<Prediction> awaitPredictionsNaming(
      Topics t, String prefix, int count, long version) {
    List<Prediction> all =
        Await.value(
            () -> {
              List<Prediction> read = new ArrayList<>();
              for (ConsumerRecord<byte[], byte[]> r : readAll(t.predictions())) {
                read.add(Codecs.PREDICTION.decode(r.value()));
              }
              return read;
            },
            read -> matching(read, prefix).size() >= count,
            WAIT,
            read ->
                "scoring "
                    + count
                    + " '"
                    + prefix
                    + "' events ("
                    + (read == null ? 0 : matching(read, prefix).size())
                    + " scored; "
                    + progress(t, prefix)
                    + ")");
    for (Prediction p : matching(all, prefix)) {
      assertEquals(
          version, p.getModelVersion(), p.getImageId() + " scored by v" + p.getModelVersion());
    }
    return all;
  }

  private static List<Prediction> matching(List<Prediction> predictions, String prefix) {
    return predictions.stream().filter(p -> p.getImageId().startsWith(prefix + "-")).toList();
  }

  /**
   * Where the events of {@code prefix} are: on the images topic, and how far the scorer's group has
   * committed.
   */
  private static String progress(Topics t, String prefix) {
    long events =
        readAll(t.images()).stream()
            .filter(r -> new String(r.key(), StandardCharsets.UTF_8).startsWith(prefix + "-"))
            .count();
    try (Admin admin = kafka.admin();
        KafkaConsumer<byte[], byte[]> consumer = consumer()) {
      Map<TopicPartition, OffsetAndMetadata> committed =
          admin
              .listConsumerGroupOffsets(t.group())
              .partitionsToOffsetAndMetadata()
              .get(30, TimeUnit.SECONDS);
      return events
          + " such events on "
          + t.images()
          + ", group "
          + t.group()
          + " committed "
          + committed
          + " of end offsets "
          + consumer.endOffsets(partitions(consumer, t.images()));
    } catch (Exception e) {
      return events + " such events on " + t.images() + "; group offsets unreadable: " + e;
    }
  }

  /** Every record on every partition of {@code topic} up to its end offsets now. */
  private static List<ConsumerRecord<byte[], byte[]>> readAll(String topic) {
    try (KafkaConsumer<byte[], byte[]> consumer = consumer()) {
      partitions(consumer, topic); // asserts the topic exists
    }
    return kafka.readToEnd(topic);
  }

  private static long recordsOn(String topic) {
    try (KafkaConsumer<byte[], byte[]> consumer = consumer()) {
      List<TopicPartition> partitions = partitions(consumer, topic);
      consumer.assign(partitions);
      return consumer.endOffsets(partitions).values().stream().mapToLong(Long::longValue).sum();
    }
  }

  private static KafkaConsumer<byte[], byte[]> consumer() {
    Map<String, Object> props = kafka.clientProperties();
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5_000);
    props.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
    return new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  private static List<TopicPartition> partitions(KafkaConsumer<?, ?> consumer, String topic) {
    List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(30));
    assertNotNull(infos, "topic " + topic + " exists");
    assertFalse(infos.isEmpty(), "topic " + topic + " exists");
    return infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
  }

  // --- checks
  // -----------------------------------------------------------------------------------------------------

  private static void assertProbabilitiesOf(
      PublishedModels models, long version, byte[] pixels, Prediction p) {
    float[] expected = models.probabilities(version, pixels);
    for (int c = 0; c < expected.length; c++) {
      float actual = p.getProbabilities().get(c);
      if (Math.abs(expected[c] - actual) > 1e-5) {
        fail(
            p.getImageId()
                + " names v"
                + version
                + " but its probability of "
                + c
                + " is "
                + actual
                + "; v"
                + version
                + " gives "
                + expected[c]);
      }
    }
    int digit = 0;
    for (int c = 1; c < expected.length; c++) {
      digit = expected[c] > expected[digit] ? c : digit;
    }
    assertEquals(
        digit, p.getDigit(), p.getImageId() + ": digit is v" + version + "'s most probable class");
  }

  private static void assertReason(
      ConsumerRecord<byte[], byte[]> letter,
      PayloadError reason,
      RecordMetadata source,
      String topic) {
    assertEquals(
        reason.name(), DeadLetter.header(letter.headers(), DeadLetter.REASON), "reason header");
    assertEquals("scorer", DeadLetter.header(letter.headers(), DeadLetter.SERVICE));
    assertEquals(topic, DeadLetter.header(letter.headers(), DeadLetter.SOURCE_TOPIC));
    assertEquals(
        Integer.toString(source.partition()),
        DeadLetter.header(letter.headers(), DeadLetter.SOURCE_PARTITION));
    assertEquals(
        Long.toString(source.offset()),
        DeadLetter.header(letter.headers(), DeadLetter.SOURCE_OFFSET));
    String detail = DeadLetter.header(letter.headers(), DeadLetter.DETAIL);
    assertTrue(detail != null && !detail.isBlank(), "a detail says what was wrong");
  }

  // --- small things
  // -----------------------------------------------------------------------------------------------

  /** Image {@code index}: 784 seeded random pixels. */
  private static byte[] pixels(int index) {
    byte[] pixels = new byte[Codecs.PIXELS];
    new SplittableRandom(index).nextBytes(pixels);
    return pixels;
  }

  private static byte[] key(String id) {
    return id.getBytes(StandardCharsets.UTF_8);
  }

  /**
   * A file of the contract, {@code contract/src/main/<name>}, found by walking up from the working
   * directory to the multi-module root (failsafe runs in the module directory and may not set
   * maven.multiModuleProjectDirectory).
   */
  private static Path contractFile(String name) {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      Path candidate = dir.resolve("contract/src/main").resolve(name);
      if (Files.isRegularFile(candidate)) {
        return candidate;
      }
    }
    throw new AssertionError(
        "no contract/src/main/" + name + " above " + Path.of("").toAbsolutePath());
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
