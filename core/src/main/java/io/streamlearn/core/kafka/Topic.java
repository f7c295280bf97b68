package io.streamlearn.core.kafka;

import io.streamlearn.contract.avro.AvroCodec;
import org.apache.avro.specific.SpecificRecord;

/**
 * A topic of the contract: its name, and the codec of its values. Keys are always UTF-8 strings
 * (the record's id).
 *
 * @param name the topic name
 * @param codec the value codec, or {@code null} for the dead-letter topic, whose values are the
 *     original bytes
 */
public record Topic<V extends SpecificRecord>(String name, AvroCodec<V> codec) {
  /** The same topic under another name (for deployments that prefix or rename topics). */
  public Topic<V> named(String otherName) {
    return new Topic<>(otherName, codec);
  }

  @Override
  public String toString() {
    return name;
  }
}
