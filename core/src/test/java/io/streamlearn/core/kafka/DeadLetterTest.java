package io.streamlearn.core.kafka;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamlearn.contract.avro.InvalidPayloadException;
import io.streamlearn.contract.avro.PayloadError;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

class DeadLetterTest {
  private static final byte[] KEY = {'t', '1', '0', 'k', '-', '3'};
  private static final byte[] VALUE = {
    (byte) 0xC3, 0x01, 0x00, (byte) 0xFF, (byte) 0x80, 0x7F, 0x00
  };

  private static Map<String, String> headerMap(Headers headers) {
    Map<String, String> out = new LinkedHashMap<>();
    for (Header h : headers) {
      out.put(h.key(), new String(h.value(), StandardCharsets.UTF_8));
    }
    return out;
  }

  @Test
  void recordKeepsKeyAndValueBytesUntouched() {
    byte[] key = KEY.clone();
    byte[] value = VALUE.clone();
    InvalidPayloadException error =
        new InvalidPayloadException(PayloadError.BAD_MARKER, "starts with 00 FF");

    ProducerRecord<byte[], byte[]> record =
        DeadLetter.record(
            Topics.DEAD_LETTERS.name(), key, value, error, "scorer", "mnist.images", 2, 1234L);

    assertEquals("mnist.dlq", record.topic());
    assertNull(record.partition(), "the producer's partitioner picks the partition");
    assertArrayEquals(KEY, record.key());
    assertArrayEquals(VALUE, record.value());
    assertSame(value, record.value());
  }

  @Test
  void recordCarriesAllSixHeadersWithTheDocumentedNamesAndValues() {
    InvalidPayloadException error =
        new InvalidPayloadException(
            PayloadError.BAD_PIXEL_COUNT, "pixels has 783 bytes, expected 784");

    ProducerRecord<byte[], byte[]> record =
        DeadLetter.record(
            "mnist.dlq", KEY, VALUE, error, "learner", "mnist.train", 7, 9_876_543_210L);

    Map<String, String> expected = new LinkedHashMap<>();
    expected.put("streamlearn.error.reason", "BAD_PIXEL_COUNT");
    expected.put("streamlearn.error.detail", "pixels has 783 bytes, expected 784");
    expected.put("streamlearn.error.service", "learner");
    expected.put("streamlearn.source.topic", "mnist.train");
    expected.put("streamlearn.source.partition", "7");
    expected.put("streamlearn.source.offset", "9876543210");
    assertEquals(expected, headerMap(record.headers()));
    assertEquals(6, record.headers().toArray().length, "each header exactly once");
  }

  @Test
  void headerConstantsHaveTheDocumentedNames() {
    assertEquals("streamlearn.error.reason", DeadLetter.REASON);
    assertEquals("streamlearn.error.detail", DeadLetter.DETAIL);
    assertEquals("streamlearn.error.service", DeadLetter.SERVICE);
    assertEquals("streamlearn.source.topic", DeadLetter.SOURCE_TOPIC);
    assertEquals("streamlearn.source.partition", DeadLetter.SOURCE_PARTITION);
    assertEquals("streamlearn.source.offset", DeadLetter.SOURCE_OFFSET);
  }

  @Test
  void detailHeaderHoldsTheDetailWithoutTheReasonPrefix() {
    InvalidPayloadException error =
        new InvalidPayloadException(PayloadError.BAD_LABEL, "label is 10, expected 0-9");

    Headers headers = DeadLetter.headers(error, "producer", "mnist.train", 0, 0L);

    assertEquals("label is 10, expected 0-9", DeadLetter.header(headers, DeadLetter.DETAIL));
    assertEquals("BAD_LABEL", DeadLetter.header(headers, DeadLetter.REASON));
    assertEquals("0", DeadLetter.header(headers, DeadLetter.SOURCE_PARTITION));
    assertEquals("0", DeadLetter.header(headers, DeadLetter.SOURCE_OFFSET));
  }

  @Test
  void nonAsciiDetailIsWrittenAsUtf8() {
    Headers headers =
        DeadLetter.headers(
            PayloadError.MALFORMED, "Größe ≠ 784", "scorer", "mnist.images", 1, Long.MAX_VALUE);

    assertArrayEquals(
        "Größe ≠ 784".getBytes(StandardCharsets.UTF_8),
        headers.lastHeader(DeadLetter.DETAIL).value());
    assertEquals("Größe ≠ 784", DeadLetter.header(headers, DeadLetter.DETAIL));
    assertEquals(
        Long.toString(Long.MAX_VALUE), DeadLetter.header(headers, DeadLetter.SOURCE_OFFSET));
  }

