package io.streamlearn.broker;

import io.streamlearn.core.DataDir;
import io.streamlearn.core.config.ConfigException;
import io.streamlearn.core.config.Configuration;
import io.streamlearn.core.config.ServiceCommand;
import io.streamlearn.core.config.Setting;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;

/** {@code ./streamlearn broker}: runs a real single-node KRaft Kafka broker until Ctrl-C. */
public final class BrokerMain {
  static final Setting<Integer> PORT = Setting.integer("port", "Client port.", 9092, 1, 65535);
  static final Setting<Integer> CONTROLLER_PORT =
      Setting.integer("controller-port", "KRaft controller port.", 9093, 1, 65535);
  static final Setting<String> HOST =
      Setting.text("host", "Host name the broker binds and advertises.", "localhost");
  static final Setting<Path> DATA_DIR =
      Setting.path(
          "data-dir",
          "Data folder; the broker keeps its logs in <data-dir>/kafka.",
          DataDir.path().toString());

  private BrokerMain() {}

  public static void main(String[] args) throws InterruptedException {
    ServiceCommand command =
        new ServiceCommand(
            "streamlearn broker",
            "Runs a real single-node Kafka broker (KRaft, broker and controller in one process) until Ctrl-C."
                + " --kafka key=value sets any broker property.",
            List.of(PORT, CONTROLLER_PORT, HOST, DATA_DIR));
    Configuration config;
    try {
      Optional<Configuration> parsed =
          command.parse(args, System.getenv(), new PrintWriter(System.out, true));
      if (parsed.isEmpty()) {
        return;
      }
      config = parsed.get();
    } catch (ConfigException e) {
      System.err.println("broker: " + e.getMessage());
      System.exit(2);
      return;
    }
    int port = config.get(PORT);
    int controllerPort = config.get(CONTROLLER_PORT);
    if (port == controllerPort) {
      System.err.println(
          "broker: invalid value for key 'controller-port': must differ from 'port' ("
              + port
              + ")");
      System.exit(2);
    }
    Path dir = config.get(DATA_DIR).resolve("kafka");
    LocalBroker broker =
        LocalBroker.start(dir, config.get(HOST), port, controllerPort, config.kafkaProperties());
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  broker.close();
                  stopped.countDown();
                },
                "broker-shutdown"));
    System.out.printf(
        "Kafka broker ready at %s (data in %s). Ctrl-C stops it.%n",
        broker.bootstrapServers(), dir);
    stopped.await();
  }
}
