package io.streamlearn.mnist;

/** MNIST could not be fetched or verified; the message says what to do. */
public final class MnistFetchException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public MnistFetchException(String message) {
    super(message);
  }

  public MnistFetchException(String message, Throwable cause) {
    super(message, cause);
  }
}
