package io.streamlearn.core;

import java.nio.file.Path;

/**
 * The folder every service keeps its files under by default (data sets, broker logs, learner
 * state): system property {@code streamlearn.data.dir} (the launcher sets it), else {@code ./data}.
 */
public final class DataDir {
  private DataDir() {}

  public static Path path() {
    return Path.of(System.getProperty("streamlearn.data.dir", "data"));
  }
}
