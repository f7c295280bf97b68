package io.streamlearn.core.http;

import io.streamlearn.core.config.Configuration;
import io.streamlearn.core.config.Setting;
import java.time.Duration;
import java.util.List;

/** The HTTP settings every service has (beside its own port key), declared once so they agree. */
public final class HttpSettings {
  public static final Setting<String> HOST =
      Setting.text(
          "http-host",
          "Interface the service's HTTP port (metrics, health, API) listens on: 0.0.0.0 for every interface (what a"
              + " container needs), or an address such as 127.0.0.1.",
          "0.0.0.0");
  public static final Setting<Integer> MAX_CONNECTIONS =
      Setting.integer(
          "http-max-connections",
          "Most HTTP connections open at once; beyond it new ones wait until one closes.",
          1024,
          1,
          1_000_000);
  public static final Setting<Long> IDLE_TIMEOUT =
      Setting.longInteger(
          "http-idle-timeout",
          "Milliseconds an HTTP connection may send nothing, in the middle of a request too, before it is closed.",
          10_000L,
          100,
          3_600_000);

  /** The three, in the order the services list them after their port key. */
  public static final List<Setting<?>> ALL = List.of(HOST, MAX_CONNECTIONS, IDLE_TIMEOUT);

  private HttpSettings() {}

  /** The limits of the HTTP port that {@code port} configures. */
  public static HttpService.Limits limits(Configuration c, Setting<Integer> port) {
    return new HttpService.Limits(
        c.get(HOST),
        c.get(port),
        port.name(),
        c.get(MAX_CONNECTIONS),
        Duration.ofMillis(c.get(IDLE_TIMEOUT)));
  }
}
