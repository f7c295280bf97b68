package io.streamlearn.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.streamlearn.producer.ProducerMain;
import io.streamlearn.testkit.Await;
import io.streamlearn.testkit.RealKafka;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What the container image does, done on the host with the image's own scripts: {@code
 * prepare-native-cache.sh} unpacks ND4J's natives into a cache as root (the image's build step),
 * the cache is made read-only, and the learner starts through {@code entrypoint.sh} as an
 * unprivileged user on that cache, with the image's library layout. It must become ready by {@code
 * healthcheck.sh} (the image's HEALTHCHECK) on the probe paths of the Kubernetes StatefulSet, train
 * on ND4J, and leave the cache exactly as it was.
 */
class NativeCacheIT {
  @RegisterExtension static final RealKafka kafka = new RealKafka();

  private static final Path DOCKER = Tools.ROOT.resolve("deploy/docker");
  private static final int NOBODY = 65534;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private Path work;
  private Process learner;

  @Test
  void learnerStartsAsNonRootOnAReadOnlyNativeCache() throws Exception {
    Assumptions.assumeTrue(
        "root".equals(System.getProperty("user.name")),
        "switching to an unprivileged user needs root; the test runs as "
            + System.getProperty("user.name"));
    String setpriv = Tools.require("setpriv", "util-linux");
    work = Files.createTempDirectory("native-cache-it");
    Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path lib = Files.createDirectories(work.resolve("lib"));
    for (Path jar : runtimeJars("learner")) {
      Files.copy(jar, lib.resolve(jar.getFileName()));
    }
    Path cache = work.resolve("javacpp");
    // The image's layout: its scripts in a bin folder every user can read (a clone may sit in a
    // private folder).
    Path bin = Files.createDirectories(work.resolve("bin"));
    for (String script : List.of("entrypoint.sh", "healthcheck.sh", "prepare-native-cache.sh")) {
      Files.copy(DOCKER.resolve(script), bin.resolve(script));
      Files.setPosixFilePermissions(
          bin.resolve(script), PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    // The image's build step, as root.
    Tools.Run prepared =
        Tools.run(
            List.of(
                bin.resolve("prepare-native-cache.sh").toString(),
                lib.toString(),
                cache.toString(),
                Integer.toString(NOBODY)));
    assertEquals(0, prepared.exitCode(), "prepare-native-cache.sh:\n" + prepared.output());
    List<String> before = listing(cache);
    assertTrue(
        before.stream().anyMatch(f -> f.contains("libnd4jcpu")),
        "no libnd4jcpu in the cache: " + before);
    try (Stream<Path> files = Files.walk(cache)) {
      // Only the top directory is the service group's (JavaCPP uses a cache it may write); nothing
      // inside is.
      List<Path> writable =
          files
              .filter(p -> !p.equals(cache))
              .filter(
                  p -> {
                    try {
                      String perms =
                          PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
                      return perms.charAt(4) == 'w' || perms.charAt(7) == 'w';
                    } catch (IOException e) {
                      throw new IllegalStateException(e);
                    }
                  })
              .toList();
      assertEquals(List.of(), writable, "cache entries writable by group or others");
    }

    // The service, as nobody, through the image's entrypoint.
    Path state = Files.createDirectories(work.resolve("state"));
    Files.setPosixFilePermissions(
        work.resolve("state"), PosixFilePermissions.fromString("rwxrwxrwx"));
    int port = Tools.freePort();
    List<String> command =
        List.of(
            setpriv,
            "--reuid=" + NOBODY,
            "--regid=" + NOBODY,
            "--clear-groups",
            bin.resolve("entrypoint.sh").toString(),
            "io.streamlearn.learner.LearnerMain");
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(work.resolve("learner.log").toFile());
    Map<String, String> env = builder.environment();
    env.clear();
    env.put("PATH", System.getenv("PATH"));
    // Where JavaCPP would unpack everything again if it ignored the cache: both must stay empty.
    Path home = Files.createDirectories(work.resolve("home"));
    Path tmp = Files.createDirectories(work.resolve("tmp"));
    for (Path dir : List.of(home, tmp)) {
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
    }
    env.put("HOME", home.toString());
    env.put("JAVA_OPTS", "-Djava.io.tmpdir=" + tmp + " -Duser.home=" + home);
    env.put("JAVA_HOME", System.getProperty("java.home"));
    env.put("STREAMLEARN_LIB_DIR", lib.toString());
    env.put("JAVACPP_CACHE_DIR", cache.toString());
    env.put("STREAMLEARN_BOOTSTRAP_SERVERS", kafka.bootstrapServers());
    env.put("STREAMLEARN_STATE_DIR", state.resolve("learner-state").toString());
    env.put("STREAMLEARN_METRICS_PORT", Integer.toString(port));
    env.put("STREAMLEARN_TRAINING_TOPIC", "native.train");
    env.put("STREAMLEARN_SNAPSHOT_TOPIC", "native.snapshots");
    env.put("STREAMLEARN_DEAD_LETTER_TOPIC", "native.dlq");
    env.put("STREAMLEARN_PARTITIONS", "1");
    learner = builder.start();

    List<String> probes = probePaths();
    assertTrue(
        probes.contains("/health/ready") && probes.contains("/health/live"),
        "StatefulSet probes: " + probes);
    Path healthcheck = bin.resolve("healthcheck.sh");
    for (String probe : probes) {
      Await.until(
          () ->
              learnerAlive()
                  && Tools.run(List.of(healthcheck.toString(), Integer.toString(port), probe))
                          .exitCode()
                      == 0,
          Duration.ofMinutes(2),
          () -> "healthcheck.sh " + port + " " + probe + " did not pass; learner log:\n" + log());
    }
    // setpriv and the entrypoint exec: the JVM is the started process, now running as nobody
    assertEquals(Integer.toString(NOBODY), uid(learner.pid()), "the learner's uid");
    Tools.Run unknown =
        Tools.run(List.of(healthcheck.toString(), Integer.toString(port), "/health/none"));
    assertEquals(
        1,
        unknown.exitCode(),
        "healthcheck.sh passed a path that answers 404: " + unknown.output());

    // It trains: ND4J's natives load from the read-only cache.
    Map<String, String> producerEnv =
        new TreeMap<>(
            Map.of(
                "STREAMLEARN_BOOTSTRAP_SERVERS",
                kafka.bootstrapServers(),
                "STREAMLEARN_TOPIC",
                "native.train",
                "STREAMLEARN_LIMIT",
                "256",
                "STREAMLEARN_METRICS_PORT",
                "0",
                "STREAMLEARN_PARTITIONS",
                "1",
                "STREAMLEARN_DATA_DIR",
                System.getProperty("streamlearn.data.dir", "data")));
    assertEquals(
        0,
        ProducerMain.run(
            new String[0],
            producerEnv,
            new PrintStream(java.io.OutputStream.nullOutputStream()),
            System.err,
            false));
    Await.until(
        () -> learnerAlive() && samplesTrained(port) >= 256,
        Duration.ofMinutes(2),
        () -> "the learner did not train the 256 samples; log:\n" + log());
    assertEquals(before, listing(cache), "the learner changed the read-only native cache");
    for (Path dir : List.of(home, tmp)) {
      try (Stream<Path> files = Files.walk(dir)) {
        List<String> javacpp =
            files.map(Path::toString).filter(f -> f.contains(".javacpp")).toList();
        assertEquals(
            List.of(), javacpp, "JavaCPP ignored the prepared cache and unpacked into " + dir);
      }
    }

    learner.destroy(); // SIGTERM, as docker stop and Kubernetes send
    assertTrue(
        learner.waitFor(90, TimeUnit.SECONDS), "the learner did not stop within 90 s of SIGTERM");
  }

  @AfterEach
  void cleanUp() throws IOException {
    if (learner != null && learner.isAlive()) {
      learner.destroyForcibly();
    }
    if (work != null) {
      try (Stream<Path> files = Files.walk(work)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  /** The module's jar and its runtime class path, as the image's lib folder holds them. */
  static List<Path> runtimeJars(String module) throws IOException {
    Path target = Tools.ROOT.resolve(module).resolve("target");
    List<Path> jars = new ArrayList<>();
    for (String entry : Files.readString(target.resolve("classpath.txt")).trim().split(":")) {
      jars.add(Path.of(entry));
    }
    try (Stream<Path> files = Files.list(target)) {
      files
          .filter(
              p ->
                  p.getFileName().toString().matches("streamlearn-" + module + "-.*\\.jar")
                      && !p.getFileName().toString().contains("tests"))
          .forEach(jars::add);
    }
    assertTrue(
        jars.stream().anyMatch(p -> p.getFileName().toString().startsWith("streamlearn-" + module)),
        "no module jar in " + target + ": the reactor packages it before the integration tests");
    return jars;
  }

  private static List<String> probePaths() throws IOException {
    List<String> paths = new ArrayList<>();
    ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
    try (MappingIterator<JsonNode> docs =
        yaml.readerFor(JsonNode.class)
            .readValues(Tools.ROOT.resolve("deploy/k8s/learner.yaml").toFile())) {
      while (docs.hasNext()) {
        JsonNode doc = docs.next();
        if ("StatefulSet".equals(doc.path("kind").asText())) {
          for (JsonNode c : doc.path("spec").path("template").path("spec").path("containers")) {
            for (String probe : List.of("livenessProbe", "readinessProbe", "startupProbe")) {
              String path = c.path(probe).path("httpGet").path("path").asText("");
              if (!path.isEmpty() && !paths.contains(path)) {
                paths.add(path);
              }
            }
          }
        }
      }
    }
    return paths;
  }

  private double samplesTrained(int port) {
    try {
      String body =
          http.send(
                  HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                      .timeout(Duration.ofSeconds(10))
                      .build(),
                  HttpResponse.BodyHandlers.ofString())
              .body();
      Matcher m =
          Pattern.compile("(?m)^streamlearn_learner_samples_total\\{[^}]*} (\\S+)$").matcher(body);
      return m.find() ? Double.parseDouble(m.group(1)) : 0;
    } catch (IOException e) {
      return 0;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 0;
    }
  }

  private boolean learnerAlive() {
    if (!learner.isAlive()) {
      throw new AssertionError(
          "the learner exited with " + learner.exitValue() + "; log:\n" + log());
    }
    return true;
  }

  private String log() {
    try {
      String text = Files.readString(work.resolve("learner.log"), StandardCharsets.UTF_8);
      return text.length() > 6000 ? text.substring(text.length() - 6000) : text;
    } catch (IOException e) {
      return e.toString();
    }
  }

  private static String uid(long pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (line.startsWith("Uid:")) {
        return line.split("\\s+")[1];
      }
    }
    return "?";
  }

  private static List<String> listing(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      return files
          .map(
              p -> {
                try {
                  return dir.relativize(p)
                      + " "
                      + (Files.isRegularFile(p)
                          ? Files.size(p) + " " + Files.getLastModifiedTime(p).toMillis()
                          : "dir");
                } catch (IOException e) {
                  throw new IllegalStateException(e);
                }
              })
          .sorted()
          .toList();
    }
  }
}
