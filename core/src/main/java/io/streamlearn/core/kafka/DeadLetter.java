package io.streamlearn.core.kafka;

import io.streamlearn.contract.avro.InvalidPayloadException;
import io.streamlearn.contract.avro.PayloadError;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * The one dead-letter format of every service, on {@link Topics#DEAD_LETTERS}: the original key and
 * value bytes, untouched, and headers that say what was wrong and where the record came from.
 *
 * <p>A dead letter must fit in a record: a record near Kafka's 1 MiB default limit plus our headers
 * would not, and the service would fail at the same offset at every restart. Past {@link
 * #MAX_BYTES} a dead letter keeps the first bytes of the value (then of the key, then drops the
 * original record's own headers) so that it fits, and says so: {@link #TRUNCATED} names what was
 * cut, {@link #ORIGINAL_SIZE} gives the original value's size.
 */
public final class DeadLetter {
  public static final String REASON = "streamlearn.error.reason";
  public static final String DETAIL = "streamlearn.error.detail";
  public static final String SERVICE = "streamlearn.error.service";
  public static final String SOURCE_TOPIC = "streamlearn.source.topic";
  public static final String SOURCE_PARTITION = "streamlearn.source.partition";
  public static final String SOURCE_OFFSET = "streamlearn.source.offset";

  /**
   * Only on a dead letter cut to fit: what was cut ({@code value}, {@code value,key}, {@code
   * value,key,headers}).
   */
  public static final String TRUNCATED = "streamlearn.error.truncated";

  /** Present only on a dead letter cut to fit: the original value's size in bytes. */
  public static final String ORIGINAL_SIZE = "streamlearn.error.original.size";

  /**
   * The most bytes a dead letter's key, value and headers take together: under the producer's
   * default {@code max.request.size} and the broker's default {@code message.max.bytes} (both about
   * 1 MiB), with room for the record and batch framing.
   */
  public static final int MAX_BYTES = 1_000_000;

  /** The longest detail text kept, in characters. */
  static final int MAX_DETAIL_CHARS = 1000;

  /** Framing counted per header (two varint lengths). */
  private static final int HEADER_FRAMING = 10;

  /** The parts of a dead letter, fitted within {@link #MAX_BYTES}. */
  public record Letter(byte[] key, byte[] value, Headers headers) {}

  private DeadLetter() {}

  /**
   * The headers for a record that failed with {@code error}; partition and offset are written as
   * decimal text.
   */
  public static Headers headers(
      InvalidPayloadException error, String service, String topic, int partition, long offset) {
    return headers(error.reason(), error.detail(), service, topic, partition, offset);
  }

  public static Headers headers(
      PayloadError reason,
      String detail,
      String service,
      String topic,
      int partition,
      long offset) {
    RecordHeaders headers = new RecordHeaders();
    headers.add(REASON, utf8(reason.name()));
    headers.add(
        DETAIL,
        utf8(
            detail.length() > MAX_DETAIL_CHARS
                ? detail.substring(0, MAX_DETAIL_CHARS) + "..."
                : detail));
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
    Letter letter =
        letter(key, value, new RecordHeaders(), error, service, topic, partition, offset);
    return new ProducerRecord<>(
        deadLetterTopic, null, letter.key(), letter.value(), letter.headers());
  }

  /**
   * A dead letter for {@code source}: its key, value and headers as they were, plus the contract's
   * headers saying why and where from.
   */
  public static ProducerRecord<byte[], byte[]> record(
      String deadLetterTopic,
      ConsumerRecord<byte[], byte[]> source,
      InvalidPayloadException error,
      String service) {
    Letter letter =
        letter(
            source.key(),
            source.value(),
            source.headers(),
            error,
            service,
            source.topic(),
            source.partition(),
            source.offset());
    return new ProducerRecord<>(
        deadLetterTopic, null, letter.key(), letter.value(), letter.headers());
  }

  /**
   * The parts of a dead letter for a record with {@code key}, {@code value} and {@code original}
   * headers: those, untouched, plus the contract's headers, or, when that would not fit in {@link
   * #MAX_BYTES}, cut to fit (the value first, then the key, then the original headers dropped),
   * with {@link #TRUNCATED} and {@link #ORIGINAL_SIZE} saying so.
   */
  public static Letter letter(
      byte[] key,
      byte[] value,
      Headers original,
      InvalidPayloadException error,
      String service,
      String topic,
      int partition,
      long offset) {
    Headers ours = headers(error, service, topic, partition, offset);
    RecordHeaders all = new RecordHeaders(original.toArray());
    ours.forEach(all::add);
    long excess = length(key) + length(value) + size(all) - MAX_BYTES;
    if (excess <= 0) {
      return new Letter(key, value, all);
    }
    byte[] sizeText = utf8(Long.toString(length(value)));
    excess +=
        TRUNCATED.length()
            + "value,key,headers".length()
            + ORIGINAL_SIZE.length()
            + sizeText.length
            + 2 * HEADER_FRAMING;
    StringBuilder cut = new StringBuilder("value");
    int valueKept = (int) Math.max(0, length(value) - excess);
    excess -= length(value) - valueKept;
    byte[] keptValue = value == null ? null : Arrays.copyOf(value, valueKept);
    byte[] keptKey = key;
    if (excess > 0 && key != null) {
      int keyKept = (int) Math.max(0, key.length - excess);
      excess -= key.length - keyKept;
      keptKey = Arrays.copyOf(key, keyKept);
      cut.append(",key");
    }
    Headers headers = all;
    if (excess > 0) {
      headers = new RecordHeaders(ours.toArray());
      cut.append(",headers");
    }
    headers.add(TRUNCATED, utf8(cut.toString()));
    headers.add(ORIGINAL_SIZE, sizeText);
    return new Letter(keptKey, keptValue, headers);
  }

  private static long length(byte[] bytes) {
    return bytes == null ? 0 : bytes.length;
  }

  private static long size(Headers headers) {
    long bytes = 0;
    for (Header h : headers) {
      bytes += utf8(h.key()).length + length(h.value()) + HEADER_FRAMING;
    }
    return bytes;
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
