package io.streamlearn.core.config;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * One configuration key, declared once: its name, description, default and parser-validator. The
 * same name is the command-line flag ({@code --name}), the environment variable ({@code
 * STREAMLEARN_NAME}, dashes as underscores) and the properties-file key ({@code name}).
 *
 * @param <T> the parsed type
 */
public final class Setting<T> {
  private final String name;
  private final String description;
  private final String defaultValue;
  private final Function<String, T> parser;
  private final boolean isSwitch;
  private final boolean secret;

  private Setting(
      String name,
      String description,
      String defaultValue,
      Function<String, T> parser,
      boolean isSwitch,
      boolean secret) {
    this.name = name;
    this.description = description;
    this.defaultValue = defaultValue;
    this.parser = parser;
    this.isSwitch = isSwitch;
    this.secret = secret;
  }

  public static Setting<String> text(String name, String description, String defaultValue) {
    return new Setting<>(
        name,
        description,
        defaultValue,
        s -> {
          if (s.isBlank()) {
            throw new IllegalArgumentException("must not be empty");
          }
          return s;
        },
        false,
        false);
  }

  /**
   * A text value from a fixed list (for values that are not Java enums, such as Kafka's compression
   * types).
   */
  public static Setting<String> oneOf(
      String name, String description, String defaultValue, List<String> allowed) {
    return new Setting<>(
        name,
        description + " (one of: " + String.join(", ", allowed) + ")",
        defaultValue,
        s -> {
          if (!allowed.contains(s.trim())) {
            throw new IllegalArgumentException("must be one of: " + String.join(", ", allowed));
          }
          return s.trim();
        },
        false,
        false);
  }

  public static Setting<Path> path(String name, String description, String defaultValue) {
    return new Setting<>(
        name,
        description,
        defaultValue,
        s -> {
          if (s.isBlank()) {
            throw new IllegalArgumentException("must be a path");
          }
          return Path.of(s);
        },
        false,
        false);
  }

  public static Setting<Integer> integer(
      String name, String description, Integer defaultValue, int min, int max) {
    return new Setting<>(
        name,
        description,
        str(defaultValue),
        s -> {
          long v = parseLong(s, "an integer");
          checkRange(v, min, max);
          return (int) v;
        },
        false,
        false);
  }

  public static Setting<Long> longInteger(
      String name, String description, Long defaultValue, long min, long max) {
    return new Setting<>(
        name,
        description,
        str(defaultValue),
        s -> {
          long v = parseLong(s, "an integer");
          checkRange(v, min, max);
          return v;
        },
        false,
        false);
  }

  public static Setting<Double> decimal(
      String name, String description, Double defaultValue, double min, double max) {
    return new Setting<>(
        name,
        description,
        str(defaultValue),
        s -> {
          double v;
          try {
            v = Double.parseDouble(s.trim());
          } catch (NumberFormatException e) {
            throw new IllegalArgumentException("must be a number");
          }
          if (!(v >= min && v <= max)) {
            throw new IllegalArgumentException("must be between " + min + " and " + max);
          }
          return v;
        },
        false,
        false);
  }

  /**
   * An on/off switch: {@code --name} and {@code --no-name} on the command line, true/false
   * elsewhere.
   */
  public static Setting<Boolean> onOff(String name, String description, boolean defaultValue) {
    return new Setting<>(
        name,
        description,
        Boolean.toString(defaultValue),
        s -> {
          String v = s.trim().toLowerCase(Locale.ROOT);
          if (v.equals("true") || v.equals("false")) {
            return Boolean.parseBoolean(v);
          }
          throw new IllegalArgumentException("must be true or false");
        },
        true,
        false);
  }

  public static <E extends Enum<E>> Setting<E> choice(
      String name, String description, Class<E> type, E defaultValue) {
    String allowed =
        Arrays.stream(type.getEnumConstants())
            .map(e -> e.name().toLowerCase(Locale.ROOT))
            .collect(Collectors.joining(", "));
    return new Setting<>(
        name,
        description + " (one of: " + allowed + ")",
        defaultValue == null ? null : defaultValue.name().toLowerCase(Locale.ROOT),
        s -> {
          try {
            return Enum.valueOf(type, s.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
          } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("must be one of: " + allowed);
          }
        },
        false,
        false);
  }

  /** The same setting, with its value masked wherever configuration is printed. */
  public Setting<T> secret() {
    return new Setting<>(name, description, defaultValue, parser, isSwitch, true);
  }

  public String name() {
    return name;
  }

  public String description() {
    return description;
  }

  /** The default as text, or null when the setting is optional with no default. */
  public String defaultValue() {
    return defaultValue;
  }

  public boolean isSwitch() {
    return isSwitch;
  }

  public boolean isSecret() {
    return secret;
  }

  public String flag() {
    return "--" + name;
  }

  public String environmentVariable() {
    return "STREAMLEARN_" + name.toUpperCase(Locale.ROOT).replace('-', '_');
  }

  /** Parses and validates a value. */
  T parse(String text) {
    return parser.apply(text);
  }

  private static String str(Object o) {
    return o == null ? null : o.toString();
  }

  private static long parseLong(String s, String what) {
    try {
      return Long.parseLong(s.trim().replace("_", ""));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("must be " + what);
    }
  }

  private static void checkRange(long v, long min, long max) {
    if (v < min || v > max) {
      throw new IllegalArgumentException(
          max == Long.MAX_VALUE || max == Integer.MAX_VALUE
              ? "must be at least " + min
              : "must be between " + min + " and " + max);
    }
  }

  @Override
  public String toString() {
    return name;
  }
}
