package io.streamlearn.contract.avro;

import static io.streamlearn.contract.avro.AvroContractTest.assertInvalid;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamlearn.contract.ImageEvent;
import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.contract.TrainingSample;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Random;
import java.util.function.Consumer;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.junit.jupiter.api.Test;

/**
 * Length bombs: payloads that declare more than they carry must be refused before Avro allocates
 * what they declare (a 27-byte snapshot declaring 2,147,483,639 layers made the scorer run out of
 * memory at every start).
 */
class PayloadBoundsTest {
  /** A body written with Avro's own encoder primitives, after the codec's header. */
  private static byte[] payload(AvroCodec<?> codec, Consumer<BinaryEncoder> body) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(AvroContractTest.withHeader(codec));
    BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
    body.accept(encoder);
    return out.toByteArray();
  }

  private interface Writes {
    void to(BinaryEncoder e) throws IOException;
  }

  private static Consumer<BinaryEncoder> body(Writes writes) {
    return e -> {
      try {
        writes.to(e);
      } catch (IOException x) {
        throw new UncheckedIOException(x);
      }
    };
  }

  @Test
  void snapshotDeclaringTwoBillionLayersIsTruncatedNotAnOutOfMemoryError() {
    byte[] bomb =
        payload(
            Codecs.MODEL_SNAPSHOT,
            body(
                e -> {
                  e.writeString("mnist");
                  e.writeLong(7); // version
                  e.writeLong(0); // createdAt
                  e.writeString("r");
                  e.writeLong(2_147_483_639L); // layers: the block count, and nothing after it
                }));
    assertTrue(bomb.length < 32, "a payload of a few bytes: " + bomb.length);

    InvalidPayloadException e =
        assertInvalid(PayloadError.TRUNCATED, () -> Codecs.MODEL_SNAPSHOT.decode(bomb));
    assertTrue(e.getMessage().contains("ModelSnapshot.layers"), e.getMessage());
  }

  @Test
  void negativeBlockCountWithHugeSizeIsTruncated() {
    byte[] bomb =
        payload(
            Codecs.MODEL_SNAPSHOT,
            body(
                e -> {
                  e.writeString("mnist");
                  e.writeLong(7);
                  e.writeLong(0);
                  e.writeString("r");
                  e.writeLong(-1_000_000_000L); // a block of a billion items...
                  e.writeLong(12); // ... said to take 12 bytes
                }));
    assertInvalid(PayloadError.TRUNCATED, () -> Codecs.MODEL_SNAPSHOT.decode(bomb));
  }

  @Test
  void pixelsDeclaringTwoGigabytesAreTruncated() {
    byte[] bomb =
        payload(
            Codecs.TRAINING_SAMPLE,
            body(
                e -> {
                  e.writeString("train-1");
                  e.writeInt(3);
                  e.writeLong(
                      Integer.MAX_VALUE - 8); // the bytes' length, with none of them present
                }));
    assertInvalid(PayloadError.TRUNCATED, () -> Codecs.TRAINING_SAMPLE.decode(bomb));
  }

  @Test
  void idDeclaringTwoGigabytesIsTruncated() {
    byte[] bomb = payload(Codecs.IMAGE_EVENT, body(e -> e.writeLong(Integer.MAX_VALUE - 8)));
    assertInvalid(PayloadError.TRUNCATED, () -> Codecs.IMAGE_EVENT.decode(bomb));
  }

  @Test
  void negativeLengthIsMalformed() {
    byte[] bad = payload(Codecs.IMAGE_EVENT, body(e -> e.writeLong(-5)));
    assertInvalid(PayloadError.MALFORMED, () -> Codecs.IMAGE_EVENT.decode(bad));
  }

  @Test
  void varintThatNeverEndsIsMalformed() {
    byte[] bad =
        AvroContractTest.withHeader(
            Codecs.IMAGE_EVENT,
            0xFF,
            0xFF,
            0xFF,
            0xFF,
            0xFF,
            0xFF,
            0xFF,
            0xFF,
            0xFF,
            0xFF,
            0xFF,
            0x01);
    assertInvalid(PayloadError.MALFORMED, () -> Codecs.IMAGE_EVENT.decode(bad));
  }

  @Test
  void unionIndexOutOfRangeIsMalformed() {
    byte[] bad =
        payload(
            Codecs.IMAGE_EVENT,
            body(
                e -> {
                  e.writeString("t10k-1");
                  e.writeBytes(new byte[Codecs.PIXELS]);
                  e.writeLong(0);
                  e.writeInt(7); // label: a union of two branches
                }));
    assertInvalid(PayloadError.MALFORMED, () -> Codecs.IMAGE_EVENT.decode(bad));
  }

  @Test
  void anIdOverTheLimitIsRefusedSoNoPredictionCanOutgrowARecord() {
    ImageEvent event =
        ImageEvent.newBuilder()
            .setImageId("x".repeat(600_000))
            .setPixels(ByteBuffer.wrap(new byte[Codecs.PIXELS]))
            .setEventTime(Instant.EPOCH)
            .setLabel(1)
            .build();
    byte[] encoded = Codecs.IMAGE_EVENT.encode(event);

    InvalidPayloadException e =
        assertInvalid(PayloadError.STRING_TOO_LONG, () -> Codecs.IMAGE_EVENT.decode(encoded));
    assertTrue(e.getMessage().contains("ImageEvent.imageId"), e.getMessage());
  }

  @Test
  void anIdAtTheLimitDecodes() {
    String id =
        "é".repeat(AvroCodec.MAX_STRING_BYTES / 2); // two UTF-8 bytes each: exactly the limit
    TrainingSample sample =
        TrainingSample.newBuilder()
            .setSampleId(id)
            .setLabel(1)
            .setPixels(ByteBuffer.wrap(new byte[Codecs.PIXELS]))
            .setSource("s")
            .setEventTime(Instant.EPOCH)
            .build();
    assertEquals(
        id, Codecs.TRAINING_SAMPLE.decode(Codecs.TRAINING_SAMPLE.encode(sample)).getSampleId());

    sample.setSampleId(id + "x");
    byte[] over = Codecs.TRAINING_SAMPLE.encode(sample);
    assertInvalid(PayloadError.STRING_TOO_LONG, () -> Codecs.TRAINING_SAMPLE.decode(over));
  }

  @Test
  void everyTruncationOfAValidSnapshotIsRefusedWithAReason() {
    byte[] valid = Codecs.MODEL_SNAPSHOT.encode(AvroContractTest.modelSnapshot());
    for (int length = 10; length < valid.length; length++) {
      byte[] cut = java.util.Arrays.copyOf(valid, length);
      InvalidPayloadException e =
          org.junit.jupiter.api.Assertions.assertThrows(
              InvalidPayloadException.class,
              () -> Codecs.MODEL_SNAPSHOT.decode(cut),
              "cut at " + length);
      assertEquals(PayloadError.TRUNCATED, e.reason(), "cut at " + length + ": " + e.getMessage());
    }
  }

  @Test
  void randomBodiesNeverEscapeAsAnythingButATypedError() {
    Random random = new Random(7);
    AvroCodec<?>[] codecs = {
      Codecs.TRAINING_SAMPLE, Codecs.IMAGE_EVENT, Codecs.MODEL_SNAPSHOT, Codecs.PREDICTION
    };
    for (int i = 0; i < 20_000; i++) {
      AvroCodec<?> codec = codecs[i % codecs.length];
      byte[] body = new byte[random.nextInt(64)];
      random.nextBytes(body);
      byte[] payload = payload(codec, body(e -> e.writeFixed(body)));
      try {
        codec.decode(payload);
      } catch (InvalidPayloadException expected) {
        // every refusal is typed; anything else (an OutOfMemoryError, an Avro exception) fails the
        // test
      }
    }
  }

  @Test
  void aValidSnapshotStillDecodes() {
    ModelSnapshot snapshot = AvroContractTest.modelSnapshot();
    assertEquals(snapshot, Codecs.MODEL_SNAPSHOT.decode(Codecs.MODEL_SNAPSHOT.encode(snapshot)));
  }
}
