package io.streamlearn.core.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * A service's configuration, resolved per key from, highest priority first: command-line flags,
 * environment variables ({@code STREAMLEARN_<KEY>}), a properties file ({@code --config}), the
 * setting's default. Kafka client properties pass through untouched: {@code --kafka key=value},
 * {@code kafka.<key>} in the file, or {@code STREAMLEARN_KAFKA_<KEY>} (underscores read as dots) in
 * the environment.
 *
 * <p>Every value is validated on {@link #get}; a bad one raises {@link ConfigException} naming the
 * key and source.
 */
public final class Configuration {
  private static final String KAFKA_PREFIX = "kafka.";
  private static final String KAFKA_ENV_PREFIX = "STREAMLEARN_KAFKA_";

  /** Where a value came from, for messages and the start-up log line. */
  record Value(String text, String source) {}

  private final Map<String, Setting<?>> settings;
  private final Map<String, Value> values;
  private final Map<String, Value> kafka;
  private final Path configFile;

  private Configuration(
      Map<String, Setting<?>> settings,
      Map<String, Value> values,
      Map<String, Value> kafka,
      Path configFile) {
    this.settings = settings;
    this.values = values;
    this.kafka = kafka;
    this.configFile = configFile;
  }

  /**
   * Resolves every setting.
   *
   * @param settings the service's settings
   * @param flags values given on the command line, by setting name
   * @param kafkaFlags Kafka properties given on the command line
   * @param configFile a properties file, or null
   * @param env the process environment
   */
  public static Configuration resolve(
      List<Setting<?>> settings,
      Map<String, String> flags,
      Map<String, String> kafkaFlags,
      Path configFile,
      Map<String, String> env) {
    Map<String, Setting<?>> byName = new LinkedHashMap<>();
    for (Setting<?> s : settings) {
      if (byName.put(s.name(), s) != null) {
        throw new IllegalArgumentException("setting declared twice: " + s.name());
      }
    }
    Properties file = configFile == null ? new Properties() : readFile(configFile);
    String fileSource = configFile == null ? null : "file " + configFile;

    Map<String, Value> kafka = new TreeMap<>();
    for (String key : file.stringPropertyNames()) {
      if (key.startsWith(KAFKA_PREFIX)) {
        kafka.put(
            key.substring(KAFKA_PREFIX.length()), new Value(file.getProperty(key), fileSource));
      } else if (!byName.containsKey(key)) {
        throw new ConfigException(
            key,
            "unknown key '"
                + key
                + "' in "
                + fileSource
                + ": known keys are "
                + String.join(", ", byName.keySet())
                + ", and kafka.<client property>");
      }
    }
    env.forEach(
        (name, value) -> {
          if (name.startsWith(KAFKA_ENV_PREFIX) && name.length() > KAFKA_ENV_PREFIX.length()) {
            String key =
                name.substring(KAFKA_ENV_PREFIX.length())
                    .toLowerCase(Locale.ROOT)
                    .replace('_', '.');
            kafka.put(key, new Value(value, "environment variable " + name));
          }
        });
    kafkaFlags.forEach((key, value) -> kafka.put(key, new Value(value, "flag --kafka " + key)));

    Map<String, Value> values = new LinkedHashMap<>();
    for (Setting<?> s : settings) {
      Value v;
      if (flags.containsKey(s.name())) {
        v = new Value(flags.get(s.name()), "flag " + s.flag());
      } else if (env.containsKey(s.environmentVariable())) {
        v =
            new Value(
                env.get(s.environmentVariable()),
                "environment variable " + s.environmentVariable());
      } else if (file.containsKey(s.name())) {
        v = new Value(file.getProperty(s.name()), fileSource);
      } else if (s.defaultValue() != null) {
        v = new Value(s.defaultValue(), "default");
      } else {
        continue;
      }
      values.put(s.name(), v);
    }
    Configuration config = new Configuration(byName, values, kafka, configFile);
    for (Setting<?> s : settings) {
      config.find(s); // validate every value now, so a bad one stops the service at start
    }
    return config;
  }

  /** The value of a setting that has a default or is required. */
  public <T> T get(Setting<T> setting) {
    T value = find(setting);
    if (value == null) {
      throw new ConfigException(
          setting.name(),
          "missing value for key '"
              + setting.name()
              + "': set "
              + setting.flag()
              + ", "
              + setting.environmentVariable()
              + " or '"
              + setting.name()
              + "' in the --config file");
    }
    return value;
  }

  /** The value of an optional setting, or null when unset. */
  public <T> T find(Setting<T> setting) {
    if (settings.get(setting.name()) != setting) {
      throw new IllegalArgumentException(
          "setting " + setting.name() + " is not declared by this service");
    }
    Value v = values.get(setting.name());
    if (v == null) {
      return null;
    }
    try {
      return setting.parse(v.text());
    } catch (IllegalArgumentException e) {
      throw new ConfigException(
          setting.name(),
          "invalid value '"
              + (setting.isSecret() ? "****" : v.text())
              + "' for key '"
              + setting.name()
              + "' (from "
              + v.source()
              + "): "
              + e.getMessage());
    }
  }

  /** Kafka client properties to pass through untouched. */
  public Map<String, String> kafkaProperties() {
    Map<String, String> props = new TreeMap<>();
    kafka.forEach((k, v) -> props.put(k, v.text()));
    return props;
  }

  /**
   * One line for the start-up log: every key, its value (secrets masked) and where it came from.
   */
  public String describe() {
    StringBuilder sb = new StringBuilder();
    values.forEach(
        (name, v) -> {
          Setting<?> s = settings.get(name);
          append(sb, name, s.isSecret() ? "****" : v.text(), v.source());
        });
    kafka.forEach(
        (k, v) ->
            append(sb, KAFKA_PREFIX + k, isSecretKafkaKey(k) ? "****" : v.text(), v.source()));
    return sb.toString();
  }

  private static void append(StringBuilder sb, String key, String value, String source) {
    if (sb.length() > 0) {
      sb.append(", ");
    }
    sb.append(key).append('=').append(value).append(" (").append(source).append(')');
  }

  static boolean isSecretKafkaKey(String key) {
    String k = key.toLowerCase(Locale.ROOT);
    return k.contains("password")
        || k.contains("passphrase")
        || k.contains("secret")
        || k.contains("jaas")
        || k.contains("token")
        || k.contains("credential")
        || k.contains("private.key")
        || k.endsWith(".key")
        || k.contains(".key.");
  }

  /**
   * What an operator should hear at start about where secrets are: a secret given as a flag is
   * readable by every local user in {@code /proc/<pid>/cmdline}; a config file holding secrets
   * should be readable by its owner alone.
   */
  public List<String> secretWarnings() {
    List<String> warnings = new java.util.ArrayList<>();
    kafka.forEach(
        (k, v) -> {
          if (isSecretKafkaKey(k) && v.source().startsWith("flag")) {
            warnings.add(
                "kafka."
                    + k
                    + " was given on the command line, where every local user can read it"
                    + " (/proc/<pid>/cmdline): put it in a --config file only you can read (chmod 600) or in the environment"
                    + " variable "
                    + KAFKA_ENV_PREFIX
                    + k.toUpperCase(Locale.ROOT).replace('.', '_'));
          }
        });
    boolean fileHasSecrets =
        configFile != null
            && kafka.entrySet().stream()
                .anyMatch(
                    e -> isSecretKafkaKey(e.getKey()) && e.getValue().source().startsWith("file"));
    if (fileHasSecrets) {
      try {
        java.util.Set<java.nio.file.attribute.PosixFilePermission> perms =
            Files.getPosixFilePermissions(configFile);
        if (perms.stream()
            .anyMatch(p -> p.name().startsWith("GROUP") || p.name().startsWith("OTHERS"))) {
          warnings.add(
              "config file "
                  + configFile
                  + " holds secrets and is readable by others ("
                  + java.nio.file.attribute.PosixFilePermissions.toString(perms)
                  + "): chmod 600 "
                  + configFile);
        }
      } catch (UnsupportedOperationException | java.io.IOException e) {
        // no POSIX permissions here: nothing to check
      }
    }
    return warnings;
  }

  private static Properties readFile(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new ConfigException(
          "config", "config file " + file + " (key 'config') does not exist or is not a file");
    }
    Properties props = new Properties();
    try (Reader reader = Files.newBufferedReader(file)) {
      props.load(reader);
    } catch (IOException | IllegalArgumentException e) {
      throw new ConfigException(
          "config", "cannot read config file " + file + " (key 'config'): " + e.getMessage());
    }
    return props;
  }
}
