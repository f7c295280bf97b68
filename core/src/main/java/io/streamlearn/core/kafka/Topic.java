package io.streamlearn.core.kafka;

import io.streamlearn.contract.avro.AvroCodec;
import io.streamlearn.contract.avro.InvalidPayloadException;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

/**
 * A topic of the contract: its name, its keys (UTF-8 strings: the record's id) and the codec of its
 * values, from which its serdes are made. Clients that produce or consume records of the contract
 * take their serializers here: {@link #values()} for the strict form (a value that does not decode
 * throws), {@link #decodedOrRaw()} where a bad record must become a dead letter with its original
 * bytes. The learner's training path reads raw bytes on purpose (it decodes into a reused buffer).
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

  /** Keys: UTF-8 strings. */
  public Serde<String> keys() {
    return Serdes.String();
  }

  /**
   * Values, encoded and decoded by the codec; a value that does not decode throws {@link
   * InvalidPayloadException} (for topics only the services write, such as predictions).
   */
  public Serde<V> values() {
    Serializer<V> serializer = (topic, value) -> value == null ? null : codec.encode(value);
    Deserializer<V> deserializer = (topic, bytes) -> bytes == null ? null : codec.decode(bytes);
    return Serdes.serdeFrom(serializer, deserializer);
  }

  /** Values as {@link Decoded}: the record or the reason it did not decode, and the bytes. */
  public Deserializer<Decoded<V>> decodedOrRaw() {
    return (topic, bytes) -> {
      if (bytes == null) {
        return new Decoded<>(null, null, null);
      }
      try {
        return new Decoded<>(bytes, codec.decode(bytes), null);
      } catch (InvalidPayloadException e) {
        return new Decoded<>(bytes, null, e);
      }
    };
  }

  @Override
  public String toString() {
    return name;
  }
}
