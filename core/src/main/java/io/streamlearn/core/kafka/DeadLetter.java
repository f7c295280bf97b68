package io.streamlearn.core.kafka;

import io.streamlearn.core.avro.InvalidPayloadException;
import io.streamlearn.core.avro.PayloadError;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * The one dead-letter format of every service, on {@link Topics#DEAD_LETTERS}: the original key and value bytes,
 * untouched, and headers that say what was wrong and where the record came from.
 */
public final class DeadLetter {
  public static final String REASON = "streamlearn.error.reason";
  public static final String DETAIL = "streamlearn.error.detail";
  public static final String SERVICE = "streamlearn.error.service";
  public static final String SOURCE_TOPIC = "streamlearn.source.topic";
  public static final String SOURCE_PARTITION = "streamlearn.source.partition";
  public static final String SOURCE_OFFSET = "streamlearn.source.offset";

  private DeadLetter() {}

  /** The headers for a record that failed with {@code error}; partition and offset are written as decimal text. */
  public static Headers headers(
      InvalidPayloadException error, String service, String topic, int partition, long offset) {
    return headers(error.reason(), error.detail(), service, topic, partition, offset);
  }

  public static Headers headers(
      PayloadError reason, String detail, String service, String topic, int partition, long offset) {
    RecordHeaders headers = new RecordHeaders();
    headers.add(REASON, utf8(reason.name()));
    headers.add(DETAIL, utf8(detail));
    headers.add(SERVICE, utf8(service));
    headers.add(SOURCE_TOPIC, utf8(topic));
    headers.add(SOURCE_PARTITION, utf8(Integer.toString(partition)));
    headers.add(SOURCE_OFFSET, utf8(Long.toString(offset)));
    return headers;
  }

  /** A dead letter for a record read from {@code topic}/{@code partition}/{@code offset}. */
  public static ProducerRecord<byte[], byte[]> record(
      String deadLetterTopic,
      byte[] key,
      byte[] value,
      InvalidPayloadException error,
      String service,
      String topic,
      int partition,
      long offset) {
    return new ProducerRecord<>(
        deadLetterTopic, null, key, value, headers(error, service, topic, partition, offset));
  }

  /**
   * A dead letter for {@code source}: its key, value and headers as they were, plus the contract's headers saying
   * why and where from.
   */
  public static ProducerRecord<byte[], byte[]> record(
      String deadLetterTopic, ConsumerRecord<byte[], byte[]> source, InvalidPayloadException error, String service) {
    RecordHeaders headers = new RecordHeaders(source.headers().toArray());
    for (Header h : headers(error, service, source.topic(), source.partition(), source.offset())) {
      headers.add(h);
    }
    return new ProducerRecord<>(deadLetterTopic, null, source.key(), source.value(), headers);
  }

  /** The text of a header, or null when absent. */
  public static String header(Headers headers, String name) {
    var header = headers.lastHeader(name);
    return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
