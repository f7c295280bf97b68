package io.streamlearn.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamlearn.broker.LocalBroker;
import io.streamlearn.core.kafka.KafkaClients;
import io.streamlearn.producer.ProducerMain;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pipeline against a broker that requires TLS and SASL/SCRAM-SHA-512 on its client listener,
 * configured only through standard Kafka client properties in a 0600 {@code --config} file: the
 * demo (producer, learner, scorer, predictions reader) runs through it, and a client with a wrong
 * password is refused without its password showing anywhere. The certificates are made by the test
 * with the JDK's {@code keytool}; nothing is committed.
 */
class SecureClusterIT {
  private static final String USER = "streamlearn";
  private static final String PASSWORD = "correct-horse-battery";
  private static final String STORE_PASSWORD = "store-secret";

  @Test
  void thePipelineRunsOverTlsAndScramAndAWrongPasswordIsRefused(@TempDir Path dir)
      throws Exception {
    Path keystore = dir.resolve("broker.p12");
    Path truststore = dir.resolve("truststore.p12");
    certificates(dir, keystore, truststore);
    int plain = freePort();
    int secure = freePort();
    int controller = freePort();
    Map<String, String> overrides =
        new TreeMap<>(
            Map.of(
                "listeners",
                "PLAINTEXT://localhost:"
                    + plain
                    + ",SASL_SSL://localhost:"
                    + secure
                    + ",CONTROLLER://localhost:"
                    + controller,
                "advertised.listeners",
                "PLAINTEXT://localhost:" + plain + ",SASL_SSL://localhost:" + secure,
                "listener.security.protocol.map",
                "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL",
                "sasl.enabled.mechanisms",
                "SCRAM-SHA-512",
                "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config",
                "org.apache.kafka.common.security.scram.ScramLoginModule required;",
                "ssl.keystore.location",
                keystore.toString(),
                "ssl.keystore.type",
                "PKCS12",
                "ssl.keystore.password",
                STORE_PASSWORD,
                "ssl.key.password",
                STORE_PASSWORD));
    // The broker talks to itself on PLAINTEXT (inter-broker listener, localhost only); clients use
    // SASL_SSL.
    try (LocalBroker broker =
        LocalBroker.start(dir.resolve("kafka"), "localhost", plain, controller, overrides)) {
      try (Admin admin = Admin.create(KafkaClients.properties("localhost:" + plain, Map.of()))) {
        admin
            .alterUserScramCredentials(
                List.of(
                    new UserScramCredentialUpsertion(
                        USER,
                        new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096),
                        PASSWORD)))
            .all()
            .get(30, TimeUnit.SECONDS);
      }
      String bootstrap = "localhost:" + secure;
      Path good = clientConfig(dir.resolve("client.properties"), truststore, PASSWORD);
      Path bad = clientConfig(dir.resolve("wrong.properties"), truststore, "wrong-password");

      ByteArrayOutputStream err = new ByteArrayOutputStream();
      int refused =
          ProducerMain.run(
              new String[] {
                "--bootstrap-servers",
                bootstrap,
                "--config",
                bad.toString(),
                "--topic",
                "secure.refused",
                "--limit",
                "10",
                "--metrics-port",
                "0",
                "--no-progress"
              },
              Map.of(),
              new PrintStream(OutputStream.nullOutputStream()),
              new PrintStream(err, true, StandardCharsets.UTF_8),
              false);
      String message = err.toString(StandardCharsets.UTF_8);
      assertNotEquals(0, refused, "a client with a wrong password must be refused: " + message);
      assertTrue(message.toLowerCase().contains("authentication"), message);
      assertFalse(
          message.contains("wrong-password") || message.contains(PASSWORD),
          "no password in " + message);

      // The demo, its every client configured from the file's kafka.* keys, as ./streamlearn demo
      // --config would.
      Map<String, String> kafka = kafkaProperties(good);
      ByteArrayOutputStream console = new ByteArrayOutputStream();
      Demo.Summary summary;
      try (Demo demo =
          new Demo(
              new Demo.Options(
                  1,
                  false,
                  bootstrap,
                  0,
                  0,
                  0,
                  20_000,
                  dir.resolve("work"),
                  kafka,
                  Demo.Data.MNIST),
              new PrintStream(console, true, StandardCharsets.UTF_8))) {
        summary = demo.run();
      }
      System.out.printf(
          "[SecureClusterIT] over SASL_SSL + SCRAM-SHA-512: %d trained, %d test images predicted,"
              + " accuracy %.4f; a wrong password: exit %d, \"%s\"%n",
          summary.samplesTrained(),
          summary.imagesPredicted(),
          summary.testAccuracy(),
          refused,
          message.strip());
      assertEquals(60_000, summary.samplesTrained());
      assertEquals(10_000, summary.imagesPredicted());
      assertTrue(summary.testAccuracy() >= 0.945, "accuracy " + summary.testAccuracy());
      assertFalse(
          console.toString(StandardCharsets.UTF_8).contains(PASSWORD),
          "no password on the console");
    }
  }

  /** A 0600 properties file of kafka.* client keys, as the README shows. */
  private static Path clientConfig(Path file, Path truststore, String password) throws Exception {
    Files.createFile(
        file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(
        file,
        String.join(
            "\n",
            "kafka.security.protocol=SASL_SSL",
            "kafka.sasl.mechanism=SCRAM-SHA-512",
            "kafka.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
                + USER
                + "\" password=\""
                + password
                + "\";",
            "kafka.ssl.truststore.location=" + truststore,
            "kafka.ssl.truststore.type=PKCS12",
            "kafka.ssl.truststore.password=" + STORE_PASSWORD,
            ""));
    return file;
  }

  private static Map<String, String> kafkaProperties(Path file) throws Exception {
    Properties props = new Properties();
    try (var in = Files.newBufferedReader(file)) {
      props.load(in);
    }
    Map<String, String> kafka = new TreeMap<>();
    for (String key : props.stringPropertyNames()) {
      kafka.put(key.substring("kafka.".length()), props.getProperty(key));
    }
    return kafka;
  }

  /**
   * A self-signed broker certificate for localhost, and a truststore holding it (the JDK's
   * keytool).
   */
  private static void certificates(Path dir, Path keystore, Path truststore) throws Exception {
    String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
    Path certificate = dir.resolve("broker.crt");
    run(
        dir,
        keytool,
        "-genkeypair",
        "-alias",
        "broker",
        "-keyalg",
        "RSA",
        "-keysize",
        "2048",
        "-validity",
        "2",
        "-dname",
        "CN=localhost",
        "-ext",
        "SAN=dns:localhost,ip:127.0.0.1",
        "-keystore",
        keystore.toString(),
        "-storetype",
        "PKCS12",
        "-storepass",
        STORE_PASSWORD,
        "-keypass",
        STORE_PASSWORD);
    run(
        dir,
        keytool,
        "-exportcert",
        "-rfc",
        "-alias",
        "broker",
        "-keystore",
        keystore.toString(),
        "-storepass",
        STORE_PASSWORD,
        "-file",
        certificate.toString());
    run(
        dir,
        keytool,
        "-importcert",
        "-noprompt",
        "-alias",
        "broker",
        "-file",
        certificate.toString(),
        "-keystore",
        truststore.toString(),
        "-storetype",
        "PKCS12",
        "-storepass",
        STORE_PASSWORD);
  }

  private static void run(Path dir, String... command) throws Exception {
    Process p =
        new ProcessBuilder(new ArrayList<>(List.of(command)))
            .directory(dir.toFile())
            .redirectErrorStream(true)
            .start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(2, TimeUnit.MINUTES), "keytool did not finish");
    assertEquals(0, p.exitValue(), String.join(" ", command) + ": " + output);
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
