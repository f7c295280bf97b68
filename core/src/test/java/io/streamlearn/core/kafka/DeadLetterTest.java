package io.streamlearn.core.kafka;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.streamlearn.core.avro.InvalidPayloadException;
import io.streamlearn.core.avro.PayloadError;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

class DeadLetterTest {
  private static final byte[] KEY = {'t', '1', '0', 'k', '-', '3'};
  private static final byte[] VALUE = {(byte) 0xC3, 0x01, 0x00, (byte) 0xFF, (byte) 0x80, 0x7F, 0x00};

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
    InvalidPayloadException error = new InvalidPayloadException(PayloadError.BAD_MARKER, "starts with 00 FF");

    ProducerRecord<byte[], byte[]> record =
        DeadLetter.record(Topics.DEAD_LETTERS.name(), key, value, error, "scorer", "mnist.images", 2, 1234L);

    assertEquals("mnist.dlq", record.topic());
    assertNull(record.partition(), "the producer's partitioner picks the partition");
    assertArrayEquals(KEY, record.key());
    assertArrayEquals(VALUE, record.value());
    assertSame(value, record.value());
  }

  @Test
  void recordCarriesAllSixHeadersWithTheDocumentedNamesAndValues() {
    InvalidPayloadException error =
        new InvalidPayloadException(PayloadError.BAD_PIXEL_COUNT, "pixels has 783 bytes, expected 784");

    ProducerRecord<byte[], byte[]> record =
        DeadLetter.record("mnist.dlq", KEY, VALUE, error, "learner", "mnist.train", 7, 9_876_543_210L);

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
    InvalidPayloadException error = new InvalidPayloadException(PayloadError.BAD_LABEL, "label is 10, expected 0-9");

    Headers headers = DeadLetter.headers(error, "producer", "mnist.train", 0, 0L);

    assertEquals("label is 10, expected 0-9", DeadLetter.header(headers, DeadLetter.DETAIL));
    assertEquals("BAD_LABEL", DeadLetter.header(headers, DeadLetter.REASON));
    assertEquals("0", DeadLetter.header(headers, DeadLetter.SOURCE_PARTITION));
    assertEquals("0", DeadLetter.header(headers, DeadLetter.SOURCE_OFFSET));
  }

  @Test
  void nonAsciiDetailIsWrittenAsUtf8() {
    Headers headers =
        DeadLetter.headers(PayloadError.MALFORMED, "Größe ≠ 784", "scorer", "mnist.images", 1, Long.MAX_VALUE);

    assertArrayEquals("Größe ≠ 784".getBytes(StandardCharsets.UTF_8),
        headers.lastHeader(DeadLetter.DETAIL).value());
    assertEquals("Größe ≠ 784", DeadLetter.header(headers, DeadLetter.DETAIL));
    assertEquals(Long.toString(Long.MAX_VALUE), DeadLetter.header(headers, DeadLetter.SOURCE_OFFSET));
  }

  @Test
  void headerOfAnAbsentNameIsNull() {
    assertNull(DeadLetter.header(new RecordHeaders(), DeadLetter.REASON));
  }
}
