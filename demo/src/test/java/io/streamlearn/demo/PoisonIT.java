package io.streamlearn.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.streamlearn.contract.DenseLayer;
import io.streamlearn.contract.ImageEvent;
import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.contract.Prediction;
import io.streamlearn.contract.TrainingSample;
import io.streamlearn.contract.avro.AvroCodec;
import io.streamlearn.contract.avro.Codecs;
import io.streamlearn.contract.avro.PayloadError;
import io.streamlearn.core.kafka.DeadLetter;
import io.streamlearn.learner.Learner;
import io.streamlearn.learner.LearnerSettings;
import io.streamlearn.mnist.MnistDataset;
import io.streamlearn.mnist.MnistFetcher;
import io.streamlearn.mnist.MnistFiles;
import io.streamlearn.model.Snapshots;
import io.streamlearn.scorer.Scorer;
import io.streamlearn.scorer.ScorerSettings;
import io.streamlearn.scorer.SnapshotRejection;
import io.streamlearn.testkit.Await;
import io.streamlearn.testkit.RealKafka;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile input on every topic a service reads, on the real broker: 10,000 poison payloads (random
 * bytes, truncated records, wrong fingerprints, length bombs, wrong pixel counts, labels out of
 * range, over-long ids, empty values, tombstones, v2 records with features an MNIST model cannot
 * take, records near the size limit) interleaved with valid samples and events, some of them under
 * null keys; then poison snapshots after the good ones. No service may crash or stall: every bad
 * record is dead-lettered with a reason, every valid one trained or scored, every bad snapshot
 * rejected and counted, and a restarted scorer and a restarted learner start and serve the newest
 * valid model.
 */
@Tag("real-kafka")
class PoisonIT {
  @RegisterExtension static final RealKafka kafka = new RealKafka();
  private static final int VALID_SAMPLES = 6_400;
  private static final int VALID_EVENTS = 2_000;
  private static final int POISON_PER_TOPIC = 5_000;
  private static final int NEAR_LIMIT_PER_TOPIC = 12;
  private static final Duration WAIT = Duration.ofMinutes(4);
  private static MnistDataset train;
  private static MnistDataset test;

  @BeforeAll
  static void data() {
    MnistFiles files = MnistFetcher.ensureDefault();
    train = MnistDataset.train(files);
    test = MnistDataset.test(files);
  }

  /** One record to send: null key and null value allowed. */
  private record Sent(byte[] key, byte[] value, boolean valid, String kind) {}

