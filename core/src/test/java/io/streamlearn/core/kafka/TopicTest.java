package io.streamlearn.core.kafka;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamlearn.contract.ImageEvent;
import io.streamlearn.contract.avro.InvalidPayloadException;
import io.streamlearn.contract.avro.PayloadError;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class TopicTest {
  private static final Topic<ImageEvent> IMAGES = Topics.IMAGES.named("renamed.images");

  private static ImageEvent event() {
    return ImageEvent.newBuilder()
        .setImageId("img-1")
        .setPixels(ByteBuffer.wrap(new byte[784]))
        .setEventTime(Instant.ofEpochMilli(1_700_000_000_000L))
        .setLabel(7)
        .build();
  }

  @Test
  void valuesRoundTripThroughTheCodecAndKeysAreUtf8() {
    byte[] bytes = IMAGES.values().serializer().serialize(IMAGES.name(), event());
    assertArrayEquals(Topics.IMAGES.codec().encode(event()), bytes, "the codec's encoding");
    assertEquals(event(), IMAGES.values().deserializer().deserialize(IMAGES.name(), bytes));
    assertArrayEquals(
        "é-1".getBytes(StandardCharsets.UTF_8),
        IMAGES.keys().serializer().serialize(IMAGES.name(), "é-1"));
  }

  @Test
  void theStrictFormThrowsTheContractsReason() {
    byte[] junk = "not avro".getBytes(StandardCharsets.UTF_8);
    InvalidPayloadException e =
        assertThrows(
            InvalidPayloadException.class,
            () -> IMAGES.values().deserializer().deserialize(IMAGES.name(), junk));
    assertEquals(PayloadError.BAD_MARKER, e.reason());
  }

  @Test
  void decodedOrRawKeepsTheBytesAndTheReason() {
    byte[] good = IMAGES.values().serializer().serialize(IMAGES.name(), event());
    Decoded<ImageEvent> ok = IMAGES.decodedOrRaw().deserialize(IMAGES.name(), good);
    assertTrue(ok.valid());
    assertEquals(event(), ok.value());
    assertArrayEquals(good, ok.raw());

    byte[] junk = "not avro".getBytes(StandardCharsets.UTF_8);
    Decoded<ImageEvent> bad = IMAGES.decodedOrRaw().deserialize(IMAGES.name(), junk);
    assertFalse(bad.valid());
    assertNull(bad.value());
    assertArrayEquals(junk, bad.raw(), "the original bytes, for the dead letter");
    assertEquals(PayloadError.BAD_MARKER, bad.error().reason());

    Decoded<ImageEvent> tombstone = IMAGES.decodedOrRaw().deserialize(IMAGES.name(), null);
    assertFalse(tombstone.valid());
    assertNull(tombstone.raw());
    assertNull(tombstone.error());
  }
}
