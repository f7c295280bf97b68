package io.streamlearn.core.config;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A service's configuration given in code (the demo, tests, benchmarks): typed values for its
 * settings and Kafka pass-through properties, resolved and validated exactly as flags are (defaults
 * for the rest, every value checked, errors naming the key), then turned into the service's config
 * record. No flag strings to write and parse again.
 *
 * @param <C> the service's configuration record
 */
public final class ConfigBuilder<C> {
  private final List<Setting<?>> settings;
  private final Function<Configuration, C> resolve;
  private final Map<String, String> values = new LinkedHashMap<>();
  private final Map<String, String> kafka = new LinkedHashMap<>();

  /**
   * @param settings every setting of the service
   * @param resolve the service's own resolution (cross-key checks, derived values)
   */
  public ConfigBuilder(List<Setting<?>> settings, Function<Configuration, C> resolve) {
    this.settings = settings;
    this.resolve = resolve;
  }

  /**
   * Sets {@code setting} to {@code value}.
   *
   * @throws ConfigException naming the key when the value is invalid (as a flag's would be)
   * @throws IllegalArgumentException naming the key when the setting is not the service's, or when
   *     the value does not read back as itself (it would mean something else as a flag)
   */
  public <T> ConfigBuilder<C> set(Setting<T> setting, T value) {
    if (!settings.contains(setting)) {
      throw new IllegalArgumentException(
          "'" + setting.name() + "' is not a setting of this service");
    }
    String text = String.valueOf(value);
    T read;
    try {
      read = setting.parse(text);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(
          setting.name(),
          "invalid value '"
              + (setting.isSecret() ? "****" : text)
              + "' for key '"
              + setting.name()
              + "' (set in code): "
              + e.getMessage());
    }
    if (!read.equals(value)) {
      throw new IllegalArgumentException(
          "value of '" + setting.name() + "' does not read back as itself: " + text);
    }
    values.put(setting.name(), text);
    return this;
  }

  /** Sets a Kafka client property to pass through (as {@code --kafka key=value} would). */
  public ConfigBuilder<C> kafka(String key, String value) {
    kafka.put(key, value);
    return this;
  }

  /** Every Kafka client property of {@code properties} to pass through. */
  public ConfigBuilder<C> kafka(Map<String, String> properties) {
    kafka.putAll(properties);
    return this;
  }

  /**
   * Resolves and validates, as at a service's start.
   *
   * @throws ConfigException naming the key of a value that is invalid
   */
  public C build() {
    return resolve.apply(Configuration.resolve(settings, values, kafka, null, Map.of()));
  }
}
