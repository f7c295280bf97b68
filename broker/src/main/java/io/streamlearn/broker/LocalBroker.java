package io.streamlearn.broker;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real single-node Kafka broker in KRaft mode (broker and controller in one process), run from
 * the {@code org.apache.kafka:kafka_2.13} artifacts. Its data lives in {@code <dir>/logs}; the
 * storage is formatted with a fresh cluster id on first start only, so topics and offsets survive
 * restarts. {@code <dir>/server.properties} is rewritten at each start from the ports and the
 * overrides.
 */
public final class LocalBroker implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LocalBroker.class);

  private final KafkaRaftServer server;
  private final String bootstrapServers;
  private final Path dir;

  private LocalBroker(KafkaRaftServer server, String bootstrapServers, Path dir) {
    this.server = server;
    this.bootstrapServers = bootstrapServers;
    this.dir = dir;
  }

  /**
   * Formats the storage if needed and starts the broker.
   *
   * @param dir the broker's folder
   * @param host the host name clients use (advertised)
   * @param port the client port (0 = a free one)
   * @param controllerPort the KRaft controller port (0 = a free one)
   * @param overrides broker properties that replace the defaults below
   */
  public static LocalBroker start(
      Path dir, String host, int port, int controllerPort, Map<String, String> overrides) {
    // The advertised listener must name the real port, so 0 is resolved here rather than by the
    // socket.
    port = port == 0 ? freePort() : port;
    controllerPort = controllerPort == 0 ? freePort() : controllerPort;
    Path logs = dir.resolve("logs");
    Properties props = new Properties();
    props.setProperty("process.roles", "broker,controller");
    props.setProperty("node.id", "1");
    props.setProperty("controller.quorum.voters", "1@" + host + ":" + controllerPort);
    props.setProperty(
        "listeners",
        "PLAINTEXT://" + host + ":" + port + ",CONTROLLER://" + host + ":" + controllerPort);
    props.setProperty("advertised.listeners", "PLAINTEXT://" + host + ":" + port);
    props.setProperty("controller.listener.names", "CONTROLLER");
    props.setProperty("inter.broker.listener.name", "PLAINTEXT");
    props.setProperty("listener.security.protocol.map", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT");
    props.setProperty("log.dirs", logs.toAbsolutePath().toString());
    // One node: internal topics cannot have more than one replica.
    props.setProperty("offsets.topic.replication.factor", "1");
    props.setProperty("transaction.state.log.replication.factor", "1");
    props.setProperty("transaction.state.log.min.isr", "1");
    props.setProperty("share.coordinator.state.topic.replication.factor", "1");
    props.setProperty("share.coordinator.state.topic.min.isr", "1");
    props.setProperty("group.initial.rebalance.delay.ms", "0");
    props.putAll(overrides);
    try {
      Files.createDirectories(logs);
      Path file = dir.resolve("server.properties");
      // Overrides may hold passwords (listener credentials, keystores): the file is readable by its
      // owner alone,
      // from its creation on.
      Files.deleteIfExists(file);
      try {
        Files.createFile(
            file,
            java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
      } catch (UnsupportedOperationException noPosix) {
        Files.createFile(file);
      }
      try (Writer out = Files.newBufferedWriter(file)) {
        props.store(
            out, "written by streamlearn broker at each start; use --kafka key=value to change");
      }
      if (!Files.exists(logs.resolve("meta.properties"))) {
        format(file);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare broker folder " + dir, e);
    }
    KafkaRaftServer server = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
    server.startup();
    String bootstrap = host + ":" + port;
    log.info("Kafka broker running at {} (data in {})", bootstrap, logs);
    return new LocalBroker(server, bootstrap, dir);
  }

  private static int freePort() {
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free port", e);
    }
  }

  private static void format(Path propertiesFile) {
    String clusterId = Uuid.randomUuid().toString();
    ByteArrayOutputStream output = new ByteArrayOutputStream();
    int rc;
    try (PrintStream print = new PrintStream(output, true, StandardCharsets.UTF_8)) {
      rc =
          StorageTool.execute(
              new String[] {"format", "-t", clusterId, "-c", propertiesFile.toString()}, print);
    }
    String text = output.toString(StandardCharsets.UTF_8).strip();
    if (rc != 0) {
      throw new IllegalStateException("formatting the broker storage failed (" + rc + "): " + text);
    }
    log.info("formatted new broker storage, cluster id {}: {}", clusterId, text);
  }

  public String bootstrapServers() {
    return bootstrapServers;
  }

  public Path dir() {
    return dir;
  }

  /** Blocks until the broker has shut down. */
  public void awaitShutdown() {
    server.awaitShutdown();
  }

  /** Stops the broker cleanly and waits for it. */
  @Override
  public void close() {
    server.shutdown();
    server.awaitShutdown();
    log.info("Kafka broker at {} stopped", bootstrapServers);
  }
}
