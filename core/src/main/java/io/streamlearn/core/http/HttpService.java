package io.streamlearn.core.http;

import io.streamlearn.core.config.ConfigException;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Function;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.ConnectionLimit;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP server of a service, on Jetty 12 (its core API, no servlets): one port, routes by exact
 * path, and limits that keep it answering whatever clients do.
 *
 * <ul>
 *   <li>Request lines and headers are parsed by Jetty's selector without holding a thread, and
 *       bodies are read asynchronously: a client that sends half a request and stalls holds a
 *       connection, never a thread, and is closed after the idle timeout.
 *   <li>At most {@code maxConnections} connections are open; beyond that Jetty stops accepting
 *       until one closes.
 *   <li>A route that reads a body reads at most its {@code maxBodyBytes} (a larger one is answered
 *       413 without reading further) and may run on an executor of its own with a bounded queue, so
 *       a saturated predict path cannot delay {@code /health/*} or {@code /metrics}, which answer
 *       on Jetty's own pool; when that executor refuses, the route's {@code busy} answer (503) goes
 *       out at once.
 *   <li>Nothing of an unexpected failure reaches the client: a 500 says only "internal error", the
 *       log has the rest.
 * </ul>
 *
 * <p>Why Jetty: a well-kept server with non-blocking parsing, idle timeouts, connection limits and
 * a bounded pool built in, that runs on Java 17 (Undertow 2.3 would too; Helidon 4 needs Java 21).
 * {@code com.sun.net.httpserver}, used before, reads requests on its worker threads with no
 * timeout: four stalled clients blocked every endpoint.
 */
public final class HttpService implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HttpService.class);

  /**
   * Where and how much; {@code portKey} is the configuration key named when the port cannot be
   * bound.
   */
  public record Limits(
      String host, int port, String portKey, int maxConnections, Duration idleTimeout) {
    /** Any free port on every interface, with the default limits (tests, benchmarks). */
    public static Limits anyPort(String portKey) {
      return new Limits("0.0.0.0", 0, portKey, 1024, Duration.ofSeconds(10));
    }

    /** Every interface when the host is blank, 0.0.0.0 or *. */
    boolean wildcard() {
      return host.isBlank() || host.equals("0.0.0.0") || host.equals("*");
    }
  }

  /**
   * A request as a route sees it: the body is read completely (or found too large) before the route
   * runs.
   */
  public record Exchange(
      String method, String path, HttpFields headers, byte[] body, boolean bodyTooLarge) {
    /** The first value of a request header, or null. */
    public String header(String name) {
      return headers.get(name);
    }
  }

  /** A complete answer. */
  public record Answer(int status, String contentType, byte[] body, Map<String, String> headers) {
    public static Answer of(int status, String contentType, byte[] body) {
      return new Answer(status, contentType, body, Map.of());
    }

    public static Answer text(int status, String text) {
      return of(status, "text/plain; charset=utf-8", text.getBytes(StandardCharsets.UTF_8));
    }

    public Answer withHeader(String name, String value) {
      Map<String, String> more = new java.util.LinkedHashMap<>(headers);
      more.put(name, value);
      return new Answer(status, contentType, body, Map.copyOf(more));
    }
  }

  /**
   * What to do at a path: {@code handler} answers; {@code maxBodyBytes} 0 reads no body; {@code
   * executor} null runs the handler on Jetty's thread (cheap answers only); {@code busy} is sent
   * when the executor refuses.
   */
  public record Route(
      Function<Exchange, Answer> handler, int maxBodyBytes, Executor executor, Answer busy) {
    /** A cheap answer without a body, on Jetty's own threads (health, metrics). */
    public static Route inline(Function<Exchange, Answer> handler) {
      return new Route(handler, 0, null, null);
    }
  }

  private final Server server;
  private final ServerConnector connector;
  private final Map<String, Route> routes = new ConcurrentHashMap<>();
  private volatile Route fallback =
      Route.inline(e -> Answer.text(404, "no such path: " + e.path()));

  private HttpService(Server server, ServerConnector connector) {
    this.server = server;
    this.connector = connector;
  }

  /**
   * Starts serving (no routes yet: every path answers 404 until {@link #route} adds one).
   *
   * @throws ConfigException naming {@code portKey} when the port cannot be bound
   */
  public static HttpService start(String service, Limits limits) {
    QueuedThreadPool pool = new QueuedThreadPool(16, 2, 60_000);
    pool.setName(service + "-http");
    pool.setDaemon(true); // never what keeps a stopped service's JVM alive
    Server server = new Server(pool);
    HttpConfiguration protocol = new HttpConfiguration();
    protocol.setSendServerVersion(false);
    protocol.setRequestHeaderSize(8 * 1024);
    ServerConnector connector =
        new ServerConnector(server, 1, 1, new HttpConnectionFactory(protocol));
    connector.setHost(limits.wildcard() ? null : limits.host());
    connector.setPort(limits.port());
    connector.setIdleTimeout(limits.idleTimeout().toMillis());
    server.addConnector(connector);
    server.addBean(new ConnectionLimit(limits.maxConnections(), connector));
    HttpService http = new HttpService(server, connector);
    server.setHandler(http.new Dispatch());
    try {
      server.start();
    } catch (Exception e) {
      try {
        server.stop();
      } catch (Exception ignored) {
        // the start failure is what matters
      }
      throw new ConfigException(
          limits.portKey(),
          "cannot serve HTTP on "
              + (limits.wildcard() ? "*" : limits.host())
              + ":"
              + limits.port()
              + " (key '"
              + limits.portKey()
              + "', host from key 'http-host'): "
              + e.getMessage());
    }
    return http;
  }

  /** Serves {@code route} at exactly {@code path}. */
  public void route(String path, Route route) {
    routes.put(path, route);
  }

  /** Serves {@code route} for every path without a route of its own (404 by default). */
  public void fallback(Route route) {
    this.fallback = route;
  }

  public int port() {
    return connector.getLocalPort();
  }

  public InetSocketAddress address() {
    return new InetSocketAddress(
        connector.getHost() == null ? "0.0.0.0" : connector.getHost(), port());
  }

  @Override
  public void close() {
    try {
      server.stop();
    } catch (Exception e) {
      log.warn("stopping the HTTP server on port {} failed", port(), e);
    }
  }

  /**
   * Routes a request, reads its body if the route wants one, runs the route where it says, writes
   * the answer.
   */
  private final class Dispatch extends Handler.Abstract {
    @Override
    public boolean handle(Request request, Response response, Callback callback) {
      String path = request.getHttpURI().getPath();
      Route route = routes.getOrDefault(path == null ? "" : path, fallback);
      String method = request.getMethod();
      if (route.maxBodyBytes() <= 0) {
        run(
            route,
            new Exchange(method, path, request.getHeaders(), new byte[0], false),
            response,
            callback);
        return true;
      }
      long declared = request.getHeaders().getLongField(HttpHeader.CONTENT_LENGTH);
      if (declared > route.maxBodyBytes()) {
        run(
            route,
            new Exchange(method, path, request.getHeaders(), new byte[0], true),
            response,
            callback);
        return true;
      }
      new BodyReader(
              request,
              route.maxBodyBytes(),
              (body, tooLarge) ->
                  run(
                      route,
                      new Exchange(method, path, request.getHeaders(), body, tooLarge),
                      response,
                      callback),
              callback)
          .read();
      return true;
    }
  }

  private void run(Route route, Exchange exchange, Response response, Callback callback) {
    if (route.executor() == null) {
      answer(route, exchange, response, callback);
      return;
    }
    try {
      route.executor().execute(() -> answer(route, exchange, response, callback));
    } catch (RejectedExecutionException full) {
      write(route.busy(), response, callback);
    }
  }

  private static void answer(Route route, Exchange exchange, Response response, Callback callback) {
    Answer answer;
    try {
      answer = route.handler().apply(exchange);
    } catch (RuntimeException e) {
      log.error("HTTP {} {} failed", exchange.method(), exchange.path(), e);
      answer = Answer.text(500, "internal error");
    }
    write(answer, response, callback);
  }

  private static void write(Answer answer, Response response, Callback callback) {
    response.setStatus(answer.status());
    HttpFields.Mutable headers = response.getHeaders();
    headers.put(new HttpField(HttpHeader.CONTENT_TYPE, answer.contentType()));
    answer.headers().forEach(headers::put);
    response.write(true, ByteBuffer.wrap(answer.body()), callback);
  }

  /** What to do with a body read completely, or found larger than allowed. */
  private interface BodyDone {
    void accept(byte[] body, boolean tooLarge);
  }

  /**
   * Reads a request body without blocking a thread: each chunk as it arrives, and when none is
   * there yet, a demand that calls back once one is. Stops at {@code max} bytes: what is beyond is
   * never read.
   */
  private static final class BodyReader {
    private final Request request;
    private final int max;
    private final BodyDone done;
    private final Callback callback;
    private final ByteArrayOutputStream body = new ByteArrayOutputStream();

    BodyReader(Request request, int max, BodyDone done, Callback callback) {
      this.request = request;
      this.max = max;
      this.done = done;
      this.callback = callback;
    }

    void read() {
      while (true) {
        Content.Chunk chunk = request.read();
        if (chunk == null) {
          request.demand(this::read);
          return;
        }
        if (Content.Chunk.isFailure(chunk)) {
          callback.failed(
              chunk.getFailure()); // the client went away or timed out: nobody to answer
          return;
        }
        ByteBuffer bytes = chunk.getByteBuffer();
        boolean tooLarge = body.size() + bytes.remaining() > max;
        if (!tooLarge) {
          byte[] part = new byte[bytes.remaining()];
          bytes.get(part);
          body.write(part, 0, part.length);
        }
        boolean last = chunk.isLast();
        chunk.release();
        if (tooLarge) {
          done.accept(new byte[0], true);
          return;
        }
        if (last) {
          done.accept(body.toByteArray(), false);
          return;
        }
      }
    }
  }
}