  @Test
  void poisonOnBothInputTopicsAndOnTheSnapshotTopicNeverStopsAService(@TempDir Path dir)
      throws Exception {
    String trainTopic = RealKafka.uniqueName("poison-train");
    String images = RealKafka.uniqueName("poison-images");
    String snapshots = RealKafka.uniqueName("poison-snapshots");
    String predictions = RealKafka.uniqueName("poison-predictions");
    String learnerDlq = RealKafka.uniqueName("poison-dlq-learner");
    String scorerDlq = RealKafka.uniqueName("poison-dlq-scorer");
    kafka.createTopic(trainTopic, 3, Map.of());
    kafka.createTopic(images, 2, Map.of());

    Random random = new Random(2026);
    List<Sent> samples =
        interleave(validSamples(random), poison(random, Codecs.TRAINING_SAMPLE, true), random);
    List<Sent> events =
        interleave(validEvents(random), poison(random, Codecs.IMAGE_EVENT, false), random);
    send(trainTopic, samples);
    send(images, events);
    long badSamples = samples.stream().filter(s -> !s.valid()).count();
    long badEvents = events.stream().filter(s -> !s.valid()).count();

    String applicationId = RealKafka.uniqueName("poison-learner");
    LearnerSettings.Config learnerConfig =
        learnerConfig(applicationId, trainTopic, snapshots, learnerDlq, dir);
    ScorerSettings.Config scorerConfig = scorerConfig(images, snapshots, predictions, scorerDlq);
    Learner learner = Learner.start(learnerConfig);
    Scorer scorer = Scorer.start(scorerConfig);
    try {
      // Cheap conditions first (the services' own counters), then what the topics hold once
      // committed.
      Await.until(
          () ->
              learner.samplesTrained() >= VALID_SAMPLES
                  && total(learner.registry(), "streamlearn.learner.dead.letters") >= badSamples,
          WAIT,
          () ->
              "the learner through its input: "
                  + learner.samplesTrained()
                  + " of "
                  + VALID_SAMPLES
                  + " trained, "
                  + total(learner.registry(), "streamlearn.learner.dead.letters")
                  + " of "
                  + badSamples
                  + " dead-lettered (learner "
                  + learner.state()
                  + ")");
      Await.until(
          () ->
              total(scorer.registry(), "streamlearn.scorer.predictions") >= VALID_EVENTS
                  && total(scorer.registry(), "streamlearn.scorer.dead.letters") >= badEvents,
          WAIT,
          () ->
              "the scorer through its input: "
                  + total(scorer.registry(), "streamlearn.scorer.predictions")
                  + " of "
                  + VALID_EVENTS
                  + " predicted, "
                  + total(scorer.registry(), "streamlearn.scorer.dead.letters")
                  + " of "
                  + badEvents
                  + " dead-lettered");
      Await.until(
          () ->
              newestSnapshot(snapshots) != null
                  && newestSnapshot(snapshots).getSamplesSeen() == VALID_SAMPLES,
          WAIT,
          () -> "a snapshot covering the " + VALID_SAMPLES + " valid samples");
      Await.until(
          () -> committed(learnerDlq).size() == badSamples,
          WAIT,
          () ->
              badSamples
                  + " learner dead letters committed ("
                  + committed(learnerDlq).size()
                  + " so far)");
      Await.until(
          () -> predictedIds(predictions).size() == VALID_EVENTS,
          WAIT,
          () ->
              VALID_EVENTS
                  + " image ids predicted ("
                  + predictedIds(predictions).size()
                  + " so far)");
      Await.until(
          () -> committed(scorerDlq).size() == badEvents,
          WAIT,
          () ->
              badEvents
                  + " scorer dead letters committed ("
                  + committed(scorerDlq).size()
                  + " so far)");

      Map<String, Integer> learnerReasons =
          assertDeadLetters(committed(learnerDlq), "learner", trainTopic);
      Map<String, Integer> scorerReasons =
          assertDeadLetters(committed(scorerDlq), "scorer", images);
      assertEquals(
          VALID_SAMPLES,
          (long) learner.samplesTrained(),
          "every valid sample trained exactly once");
      assertEquals(
          badSamples, (long) total(learner.registry(), "streamlearn.learner.dead.letters"));
      assertEquals(badEvents, (long) total(scorer.registry(), "streamlearn.scorer.dead.letters"));
      assertEquals(KafkaStreams.State.RUNNING, learner.state());
      assertTrue(scorer.isReady());
      System.out.printf(
          "[PoisonIT] %d samples (%d bad) and %d events (%d bad): %d trained, %d image ids predicted;"
              + " learner dead letters by reason %s; scorer dead letters by reason %s%n",
          samples.size(),
          badSamples,
          events.size(),
          badEvents,
          (long) learner.samplesTrained(),
          VALID_EVENTS,
          learnerReasons,
          scorerReasons);

      // --- snapshot poison, after the good snapshots
      // ------------------------------------------------------------
      ModelSnapshot good = newestSnapshot(snapshots);
      Map<SnapshotRejection, Double> before = rejections(scorer.registry());
      Map<SnapshotRejection, Integer> expected = sendSnapshotPoison(snapshots, good);
      Await.until(
          () -> rejectionsSince(scorer.registry(), before).equals(expected),
          WAIT,
          () ->
              "the running scorer rejecting "
                  + expected
                  + " (so far "
                  + rejectionsSince(scorer.registry(), before)
                  + ")");
      assertEquals(
          good.getVersion(),
          scorer.model().orElseThrow().version(),
          "still serving the good snapshot");
    } finally {
      scorer.close();
      learner.close();
    }

    // A restarted scorer reads every bad snapshot after the good one and still starts with the good
    // one.
    ModelSnapshot good = newestValid(snapshots);
    Scorer restarted = Scorer.start(scorerConfig);
    try {
      Await.until(restarted::isReady, WAIT, "the restarted scorer ready");
      assertEquals(
          good.getVersion(),
          restarted.model().orElseThrow().version(),
          "the newest valid snapshot");
    } finally {
      restarted.close();
    }
    // A restarted learner starts, and its next snapshot follows the newest version in range.
    Learner again = Learner.start(learnerConfig);
    try {
      Await.until(
          () -> again.state() == KafkaStreams.State.RUNNING, WAIT, "the restarted learner RUNNING");
      send(trainTopic, validSamples(new Random(1)).subList(0, 640));
      Await.until(
          () -> newestSnapshot(snapshots).getSamplesSeen() == VALID_SAMPLES + 640,
          WAIT,
          "a snapshot of the restarted learner");
      ModelSnapshot next = newestSnapshot(snapshots);
      assertTrue(
          next.getVersion() > good.getVersion() && next.getVersion() <= Snapshots.MAX_VERSION,
          "v" + next.getVersion() + " follows v" + good.getVersion());
    } finally {
      again.close();
    }
  }

