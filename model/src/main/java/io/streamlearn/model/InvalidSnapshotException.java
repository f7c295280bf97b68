package io.streamlearn.model;

/**
 * A ModelSnapshot that must not be served; {@link #reason()} is a short code for logs and metrics.
 */
public final class InvalidSnapshotException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Why a snapshot was refused. */
  public enum Reason {
    ARCHITECTURE,
    CHECKSUM,
    NON_FINITE
  }

  private final Reason reason;

  public InvalidSnapshotException(Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
