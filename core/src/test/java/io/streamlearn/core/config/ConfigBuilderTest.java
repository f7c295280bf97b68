package io.streamlearn.core.config;

import static io.streamlearn.core.config.ConfigurationTest.COMPRESSION;
import static io.streamlearn.core.config.ConfigurationTest.IMAGES;
import static io.streamlearn.core.config.ConfigurationTest.MODE;
import static io.streamlearn.core.config.ConfigurationTest.RATE;
import static io.streamlearn.core.config.ConfigurationTest.RATIO;
import static io.streamlearn.core.config.ConfigurationTest.SETTINGS;
import static io.streamlearn.core.config.ConfigurationTest.SHUFFLE;
import static io.streamlearn.core.config.ConfigurationTest.TOPIC;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConfigBuilderTest {
  private static ConfigBuilder<Configuration> builder() {
    return new ConfigBuilder<>(SETTINGS, c -> c);
  }

  @Test
  void typedValuesResolveAsFlagsWouldAndTheRestDefault() {
    Configuration c =
        builder()
            .set(RATE, 250)
            .set(RATIO, 0.25)
            .set(MODE, ConfigurationTest.Mode.DRY_RUN)
            .set(SHUFFLE, false)
            .set(IMAGES, Path.of("/data/images.idx"))
            .set(COMPRESSION, "zstd")
            .kafka("linger.ms", "7")
            .build();
    assertEquals(250, c.get(RATE));
    assertEquals(0.25, c.get(RATIO));
    assertEquals(ConfigurationTest.Mode.DRY_RUN, c.get(MODE));
    assertEquals(false, c.get(SHUFFLE));
    assertEquals(Path.of("/data/images.idx"), c.get(IMAGES));
    assertEquals("zstd", c.get(COMPRESSION));
    assertEquals("mnist.train", c.get(TOPIC), "not set: the default");
    assertEquals(Map.of("linger.ms", "7"), c.kafkaProperties());
  }

  @Test
  void anInvalidValueStopsTheBuildNamingTheKey() {
    ConfigException e = assertThrows(ConfigException.class, () -> builder().set(RATE, 0).build());
    assertEquals("rate", e.key());
    assertTrue(e.getMessage().contains("'0'"), e.getMessage());
  }

  @Test
  void aSettingOfAnotherServiceIsRefused() {
    Setting<Integer> other = Setting.integer("other", "Not this service's.", 1, 0, 9);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> builder().set(other, 3));
    assertTrue(e.getMessage().contains("'other'"), e.getMessage());
  }

  @Test
  void aValueThatWouldReadBackAsAnotherIsRefused() {
    // The parser trims: " zstd" would silently become "zstd" if it went through as text.
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> builder().set(COMPRESSION, " zstd"));
    assertTrue(e.getMessage().contains("'compression'"), e.getMessage());
  }
}
