package io.streamlearn.producer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamlearn.core.config.ConfigException;
import io.streamlearn.producer.ProducerSettings.Config;
import io.streamlearn.producer.ProducerSettings.Mode;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ProducerSettingsTest {
  private static Config parse(Map<String, String> env, String... args) {
    return ProducerSettings.resolve(
        ProducerMain.COMMAND.parse(args, env, new PrintWriter(new StringWriter())).orElseThrow());
  }

  @Test
  void defaultsStreamMnistTrainingSetToTheTrainingTopic() {
    Config c = parse(Map.of());
    assertEquals(Mode.TRAIN, c.mode());
    assertEquals("mnist.train", c.topic());
    assertEquals("train", c.idPrefix());
    assertEquals("mnist-train", c.source());
    assertEquals("localhost:9092", c.bootstrapServers());
    assertEquals(9400, c.metrics().port());
    assertEquals("0.0.0.0", c.metrics().host());
    assertEquals("lz4", c.compression());
    assertTrue(c.withLabels());
  }

  @Test
  void eventsModeWritesTheImagesTopicWithTestSetIds() {
    Config c = parse(Map.of("STREAMLEARN_MODE", "events"), "--no-labels");
    assertEquals(Mode.EVENTS, c.mode());
    assertEquals("mnist.images", c.topic());
    assertEquals("t10k", c.idPrefix());
    assertFalse(c.withLabels());
  }

  @Test
  void userFilesNameTheIdsAndSourceAfterTheImagesFile() {
    Config c =
        parse(Map.of(), "--images", "/x/my-images-idx3-ubyte.gz", "--labels", "/x/my-labels");
    assertEquals(Path.of("/x/my-images-idx3-ubyte.gz"), c.images());
    assertEquals("my-images-idx3-ubyte", c.idPrefix());
    assertEquals("my-images-idx3-ubyte", c.source());
  }

  @Test
  void imagesWithoutLabelsIsRefusedNamingTheMissingKey() {
    ConfigException e =
        assertThrows(ConfigException.class, () -> parse(Map.of(), "--images", "/x/a"));
    assertEquals("labels", e.key());
  }

  @Test
  void unknownCompressionIsRefusedNamingTheKey() {
    ConfigException e =
        assertThrows(ConfigException.class, () -> parse(Map.of(), "--compression", "brotli"));
    assertEquals("compression", e.key());
    assertTrue(e.getMessage().contains("brotli"), e.getMessage());
  }

  @Test
  void kafkaPropertiesPassThroughUntouched() {
    Config c =
        parse(Map.of("STREAMLEARN_KAFKA_SECURITY_PROTOCOL", "SSL"), "--kafka", "linger.ms=20");
    assertEquals(Map.of("security.protocol", "SSL", "linger.ms", "20"), c.kafka());
  }

  @Test
  void aCsvFileNamesTheIdsAndSourceAndKeepsTheLabelColumn() {
    Config c = parse(Map.of(), "--csv", "/x/churn.csv", "--label-column", "churned");
    assertEquals(Path.of("/x/churn.csv"), c.csv());
    assertEquals("churned", c.labelColumn());
    assertEquals("churn", c.idPrefix());
    assertEquals("churn", c.source());
    assertEquals("label", parse(Map.of(), "--csv", "/x/a.csv").labelColumn());
  }

  @Test
  void csvAndImagesTogetherAreRefusedNamingTheKey() {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () -> parse(Map.of(), "--csv", "/x/a.csv", "--images", "/x/i", "--labels", "/x/l"));
    assertEquals("csv", e.key());
  }
}
