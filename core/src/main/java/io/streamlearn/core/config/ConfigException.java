package io.streamlearn.core.config;

/**
 * A configuration value that is missing or invalid; the message names the key and where the value
 * came from.
 */
public final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final String key;

  public ConfigException(String key, String message) {
    super(message);
    this.key = key;
  }

  /** The offending key, as the user writes it in a properties file. */
  public String key() {
    return key;
  }
}
