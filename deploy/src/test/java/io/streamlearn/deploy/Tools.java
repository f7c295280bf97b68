package io.streamlearn.deploy;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The real tools the deploy tests run (Debian packages {@code prometheus} and {@code
 * docker-compose}, which {@code .ci/run} installs), and the repository they check. Where a tool is
 * missing the test is skipped with the reason printed; with {@code CI=true} a missing tool fails
 * the test instead, so CI can never pass by skipping.
 */
final class Tools {
  /** The repository root (the parent of this module's folder). */
  static final Path ROOT = Path.of(System.getProperty("user.dir")).toAbsolutePath().getParent();

  private Tools() {}

  /** The tool's path, or the test stops here: skipped with the reason, or failed under CI. */
  static String require(String tool, String debianPackage) {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
      Path candidate = Path.of(dir, tool);
      if (Files.isExecutable(candidate)) {
        return candidate.toString();
      }
    }
    String reason =
        tool + " is not installed (Debian package " + debianPackage + "; .ci/run installs it)";
    if ("true".equalsIgnoreCase(System.getenv("CI"))) {
      throw new AssertionError(
          reason + ", and CI=true: a missing tool fails the build, it never skips it");
    }
    System.out.println("[deploy] SKIPPED: " + reason);
    Assumptions.abort(reason);
    return null;
  }

  /**
   * A port free now (for a service the test starts next and a scrape config that must name it
   * first).
   */
  static int freePort() throws IOException {
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  record Run(int exitCode, String output) {}

  /**
   * Runs a command in the repository root; returns its exit code and its output (stdout and
   * stderr).
   */
  static Run run(List<String> command) throws IOException, InterruptedException {
    Path out = Files.createTempFile("deploy-tool", ".log");
    try {
      Process p =
          new ProcessBuilder(new ArrayList<>(command))
              .directory(ROOT.toFile())
              .redirectErrorStream(true)
              .redirectOutput(out.toFile())
              .start();
      assertTrue(p.waitFor(5, TimeUnit.MINUTES), "timed out after 5 minutes: " + command);
      return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(out);
    }
  }
}