  @Test
  void headerOfAnAbsentNameIsNull() {
    assertNull(DeadLetter.header(new RecordHeaders(), DeadLetter.REASON));
  }

  // --- dead letters that would not fit in a record
  // -----------------------------------------------------------------

  private static final InvalidPayloadException TOO_BIG =
      new InvalidPayloadException(PayloadError.MALFORMED, "body does not decode");

  private static long size(DeadLetter.Letter letter) {
    long bytes = (letter.key() == null ? 0 : letter.key().length) + letter.value().length;
    for (Header h : letter.headers()) {
      bytes += h.key().getBytes(StandardCharsets.UTF_8).length + h.value().length + 10;
    }
    return bytes;
  }

  private static byte[] filled(int n) {
    byte[] out = new byte[n];
    for (int i = 0; i < n; i++) {
      out[i] = (byte) (i * 31);
    }
    return out;
  }

  @Test
  void aValueNearTheRecordLimitIsCutToFitAndSaysSo() {
    byte[] value = filled(1_048_000);
    RecordHeaders original = new RecordHeaders();
    original.add("trace", "abc".getBytes(StandardCharsets.UTF_8));

    DeadLetter.Letter letter =
        DeadLetter.letter(KEY, value, original, TOO_BIG, "scorer", "mnist.images", 0, 5);

    assertTrue(size(letter) <= DeadLetter.MAX_BYTES, "dead letter of " + size(letter) + " bytes");
    assertArrayEquals(KEY, letter.key(), "the key fits and is kept");
    assertTrue(
        letter.value().length > 900_000,
        "as much of the value as fits is kept: " + letter.value().length);
    assertArrayEquals(
        Arrays.copyOf(value, letter.value().length), letter.value(), "a prefix of the original");
    assertEquals("value", DeadLetter.header(letter.headers(), DeadLetter.TRUNCATED));
    assertEquals("1048000", DeadLetter.header(letter.headers(), DeadLetter.ORIGINAL_SIZE));
    assertEquals(
        "abc", DeadLetter.header(letter.headers(), "trace"), "the record's own headers are kept");
    assertEquals("MALFORMED", DeadLetter.header(letter.headers(), DeadLetter.REASON));
  }

  @Test
  void aHugeKeyIsCutAfterTheValue() {
    DeadLetter.Letter letter =
        DeadLetter.letter(
            filled(1_040_000),
            filled(5_000),
            new RecordHeaders(),
            TOO_BIG,
            "learner",
            "mnist.train",
            1,
            2);

    assertTrue(size(letter) <= DeadLetter.MAX_BYTES, "dead letter of " + size(letter) + " bytes");
    assertEquals(0, letter.value().length);
    assertEquals("value,key", DeadLetter.header(letter.headers(), DeadLetter.TRUNCATED));
    assertEquals("5000", DeadLetter.header(letter.headers(), DeadLetter.ORIGINAL_SIZE));
  }

  @Test
  void hugeOriginalHeadersAreDroppedLast() {
    RecordHeaders original = new RecordHeaders();
    original.add("blob", filled(1_030_000));

    DeadLetter.Letter letter =
        DeadLetter.letter(KEY, VALUE, original, TOO_BIG, "scorer", "mnist.images", 0, 9);

    assertTrue(size(letter) <= DeadLetter.MAX_BYTES, "dead letter of " + size(letter) + " bytes");
    assertNull(letter.headers().lastHeader("blob"));
    assertEquals("value,key,headers", DeadLetter.header(letter.headers(), DeadLetter.TRUNCATED));
    assertEquals("mnist.images", DeadLetter.header(letter.headers(), DeadLetter.SOURCE_TOPIC));
  }

  @Test
  void aLetterThatFitsCarriesNoTruncationHeaders() {
    DeadLetter.Letter letter =
        DeadLetter.letter(
            KEY, filled(900_000), new RecordHeaders(), TOO_BIG, "scorer", "mnist.images", 0, 1);

    assertEquals(900_000, letter.value().length);
    assertNull(letter.headers().lastHeader(DeadLetter.TRUNCATED));
    assertNull(letter.headers().lastHeader(DeadLetter.ORIGINAL_SIZE));
  }
}
