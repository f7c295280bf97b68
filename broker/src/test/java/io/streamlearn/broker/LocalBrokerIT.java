package io.streamlearn.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamlearn.core.kafka.KafkaClients;
import io.streamlearn.core.kafka.TopicAdmin;
import io.streamlearn.core.kafka.TopicAdmin.TopicSpec;
import io.streamlearn.core.kafka.TopicReader;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
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
      try (TopicAdmin topics =
          TopicAdmin.connect(KafkaClients.properties(broker.bootstrapServers(), Map.of()))) {
        topics.ensure(new TopicSpec(topic, 1, (short) 1, Map.of()));
      }
      try (KafkaProducer<String, String> producer =
          new KafkaProducer<>(
              KafkaClients.properties(broker.bootstrapServers(), Map.of()),
              new StringSerializer(),
              new StringSerializer())) {
        producer.send(new ProducerRecord<>(topic, "k", "before restart")).get(30, TimeUnit.SECONDS);
      }
    }
    String clusterId = Files.readString(dir.resolve("logs/meta.properties"));

    try (LocalBroker broker = LocalBroker.start(dir, "localhost", port, controllerPort, Map.of())) {
      assertEquals(
          clusterId, Files.readString(dir.resolve("logs/meta.properties")), "not formatted again");
      List<String> values = readAll(broker.bootstrapServers(), topic);
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
              KafkaClients.properties(broker.bootstrapServers(), Map.of()),
              new StringSerializer(),
              new StringSerializer())) {
        producer.send(new ProducerRecord<>("auto-created", "k", "v")).get(30, TimeUnit.SECONDS);
        assertEquals(4, producer.partitionsFor("auto-created").size());
      }
    }
  }

  private static List<String> readAll(String bootstrap, String topic) {
    List<String> values = new ArrayList<>();
    try (KafkaConsumer<String, String> consumer =
        new KafkaConsumer<>(
            KafkaClients.properties(bootstrap, Map.of()),
            new StringDeserializer(),
            new StringDeserializer())) {
      TopicReader.readToEnd(consumer, topic, Duration.ofSeconds(30), r -> values.add(r.value()));
    }
    return values;
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
