package io.streamlearn.learner;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The learner as a separate JVM (the test's class path), so a test can SIGKILL it: no shutdown hook
 * runs.
 */
final class LearnerProcess implements AutoCloseable {
  private final Process process;

  private LearnerProcess(Process process) {
    this.process = process;
  }

  /**
   * The command line of a learner of {@code applicationId} training on {@code train}, with its
   * state under {@code dir}, a fresh dead-letter topic, metrics on any port and snapshots every 300
   * ms: what the kill tests start and kill.
   */
  static List<String> args(
      String bootstrap, String applicationId, String train, String snapshots, Path dir) {
    return List.of(
        "--bootstrap-servers",
        bootstrap,
        "--application-id",
        applicationId,
        "--training-topic",
        train,
        "--snapshot-topic",
        snapshots,
        "--dead-letter-topic",
        io.streamlearn.testkit.RealKafka.uniqueName("dlq"),
        "--state-dir",
        dir.resolve("state").toString(),
        "--metrics-port",
        "0",
        "--snapshot-interval",
        "300");
  }

  /** Starts {@code LearnerMain} with {@code args}, appending its output to {@code log}. */
  static LearnerProcess start(List<String> args, Path log) throws Exception {
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:G1HeapRegionSize=8m",
                "-Dstreamlearn.data.dir=" + System.getProperty("streamlearn.data.dir", "data"),
                "-cp",
                System.getProperty("java.class.path"),
                LearnerMain.class.getName()));
    command.addAll(args);
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    builder.environment().put("OMP_NUM_THREADS", "1");
    return new LearnerProcess(builder.start());
  }

  /** SIGKILL, and wait until the process is gone. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      throw new AssertionError("the learner did not die within 60 s of SIGKILL");
    }
  }

  /** SIGTERM (the shutdown hook closes the learner cleanly), and wait until it has exited. */
  void stop() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(2, TimeUnit.MINUTES)) {
      throw new AssertionError("the learner did not stop within 2 minutes of SIGTERM");
    }
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      process.destroy();
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
  }
}