  // --- what is sent
  // ------------------------------------------------------------------------------------------------

  private static List<Sent> validSamples(Random random) {
    List<Sent> out = new ArrayList<>();
    for (int row = 0; row < VALID_SAMPLES; row++) {
      byte[] value =
          Codecs.TRAINING_SAMPLE.encode(
              TrainingSample.newBuilder()
                  .setSampleId("train-" + row)
                  .setLabel(train.label(row))
                  .setPixels(ByteBuffer.wrap(train.pixels(row)))
                  .setSource("poison-it")
                  .setEventTime(Instant.now())
                  .build());
      out.add(
          new Sent(random.nextInt(10) == 0 ? null : utf8("train-" + row), value, true, "valid"));
    }
    return out;
  }

  private static List<Sent> validEvents(Random random) {
    List<Sent> out = new ArrayList<>();
    for (int row = 0; row < VALID_EVENTS; row++) {
      byte[] value =
          Codecs.IMAGE_EVENT.encode(
              ImageEvent.newBuilder()
                  .setImageId("t10k-" + row)
                  .setPixels(ByteBuffer.wrap(test.pixels(row)))
                  .setEventTime(Instant.now())
                  .setLabel(test.label(row))
                  .build());
      out.add(new Sent(random.nextInt(10) == 0 ? null : utf8("t10k-" + row), value, true, "valid"));
    }
    return out;
  }

