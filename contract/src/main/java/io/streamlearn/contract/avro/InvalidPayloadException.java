package io.streamlearn.contract.avro;

/** A payload that breaks the contract: carries the reason code and a human-readable detail. */
public final class InvalidPayloadException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final PayloadError reason;

  public InvalidPayloadException(PayloadError reason, String detail) {
    this(reason, detail, null);
  }

  public InvalidPayloadException(PayloadError reason, String detail, Throwable cause) {
    super(reason + ": " + detail, cause);
    this.reason = reason;
  }

  public PayloadError reason() {
    return reason;
  }

  /** The message without the reason prefix. */
  public String detail() {
    return getMessage().substring(reason.name().length() + 2);
  }
}
