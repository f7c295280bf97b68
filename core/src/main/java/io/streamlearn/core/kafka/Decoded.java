package io.streamlearn.core.kafka;

import io.streamlearn.contract.avro.InvalidPayloadException;

/**
 * A record value as a consumer of a typed topic sees it: decoded, or the reason it did not decode,
 * with the original bytes either way (a dead letter keeps them, a checker may need them).
 *
 * @param raw the bytes on the topic ({@code null} for a tombstone)
 * @param value the decoded record, or {@code null} when it did not decode or was a tombstone
 * @param error why it did not decode, or {@code null}
 */
public record Decoded<V>(byte[] raw, V value, InvalidPayloadException error) {
  /** Whether the value decoded and passed the contract's checks. */
  public boolean valid() {
    return value != null;
  }
}