  /**
   * {@value #POISON_PER_TOPIC} bad payloads of every kind for one topic's record type, a few near
   * the size limit.
   */
  private static List<Sent> poison(Random random, AvroCodec<?> codec, boolean samples) {
    byte[] valid =
        samples ? validSamples(random).get(0).value() : validEvents(random).get(0).value();
    List<Sent> out = new ArrayList<>();
    for (int i = 0; out.size() < POISON_PER_TOPIC - NEAR_LIMIT_PER_TOPIC; i++) {
      byte[] key = random.nextInt(5) == 0 ? null : utf8("poison-" + i);
      byte[] value;
      String kind;
      switch (i % 12) {
        case 0 -> {
          kind = "random bytes";
          value = randomBytes(random, random.nextInt(300));
        }
        case 1 -> {
          kind = "truncated";
          value = Arrays.copyOf(valid, random.nextInt(valid.length - 1));
        }
        case 2 -> {
          kind = "wrong fingerprint";
          value = valid.clone();
          value[2 + random.nextInt(8)] ^= (byte) (1 + random.nextInt(255));
        }
        case 3 -> {
          kind = "length bomb";
          value =
              header(codec, 0xF0, 0xFF, 0xFF, 0xFF, 0x0F); // a first string of 2,147,483,640 bytes
        }
        case 4 -> {
          kind = "wrong pixel count";
          value =
              samples
                  ? Codecs.TRAINING_SAMPLE.encode(
                      sample(random.nextBoolean() ? 783 : 785, 3, "p-" + i))
                  : Codecs.IMAGE_EVENT.encode(event(random.nextBoolean() ? 0 : 1000, 3, "p-" + i));
        }
        case 5 -> {
          kind = "label out of range";
          int label = List.of(-1, 10, 1000, Integer.MIN_VALUE).get(random.nextInt(4));
          value =
              samples
                  ? Codecs.TRAINING_SAMPLE.encode(sample(784, label, "p-" + i))
                  : Codecs.IMAGE_EVENT.encode(event(784, label, "p-" + i));
        }
        case 6 -> {
          kind = "id over 1,024 bytes";
          String id = "x".repeat(AvroCodec.MAX_STRING_BYTES + 1 + random.nextInt(5000));
          value =
              samples
                  ? Codecs.TRAINING_SAMPLE.encode(sample(784, 3, id))
                  : Codecs.IMAGE_EVENT.encode(event(784, 3, id));
        }
        case 7 -> {
          kind = "empty value";
          value = new byte[0];
        }
        case 8 -> {
          kind = "tombstone";
          value = null;
        }
        case 9 -> {
          kind = "trailing bytes";
          value = Arrays.copyOf(valid, valid.length + 1 + random.nextInt(20));
        }
        case 10 -> {
          // v2 records an MNIST model cannot take: features instead of pixels, both, neither, NaN,
          // beyond the magnitude limit.
          kind = "features for an image model";
          int pixels = List.of(0, 784, 0, 0, 0).get(i % 5);
          List<Float> features =
              List.of(
                      List.of(1f, 2f),
                      List.of(1f),
                      List.<Float>of(),
                      List.of(Float.NaN, 1f),
                      List.of(1e30f))
                  .get(i % 5);
          if (samples) {
            TrainingSample sample = sample(pixels, 3, "f-" + i);
            sample.setFeatures(features);
            value = Codecs.TRAINING_SAMPLE.encode(sample);
          } else {
            ImageEvent event = event(pixels, 3, "f-" + i);
            event.setFeatures(features);
            value = Codecs.IMAGE_EVENT.encode(event);
          }
        }
        default -> {
          kind = "another record type";
          value =
              samples ? validEvents(random).get(0).value() : validSamples(random).get(0).value();
        }
      }
      out.add(new Sent(key, value, false, kind));
    }
    for (int i = 0; i < NEAR_LIMIT_PER_TOPIC; i++) {
      out.add(
          new Sent(
              utf8("big-" + i),
              randomBytes(random, 1_040_000 - random.nextInt(40_000)),
              false,
              "near the size limit"));
    }
    return out;
  }

  private static TrainingSample sample(int pixels, int label, String id) {
    return TrainingSample.newBuilder()
        .setSampleId(id)
        .setLabel(label)
        .setPixels(ByteBuffer.wrap(new byte[pixels]))
        .setSource("poison")
        .setEventTime(Instant.EPOCH)
        .build();
  }

  private static ImageEvent event(int pixels, Integer label, String id) {
    return ImageEvent.newBuilder()
        .setImageId(id)
        .setPixels(ByteBuffer.wrap(new byte[pixels]))
        .setEventTime(Instant.EPOCH)
        .setLabel(label)
        .build();
  }

  private static List<Sent> interleave(List<Sent> valid, List<Sent> bad, Random random) {
    List<Sent> all = new ArrayList<>(valid);
    all.addAll(bad);
    Collections.shuffle(all, random);
    return all;
  }

