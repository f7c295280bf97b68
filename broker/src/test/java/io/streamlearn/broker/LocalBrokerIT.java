package io.streamlearn.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The laptop broker of ./streamlearn broker: formats once, serves real clients, keeps its data
 * across restarts.
 */
class LocalBrokerIT {
  @Test
  void formatsOnFirstStartAndKeepsTopicsAndRecordsAcrossARestart(@TempDir Path dir)
      throws Exception {
    int port = freePort();
    int controllerPort = freePort();
    String topic = "persisted";
    try (LocalBroker broker = LocalBroker.start(dir, "localhost", port, controllerPort, Map.of())) {
      assertTrue(Files.exists(dir.resolve("logs/meta.properties")), "storage formatted");
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()))) {
        admin
            .createTopics(List.of(new NewTopic(topic, 1, (short) 1)))
            .all()
            .get(30, TimeUnit.SECONDS);
      }
      try (KafkaProducer<String, String> producer =
          new KafkaProducer<>(
              Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()),
              new StringSerializer(),
              new StringSerializer())) {
        producer.send(new ProducerRecord<>(topic, "k", "before restart")).get(30, TimeUnit.SECONDS);
      }
    }
    String clusterId = Files.readString(dir.resolve("logs/meta.properties"));

    try (LocalBroker broker = LocalBroker.start(dir, "localhost", port, controllerPort, Map.of())) {
      assertEquals(
          clusterId, Files.readString(dir.resolve("logs/meta.properties")), "not formatted again");
      List<String> values = readAll(broker.bootstrapServers(), topic, 1);
      assertEquals(List.of("before restart"), values);
    }
  }

  @Test
  void brokerPropertiesCanBeOverridden(@TempDir Path dir) throws Exception {
    try (LocalBroker broker =
        LocalBroker.start(
            dir, "localhost", freePort(), freePort(), Map.of("num.partitions", "4"))) {
      assertTrue(Files.readString(dir.resolve("server.properties")).contains("num.partitions=4"));
      assertEquals(
          "rw-------",
          java.nio.file.attribute.PosixFilePermissions.toString(
              Files.getPosixFilePermissions(dir.resolve("server.properties"))),
          "overrides may hold passwords: only the owner reads the file");
      try (KafkaProducer<String, String> producer =
          new KafkaProducer<>(
              Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()),
              new StringSerializer(),
              new StringSerializer())) {
        producer.send(new ProducerRecord<>("auto-created", "k", "v")).get(30, TimeUnit.SECONDS);
        assertEquals(4, producer.partitionsFor("auto-created").size());
      }
    }
  }

  private static List<String> readAll(String bootstrap, String topic, int expected) {
    List<String> values = new ArrayList<>();
    try (KafkaConsumer<String, String> consumer =
        new KafkaConsumer<>(
            Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap),
            new StringDeserializer(),
            new StringDeserializer())) {
      TopicPartition tp = new TopicPartition(topic, 0);
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (values.size() < expected && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
          values.add(r.value());
        }
      }
    }
    return values;
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
