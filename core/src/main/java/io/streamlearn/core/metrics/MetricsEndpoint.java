package io.streamlearn.core.metrics;

import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.streamlearn.core.http.HttpService;
import io.streamlearn.core.http.HttpService.Answer;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one meter registry of a process, with JVM metrics bound, served in the Prometheus text format
 * at {@code http://<host>:<port>/metrics} on the service's {@link HttpService}, where the service
 * adds its own routes. Tagged {@code service=<name>}. Port 0 picks a free port.
 */
public final class MetricsEndpoint implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(MetricsEndpoint.class);

  private final PrometheusMeterRegistry registry;
  private final JvmGcMetrics gcMetrics;
  private final HttpService http;

  private MetricsEndpoint(
      PrometheusMeterRegistry registry, JvmGcMetrics gcMetrics, HttpService http) {
    this.registry = registry;
    this.gcMetrics = gcMetrics;
    this.http = http;
  }

  /** Any free port, default limits (tests and benchmarks). */
  public static MetricsEndpoint start(String service, int port) {
    HttpService.Limits any = HttpService.Limits.anyPort("metrics-port");
    return start(
        service,
        new HttpService.Limits(
            any.host(), port, any.portKey(), any.maxConnections(), any.idleTimeout()));
  }

  /**
   * Creates the registry and starts serving it; a service adds its own paths on the same port with
   * {@link #route}.
   *
   * @throws io.streamlearn.core.config.ConfigException naming the port's key when the port cannot
   *     be bound
   */
  public static MetricsEndpoint start(String service, HttpService.Limits limits) {
    return start(service, limits, io.micrometer.core.instrument.Tags.empty());
  }

  /**
   * As {@link #start(String, HttpService.Limits)}, with more tags on every meter (the learner and
   * the scorer tag theirs {@code model=<model id>}, which the alert rules and dashboards group by).
   */
  public static MetricsEndpoint start(
      String service, HttpService.Limits limits, io.micrometer.core.instrument.Tags tags) {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    registry
        .config()
        .commonTags(io.micrometer.core.instrument.Tags.of("service", service).and(tags));
    new ClassLoaderMetrics().bindTo(registry);
    new JvmMemoryMetrics().bindTo(registry);
    JvmGcMetrics gc = new JvmGcMetrics();
    gc.bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    HttpService http;
    try {
      http = HttpService.start(service, limits);
    } catch (RuntimeException e) {
      registry.close();
      gc.close();
      throw e;
    }
    http.route("/metrics", HttpService.Route.inline(exchange -> scrape(exchange, registry)));
    MetricsEndpoint endpoint = new MetricsEndpoint(registry, gc, http);
    log.info("metrics at http://{}:{}/metrics", limits.host(), endpoint.port());
    return endpoint;
  }

  private static Answer scrape(HttpService.Exchange exchange, PrometheusMeterRegistry registry) {
    if (!"GET".equals(exchange.method())) {
      return Answer.text(405, "use GET").withHeader("Allow", "GET");
    }
    return Answer.of(
        200,
        "text/plain; version=0.0.4; charset=utf-8",
        registry.scrape().getBytes(StandardCharsets.UTF_8));
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** Serves {@code route} at exactly {@code path} on this endpoint's port. */
  public void route(String path, HttpService.Route route) {
    http.route(path, route);
  }

  /** Serves {@code route} for every path without a route of its own. */
  public void fallback(HttpService.Route route) {
    http.fallback(route);
  }

  public int port() {
    return http.port();
  }

  @Override
  public void close() {
    http.close();
    gcMetrics.close();
    registry.close();
  }
}