  private static void send(String topic, List<Sent> records) throws Exception {
    Map<String, Object> props = new HashMap<>(kafka.clientProperties());
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 2 * 1024 * 1024);
    props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
      List<java.util.concurrent.Future<?>> sends = new ArrayList<>();
      for (Sent s : records) {
        sends.add(producer.send(new ProducerRecord<>(topic, s.key(), s.value())));
      }
      for (java.util.concurrent.Future<?> f : sends) {
        f.get(2, TimeUnit.MINUTES);
      }
    }
  }

  /**
   * Bad snapshots after {@code good}, keyed by the model: each kind once; returns the rejections a
   * running scorer counts for them.
   */
  private static Map<SnapshotRejection, Integer> sendSnapshotPoison(
      String topic, ModelSnapshot good) throws Exception {
    List<byte[]> values = new ArrayList<>();
    Map<SnapshotRejection, Integer> expected = new TreeMap<>();
    ModelSnapshot checksum = copy(good);
    checksum.setVersion(good.getVersion() + 1);
    checksum
        .getLayers()
        .get(0)
        .getWeights()
        .put(0, (byte) (checksum.getLayers().get(0).getWeights().get(0) ^ 1));
    values.add(Codecs.MODEL_SNAPSHOT.encode(checksum));
    expected.merge(SnapshotRejection.CHECKSUM, 1, Integer::sum);

    ModelSnapshot shape = copy(good);
    shape.setVersion(good.getVersion() + 2);
    DenseLayer first = shape.getLayers().get(0);
    first.setInputs(783);
    shape.setChecksum(ByteBuffer.wrap(Snapshots.checksum(shape.getLayers())));
    values.add(Codecs.MODEL_SNAPSHOT.encode(shape));
    expected.merge(SnapshotRejection.ARCHITECTURE, 1, Integer::sum);

    ModelSnapshot nan = copy(good);
    nan.setVersion(good.getVersion() + 3);
    nan.getLayers()
        .get(1)
        .getBias()
        .duplicate()
        .order(ByteOrder.LITTLE_ENDIAN)
        .putFloat(0, Float.NaN);
    nan.setChecksum(ByteBuffer.wrap(Snapshots.checksum(nan.getLayers())));
    values.add(Codecs.MODEL_SNAPSHOT.encode(nan));
    expected.merge(SnapshotRejection.NON_FINITE, 1, Integer::sum);

    ModelSnapshot older = copy(good);
    older.setVersion(good.getVersion() - 1);
    values.add(Codecs.MODEL_SNAPSHOT.encode(older));
    expected.merge(SnapshotRejection.NOT_NEWER, 1, Integer::sum);

    ModelSnapshot huge = copy(good);
    huge.setVersion(Long.MAX_VALUE); // its checksum is right: anyone can compute one
    values.add(Codecs.MODEL_SNAPSHOT.encode(huge));
    expected.merge(SnapshotRejection.VERSION_OUT_OF_RANGE, 1, Integer::sum);

    ModelSnapshot deep = copy(good);
    deep.setVersion(good.getVersion() + 4);
    List<DenseLayer> layers = new ArrayList<>();
    for (int i = 0; i < 100_000; i++) {
      layers.add(
          DenseLayer.newBuilder()
              .setInputs(i == 0 ? 784 : 1)
              .setOutputs(1)
              .setActivation(io.streamlearn.contract.Activation.RELU)
              .setWeights(ByteBuffer.allocate(0))
              .setBias(ByteBuffer.allocate(0))
              .build());
    }
    deep.setLayers(layers);
    deep.setChecksum(ByteBuffer.wrap(Snapshots.checksum(layers)));
    values.add(Codecs.MODEL_SNAPSHOT.encode(deep));
    expected.merge(SnapshotRejection.ARCHITECTURE, 1, Integer::sum);

    values.add(
        header(
            Codecs.MODEL_SNAPSHOT,
            0x0A,
            'm',
            'n',
            'i',
            's',
            't',
            0x0E,
            0x00,
            0x02,
            'r',
            0xEE,
            0xFF,
            0xFF,
            0xFF,
            0x0F)); // declares 2,147,483,639 layers in 25 bytes
    expected.merge(SnapshotRejection.UNDECODABLE, 1, Integer::sum);

    ModelSnapshot other = copy(good);
    other.setModelId("someone-else");
    other.setVersion(good.getVersion() + 5);
    values.add(Codecs.MODEL_SNAPSHOT.encode(other));
    expected.merge(SnapshotRejection.MODEL_ID_MISMATCH, 1, Integer::sum);

    Map<String, Object> props = new HashMap<>(kafka.clientProperties());
    props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 4 * 1024 * 1024);
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
      for (byte[] value : values) {
        producer
            .send(new ProducerRecord<>(topic, utf8(good.getModelId()), value))
            .get(1, TimeUnit.MINUTES);
      }
      // keyed by another model: not this scorer's, skipped without a count
      producer
          .send(new ProducerRecord<>(topic, utf8("other-model"), values.get(0)))
          .get(1, TimeUnit.MINUTES);
    }
    return expected;
  }

  private static ModelSnapshot copy(ModelSnapshot s) {
    return Codecs.MODEL_SNAPSHOT.decode(Codecs.MODEL_SNAPSHOT.encode(s));
  }

  // --- what is read back
  // ---------------------------------------------------------------------------------------

  private static List<ConsumerRecord<byte[], byte[]>> committed(String topic) {
    return kafka.readToEnd(topic);
  }

  private static List<ModelSnapshot> snapshotsOn(String topic) {
    return committed(topic).stream()
        .filter(r -> r.key() != null && "mnist".equals(new String(r.key(), StandardCharsets.UTF_8)))
        .map(
            r -> {
              try {
                return Codecs.MODEL_SNAPSHOT.decode(r.value());
              } catch (RuntimeException bad) {
                return null;
              }
            })
        .filter(s -> s != null && "mnist".equals(s.getModelId()))
        .toList();
  }

  /** The learner's newest snapshot (the highest version in range, decodable, of model mnist). */
  private static ModelSnapshot newestSnapshot(String topic) {
    return snapshotsOn(topic).stream()
        .filter(s -> s.getVersion() <= Snapshots.MAX_VERSION)
        .max((a, b) -> Long.compare(a.getVersion(), b.getVersion()))
        .orElse(null);
  }

  /** The newest snapshot that a scorer can serve. */
  private static ModelSnapshot newestValid(String topic) {
    ModelSnapshot best = null;
    for (ModelSnapshot s : snapshotsOn(topic)) {
      try {
        Snapshots.toNetwork(s, null);
      } catch (RuntimeException invalid) {
        continue;
      }
      if (s.getVersion() <= Snapshots.MAX_VERSION
          && (best == null || s.getVersion() > best.getVersion())) {
        best = s;
      }
    }
    return best;
  }

  private static Set<String> predictedIds(String topic) {
    Set<String> ids = new HashSet<>();
    for (ConsumerRecord<byte[], byte[]> r : committed(topic)) {
      Prediction p = Codecs.PREDICTION.decode(r.value());
      ids.add(p.getImageId());
    }
    return ids;
  }

  /**
   * Every dead letter names a reason of the contract, the service and where it came from; counts by
   * reason.
   */
  private static Map<String, Integer> assertDeadLetters(
      List<ConsumerRecord<byte[], byte[]>> letters, String service, String sourceTopic) {
    Set<String> reasons =
        EnumSet.allOf(PayloadError.class).stream().map(Enum::name).collect(Collectors.toSet());
    Map<String, Integer> byReason = new TreeMap<>();
    int truncated = 0;
    for (ConsumerRecord<byte[], byte[]> r : letters) {
      String reason = DeadLetter.header(r.headers(), DeadLetter.REASON);
      assertTrue(reasons.contains(reason), "dead letter without a contract reason: " + reason);
      assertEquals(service, DeadLetter.header(r.headers(), DeadLetter.SERVICE));
      assertEquals(sourceTopic, DeadLetter.header(r.headers(), DeadLetter.SOURCE_TOPIC));
      assertTrue(DeadLetter.header(r.headers(), DeadLetter.DETAIL) != null);
      byReason.merge(reason, 1, Integer::sum);
      truncated += DeadLetter.header(r.headers(), DeadLetter.TRUNCATED) != null ? 1 : 0;
    }
    assertEquals(
        NEAR_LIMIT_PER_TOPIC,
        truncated,
        "each record near the size limit is cut to fit, and says so");
    return byReason;
  }

  private static double total(MeterRegistry registry, String counter) {
    return registry.find(counter).counters().stream().mapToDouble(Counter::count).sum();
  }

  private static Map<SnapshotRejection, Double> rejections(MeterRegistry registry) {
    Map<SnapshotRejection, Double> out = new TreeMap<>();
    for (Counter c : registry.find("streamlearn.scorer.snapshots.rejected").counters()) {
      out.put(SnapshotRejection.valueOf(c.getId().getTag("reason")), c.count());
    }
    return out;
  }

  private static Map<SnapshotRejection, Integer> rejectionsSince(
      MeterRegistry registry, Map<SnapshotRejection, Double> before) {
    Map<SnapshotRejection, Integer> out = new TreeMap<>();
    rejections(registry)
        .forEach(
            (reason, count) -> {
              int since = (int) (count - before.getOrDefault(reason, 0.0));
              if (since > 0) {
                out.put(reason, since);
              }
            });
    return out;
  }

  // --- configuration and bytes
  // ---------------------------------------------------------------------------------

  private static LearnerSettings.Config learnerConfig(
      String applicationId, String trainTopic, String snapshots, String dlq, Path dir) {
    return LearnerSettings.builder()
        .set(LearnerSettings.BOOTSTRAP_SERVERS, kafka.bootstrapServers())
        .set(LearnerSettings.APPLICATION_ID, applicationId)
        .set(LearnerSettings.TRAINING_TOPIC, trainTopic)
        .set(LearnerSettings.SNAPSHOT_TOPIC, snapshots)
        .set(LearnerSettings.DEAD_LETTER_TOPIC, dlq)
        .set(LearnerSettings.STATE_DIR, dir.resolve("state"))
        .set(LearnerSettings.METRICS_PORT, 0)
        .set(LearnerSettings.SNAPSHOT_INTERVAL, 300L)
        .build();
  }

  private static ScorerSettings.Config scorerConfig(
      String images, String snapshots, String predictions, String dlq) {
    return ScorerSettings.builder()
        .set(ScorerSettings.BOOTSTRAP_SERVERS, kafka.bootstrapServers())
        .set(ScorerSettings.GROUP_ID, RealKafka.uniqueName("poison-scorer"))
        .set(ScorerSettings.SNAPSHOT_TOPIC, snapshots)
        .set(ScorerSettings.IMAGES_TOPIC, images)
        .set(ScorerSettings.PREDICTIONS_TOPIC, predictions)
        .set(ScorerSettings.DEAD_LETTER_TOPIC, dlq)
        .set(ScorerSettings.HTTP_PORT, 0)
        .build();
  }

  private static byte[] header(AvroCodec<?> codec, int... body) {
    byte[] out = new byte[10 + body.length];
    out[0] = (byte) 0xC3;
    out[1] = 0x01;
    ByteBuffer.wrap(out, 2, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(codec.fingerprint());
    for (int i = 0; i < body.length; i++) {
      out[10 + i] = (byte) body[i];
    }
    return out;
  }

  private static byte[] randomBytes(Random random, int n) {
    byte[] out = new byte[n];
    random.nextBytes(out);
    return out;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
