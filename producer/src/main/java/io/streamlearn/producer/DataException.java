package io.streamlearn.producer;

/** A data file the producer cannot stream, with a message naming the line and the problem. */
public final class DataException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  DataException(String message) {
    super(message);
  }
}
