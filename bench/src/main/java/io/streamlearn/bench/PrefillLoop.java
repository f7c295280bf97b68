package io.streamlearn.bench;

import io.streamlearn.broker.LocalBroker;
import io.streamlearn.contract.TrainingSample;
import io.streamlearn.contract.avro.Codecs;
import io.streamlearn.core.FileTrees;
import io.streamlearn.core.kafka.KafkaClients;
import io.streamlearn.mnist.MnistDataset;
import io.streamlearn.mnist.MnistFetcher;
import io.streamlearn.producer.ProducerSettings;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Repeats the benchmark's pre-fill of a new multi-partition topic, on an in-process broker with the
 * CPU kept busy, two ways side by side: (a) what the producer did before: create the topic, wait
 * until metadata shows it, then send with the producer's settings; (b) {@code ./streamlearn
 * produce} as it is now, which creates the topic and waits until every partition's leader serves
 * it. (a) can lose its first batch per partition to KAFKA-15591 (OUT_OF_ORDER_SEQUENCE_NUMBER until
 * the batch expires); (b) must never lose one. Prints, per way, the runs that lost records and the
 * records lost. Usage: {@code ./streamlearn benchmark-prefill [runs] [records] [partitions]}.
 */
public final class PrefillLoop {
  private PrefillLoop() {}

  public static void main(String[] args) throws Exception {
    int runs = args.length > 0 ? Integer.parseInt(args[0]) : 20;
    int records = args.length > 1 ? Integer.parseInt(args[1]) : 30_000;
    int partitions = args.length > 2 ? Integer.parseInt(args[2]) : 6;
    MnistDataset train = MnistDataset.train(MnistFetcher.ensureDefault());
    Thread spinner = new Thread(PrefillLoop::spin, "cpu-load");
    spinner.setDaemon(true);
    spinner.start(); // a loaded machine widens the window between metadata and a served partition
    Path dir = Files.createTempDirectory("streamlearn-prefill");
    long[] lost = new long[2];
    int[] losingRuns = new int[2];
    List<Double> seconds = new ArrayList<>();
    try (LocalBroker broker = LocalBroker.start(dir.resolve("kafka"), "localhost", 0, 0, Map.of());
        Admin admin = Admin.create(KafkaClients.properties(broker.bootstrapServers(), Map.of()))) {
      String bootstrap = broker.bootstrapServers();
      for (int run = 1; run <= runs; run++) {
        long before =
            metadataOnly(admin, bootstrap, "prefill-a-" + run, partitions, records, train);
        long start = System.nanoTime();
        String topic = "prefill-b-" + run;
        int rc =
            Prefill.run(
                Prefill.training(bootstrap, topic, partitions)
                    .set(ProducerSettings.LIMIT, (long) records)
                    .kafka("delivery.timeout.ms", "20000")
                    .kafka("request.timeout.ms", "10000"));
        seconds.add((System.nanoTime() - start) / 1e9);
        long now = records - onTopic(admin, topic, partitions);
        System.out.printf(
            "run %d: (a) metadata only lost %d, (b) produce lost %d (exit code %d)%n",
            run, before, now, rc);
        lost[0] += before;
        lost[1] += now;
        losingRuns[0] += before > 0 ? 1 : 0;
        losingRuns[1] += now > 0 || rc != 0 ? 1 : 0;
      }
    } finally {
      FileTrees.delete(dir);
    }
    seconds.sort(null);
    System.out.println();
    System.out.printf(
        "| pre-fill of a new %d-partition topic, %d records, %d runs | runs losing records "
            + "| records lost |%n",
        partitions, records, runs);
    System.out.println("|---|---:|---:|");
    System.out.printf(
        "| (a) send once metadata shows the topic (before) | %d | %d |%n", losingRuns[0], lost[0]);
    System.out.printf(
        "| (b) ./streamlearn produce (waits until every partition is served; median %.2f s) "
            + "| %d | %d |%n",
        seconds.get(seconds.size() / 2), losingRuns[1], lost[1]);
  }

  /**
   * Way (a): create, wait for metadata only, send with the producer's settings; the records not
   * acknowledged.
   */
  private static long metadataOnly(
      Admin admin, String bootstrap, String topic, int partitions, int records, MnistDataset train)
      throws Exception {
    admin
        .createTopics(List.of(new NewTopic(topic, partitions, (short) 1)))
        .all()
        .get(30, TimeUnit.SECONDS);
    while (!admin.listTopics().names().get(30, TimeUnit.SECONDS).contains(topic)) {
      Thread.sleep(20);
    }
    Map<String, Object> props = new HashMap<>();
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true); // the producer's settings (Streamer)
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
    props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    props.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
    props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 20_000);
    props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
    AtomicLong failed = new AtomicLong();
    AtomicReference<String> first = new AtomicReference<>();
    try (KafkaProducer<String, byte[]> producer =
        new KafkaProducer<>(
            KafkaClients.properties(bootstrap, props, Map.of()),
            new StringSerializer(),
            new ByteArraySerializer())) {
      for (int i = 0; i < records; i++) {
        int row = i % train.size();
        byte[] value =
            Codecs.TRAINING_SAMPLE.encode(
                TrainingSample.newBuilder()
                    .setSampleId("train-" + row)
                    .setLabel(train.label(row))
                    .setPixels(ByteBuffer.wrap(train.pixels(row)))
                    .setSource("prefill")
                    .setEventTime(Instant.now())
                    .build());
        producer.send(
            new ProducerRecord<>(topic, "train-" + row, value),
            (m, e) -> {
              if (e != null) {
                failed.incrementAndGet();
                first.compareAndSet(null, e.toString());
              }
            });
      }
      producer.flush();
    }
    if (first.get() != null) {
      System.out.println("  (a) " + topic + ": " + first.get());
    }
    return failed.get();
  }

  private static long onTopic(Admin admin, String topic, int partitions) throws Exception {
    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    for (int p = 0; p < partitions; p++) {
      latest.put(new TopicPartition(topic, p), OffsetSpec.latest());
    }
    return admin.listOffsets(latest).all().get(30, TimeUnit.SECONDS).values().stream()
        .mapToLong(info -> info.offset())
        .sum();
  }

  private static void spin() {
    long x = 0;
    while (true) {
      x += System.nanoTime() % 7;
      if (x == 42) {
        System.out.print("");
      }
    }
  }
}
