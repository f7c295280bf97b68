package io.streamlearn.mnist;

import java.nio.file.Path;

/** An IDX file that is not what it should be; the message names the file and the problem. */
public final class IdxFormatException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final transient Path file;

  public IdxFormatException(Path file, String problem) {
    super(file + ": " + problem);
    this.file = file;
  }

  public Path file() {
    return file;
  }
}
