package io.streamlearn.contract.avro;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamlearn.contract.Activation;
import io.streamlearn.contract.DenseLayer;
import io.streamlearn.contract.FeatureSpec;
import io.streamlearn.contract.ImageEvent;
import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.contract.Prediction;
import io.streamlearn.contract.TrainingSample;
import io.streamlearn.contract.TransformKind;
import io.streamlearn.contract.WeightsKind;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class AvroContractTest {
  private static final Instant T0 = Instant.ofEpochMilli(1_700_000_000_123L);

  // --- sample records
  // ---------------------------------------------------------------------------------------------

  static byte[] pixels(int n) {
    byte[] out = new byte[n];
    for (int i = 0; i < n; i++) {
      out[i] = (byte) (i * 7 + 3);
    }
    return out;
  }

  static TrainingSample trainingSample(int label, int pixelCount) {
    return TrainingSample.newBuilder()
        .setSampleId("train-42")
        .setLabel(label)
        .setPixels(ByteBuffer.wrap(pixels(pixelCount)))
        .setSource("mnist-train")
        .setEventTime(T0)
        .build();
  }

  static ImageEvent imageEvent(Integer label) {
    return ImageEvent.newBuilder()
        .setImageId("t10k-7")
        .setPixels(ByteBuffer.wrap(pixels(Codecs.PIXELS)))
        .setEventTime(T0.plusMillis(5))
        .setLabel(label)
        .build();
  }

  static byte[] floats(float... values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : values) {
      b.putFloat(v);
    }
    return b.array();
  }

  static ModelSnapshot modelSnapshot() {
    DenseLayer hidden =
        DenseLayer.newBuilder()
            .setInputs(3)
            .setOutputs(2)
            .setActivation(Activation.RELU)
            .setWeights(ByteBuffer.wrap(floats(0.1f, -0.2f, 0.3f, -0.4f, 0.5f, -0.6f)))
            .setBias(ByteBuffer.wrap(floats(0.01f, -0.02f)))
            .build();
    DenseLayer output =
        DenseLayer.newBuilder()
            .setInputs(2)
            .setOutputs(2)
            .setActivation(Activation.SOFTMAX)
            .setWeights(ByteBuffer.wrap(floats(1f, 2f, 3f, 4f)))
            .setBias(ByteBuffer.wrap(floats(-1f, 1f)))
            .build();
    return ModelSnapshot.newBuilder()
        .setModelId("mnist-mlp")
        .setVersion(17L)
        .setCreatedAt(T0)
        .setRunId("run-abc")
        .setLayers(List.of(hidden, output))
        .setWeightsKind(WeightsKind.EMA)
        .setInputScale(1f / 255f)
        .setChecksum(ByteBuffer.wrap(pixels(32)))
        .setSamplesSeen(60_000L)
        .setBatchesSeen(938L)
        .setPrequentialAccuracy(0.9731)
        .setPrequentialLoss(0.0875)
        .build();
  }

  static Prediction prediction(int probabilityCount) {
    List<Float> probabilities = new ArrayList<>();
    for (int i = 0; i < probabilityCount; i++) {
      probabilities.add(i == 7 ? 0.91f : 0.01f);
    }
    return Prediction.newBuilder()
        .setImageId("t10k-0")
        .setDigit(7)
        .setProbabilities(probabilities)
        .setModelId("mnist-mlp")
        .setModelVersion(17L)
        .setSnapshotCreatedAt(T0)
        .setEventTime(T0.plusMillis(1))
        .setScoredAt(T0.plusMillis(2))
        .setLabel(7)
        .build();
  }

  // --- helpers
  // ----------------------------------------------------------------------------------------------------

  static byte[] littleEndian(long value) {
    return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(value).array();
  }

  /** Encodes, checks the single-object header, decodes and compares. */
  static <T extends SpecificRecord> void assertRoundTrip(AvroCodec<T> codec, T record) {
    byte[] bytes = codec.encode(record);

    assertTrue(bytes.length > 10, "header plus body");
    assertEquals((byte) 0xC3, bytes[0]);
    assertEquals((byte) 0x01, bytes[1]);
    long header = ByteBuffer.wrap(bytes, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    assertTrue(
        codec.releasedVersions().stream()
            .anyMatch(v -> SchemaNormalization.parsingFingerprint64(v) == header),
        "written with a released version");

    T decoded = codec.decode(bytes);
    assertEquals(record, decoded);
    assertEquals(codec.type(), decoded.getClass());
  }

  static InvalidPayloadException assertInvalid(PayloadError reason, Executable decode) {
    InvalidPayloadException e = assertThrows(InvalidPayloadException.class, decode);
    assertEquals(reason, e.reason(), e.getMessage());
    assertTrue(e.getMessage().startsWith(reason.name() + ": "), e.getMessage());
    assertEquals(e.getMessage().substring(reason.name().length() + 2), e.detail());
    return e;
  }

  /** A payload with the codec's header and an arbitrary body. */
  static byte[] withHeader(AvroCodec<?> codec, int... body) {
    byte[] out = new byte[10 + body.length];
    out[0] = (byte) 0xC3;
    out[1] = 0x01;
    System.arraycopy(littleEndian(codec.fingerprint()), 0, out, 2, 8);
    for (int i = 0; i < body.length; i++) {
      out[10 + i] = (byte) body[i];
    }
    return out;
  }

  // --- round trips
  // ------------------------------------------------------------------------------------------------

  @Test
  void trainingSampleRoundTrips() {
    assertRoundTrip(Codecs.TRAINING_SAMPLE, trainingSample(3, Codecs.PIXELS));
  }

  @Test
  void trainingSamplePixelsKeepUnsignedValues() {
    byte[] pixels = new byte[Codecs.PIXELS];
    pixels[0] = (byte) 255;
    pixels[783] = (byte) 128;
    TrainingSample sample = trainingSample(0, 0);
    sample.setPixels(ByteBuffer.wrap(pixels));

    TrainingSample decoded = Codecs.TRAINING_SAMPLE.decode(Codecs.TRAINING_SAMPLE.encode(sample));

    ByteBuffer buffer = decoded.getPixels();
    byte[] back = new byte[buffer.remaining()];
    buffer.duplicate().get(back);
    assertArrayEquals(pixels, back);
    assertEquals(255, back[0] & 0xff);
  }

  @Test
  void imageEventWithLabelRoundTrips() {
    assertRoundTrip(Codecs.IMAGE_EVENT, imageEvent(4));
  }

  @Test
  void imageEventWithNullLabelRoundTrips() {
    ImageEvent event = imageEvent(null);
    assertRoundTrip(Codecs.IMAGE_EVENT, event);
    assertNull(Codecs.IMAGE_EVENT.decode(Codecs.IMAGE_EVENT.encode(event)).getLabel());
  }

  @Test
  void modelSnapshotWithTwoLayersRoundTrips() {
    ModelSnapshot snapshot = modelSnapshot();
    assertRoundTrip(Codecs.MODEL_SNAPSHOT, snapshot);

    ModelSnapshot decoded = Codecs.MODEL_SNAPSHOT.decode(Codecs.MODEL_SNAPSHOT.encode(snapshot));
    assertEquals(2, decoded.getLayers().size());
    assertEquals(Activation.RELU, decoded.getLayers().get(0).getActivation());
    assertEquals(Activation.SOFTMAX, decoded.getLayers().get(1).getActivation());
    assertEquals(WeightsKind.EMA, decoded.getWeightsKind());
    assertEquals(T0, decoded.getCreatedAt());
  }

  @Test
  void modelSnapshotWithoutPrequentialMetricsRoundTrips() {
    ModelSnapshot snapshot = modelSnapshot();
    snapshot.setPrequentialAccuracy(null);
    snapshot.setPrequentialLoss(null);
    assertRoundTrip(Codecs.MODEL_SNAPSHOT, snapshot);
  }

  @Test
  void predictionRoundTrips() {
    assertRoundTrip(Codecs.PREDICTION, prediction(Codecs.CLASSES));
  }

  @Test
  void predictionWithoutLabelRoundTrips() {
    Prediction p = prediction(Codecs.CLASSES);
    p.setLabel(null);
    assertRoundTrip(Codecs.PREDICTION, p);
  }

  @Test
  void everyCodecWritesItsOwnFingerprint() {
    List<Long> fingerprints =
        List.of(
            Codecs.TRAINING_SAMPLE.fingerprint(),
            Codecs.IMAGE_EVENT.fingerprint(),
            Codecs.MODEL_SNAPSHOT.fingerprint(),
            Codecs.PREDICTION.fingerprint());
    assertEquals(4, fingerprints.stream().distinct().count());
  }

  // --- bad payloads
  // -----------------------------------------------------------------------------------------------

  @Test
  void rejectsChangedMarkerAsBadMarker() {
    byte[] bytes = Codecs.TRAINING_SAMPLE.encode(trainingSample(1, Codecs.PIXELS));
    bytes[0] = 0x00;
    bytes[1] = 0x7f;

    InvalidPayloadException e =
        assertInvalid(PayloadError.BAD_MARKER, () -> Codecs.TRAINING_SAMPLE.decode(bytes));
    assertEquals("starts with 00 7F, not the single-object marker C3 01", e.detail());
  }

  @Test
  void rejectsSecondMarkerByteAloneChangedAsBadMarker() {
    byte[] bytes = Codecs.PREDICTION.encode(prediction(Codecs.CLASSES));
    bytes[1] = 0x02;

    assertInvalid(PayloadError.BAD_MARKER, () -> Codecs.PREDICTION.decode(bytes));
  }

  @Test
  void rejectsJsonTextAsBadMarker() {
    byte[] json = "{\"imageId\":\"x\",\"pixels\":\"\"}".getBytes(StandardCharsets.UTF_8);

    assertInvalid(PayloadError.BAD_MARKER, () -> Codecs.IMAGE_EVENT.decode(json));
  }

  @Test
  void rejectsChangedFingerprintAsUnknownSchema() {
    byte[] bytes = Codecs.IMAGE_EVENT.encode(imageEvent(1));
    bytes[5] ^= 0x55;

    InvalidPayloadException e =
        assertInvalid(PayloadError.UNKNOWN_SCHEMA, () -> Codecs.IMAGE_EVENT.decode(bytes));
    StringBuilder hex = new StringBuilder();
    for (int i = 2; i < 10; i++) {
      hex.append(String.format("%02x", bytes[i]));
    }
    assertTrue(e.detail().contains(hex.toString()), "should show the fingerprint: " + e.detail());
    assertTrue(e.detail().contains("ImageEvent"), e.detail());
  }

  @Test
  void rejectsAnotherTypesPayloadAsUnknownSchema() {
    byte[] sample = Codecs.TRAINING_SAMPLE.encode(trainingSample(2, Codecs.PIXELS));

    assertInvalid(PayloadError.UNKNOWN_SCHEMA, () -> Codecs.IMAGE_EVENT.decode(sample));
  }

  @Test
  void rejectsPayloadCutToFiveBytesAsTruncated() {
    byte[] bytes =
        Arrays.copyOf(Codecs.TRAINING_SAMPLE.encode(trainingSample(1, Codecs.PIXELS)), 5);

    InvalidPayloadException e =
        assertInvalid(PayloadError.TRUNCATED, () -> Codecs.TRAINING_SAMPLE.decode(bytes));
    assertTrue(e.detail().startsWith("5 bytes"), e.detail());
  }

  @Test
  void rejectsBytesAfterTheRecordAsMalformed() {
    byte[] one = Codecs.TRAINING_SAMPLE.encode(trainingSample(1, Codecs.PIXELS));
    byte[] two = Arrays.copyOf(one, 2 * one.length);
    System.arraycopy(one, 0, two, one.length, one.length);

    InvalidPayloadException e =
        assertInvalid(PayloadError.MALFORMED, () -> Codecs.TRAINING_SAMPLE.decode(two));
    assertTrue(e.detail().startsWith(one.length + " bytes after the end"), e.detail());
  }

  @Test
  void rejectsShortPayloadWithAWrongMarkerAsBadMarker() {
    assertInvalid(
        PayloadError.BAD_MARKER,
        () ->
            Codecs.TRAINING_SAMPLE.decode(
                "hello".getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
  }

  @Test
  void rejectsEmptyAndNullPayloadsAsTruncated() {
    assertInvalid(PayloadError.TRUNCATED, () -> Codecs.PREDICTION.decode(new byte[0]));
    assertInvalid(PayloadError.TRUNCATED, () -> Codecs.PREDICTION.decode(null));
  }

  @Test
  void rejectsHeaderWithoutBodyAsTruncated() {
    byte[] headerOnly = withHeader(Codecs.TRAINING_SAMPLE);

    assertInvalid(PayloadError.TRUNCATED, () -> Codecs.TRAINING_SAMPLE.decode(headerOnly));
  }

  @Test
  void rejectsPayloadCutInsideThePixelsAsTruncated() {
    byte[] full = Codecs.TRAINING_SAMPLE.encode(trainingSample(1, Codecs.PIXELS));
    byte[] cut = Arrays.copyOf(full, 40);

    InvalidPayloadException e =
        assertInvalid(PayloadError.TRUNCATED, () -> Codecs.TRAINING_SAMPLE.decode(cut));
    assertEquals(
        "TrainingSample.pixels declares 784 bytes at byte 22 of a 40-byte payload: only 18 remain",
        e.detail());
  }

  @Test
  void rejectsPayloadMissingItsLastByteAsTruncated() {
    for (AvroCodecCase<?> c : cases()) {
      byte[] full = c.encode();
      byte[] cut = Arrays.copyOf(full, full.length - 1);
      assertInvalid(PayloadError.TRUNCATED, () -> c.codec().decode(cut));
    }
  }

  @Test
  void rejectsNegativeStringLengthAsMalformed() {
    // sampleId length varint 0x01 = zigzag -1
    byte[] bytes = withHeader(Codecs.TRAINING_SAMPLE, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00);

    InvalidPayloadException e =
        assertInvalid(PayloadError.MALFORMED, () -> Codecs.TRAINING_SAMPLE.decode(bytes));
    assertEquals("TrainingSample.sampleId declares a negative length -1", e.detail());
  }

  @Test
  void rejectsNegativeByteArrayLengthAsMalformed() {
    // sampleId "a", label 0, pixels length varint 0x03 = zigzag -2
    byte[] bytes =
        withHeader(Codecs.TRAINING_SAMPLE, 0x02, 'a', 0x00, 0x03, 0x00, 0x00, 0x00, 0x00);

    assertInvalid(PayloadError.MALFORMED, () -> Codecs.TRAINING_SAMPLE.decode(bytes));
  }

  @Test
  void rejectsUnionBranchOutOfRangeAsMalformed() {
    // imageId "a", empty pixels, eventTime 0, label union index 4 (there are 2 branches), then
    // padding
    byte[] bytes = withHeader(Codecs.IMAGE_EVENT, 0x02, 'a', 0x00, 0x00, 0x08, 0x00, 0x00);

    assertInvalid(PayloadError.MALFORMED, () -> Codecs.IMAGE_EVENT.decode(bytes));
  }

  @Test
  void rejectsTrainingSampleWith783PixelsAsBadPixelCount() {
    TrainingSample sample =
        Codecs.TRAINING_SAMPLE.decode(Codecs.TRAINING_SAMPLE.encode(trainingSample(1, 783)));

    InvalidPayloadException e =
        assertInvalid(PayloadError.BAD_PIXEL_COUNT, () -> InputShape.MNIST.check(sample));
    assertEquals("pixels has 783 bytes, expected 784", e.detail());
  }

  @Test
  void rejectsImageEventWith785PixelsAsBadPixelCount() {
    ImageEvent event = imageEvent(null);
    event.setPixels(ByteBuffer.wrap(pixels(785)));
    ImageEvent decoded = Codecs.IMAGE_EVENT.decode(Codecs.IMAGE_EVENT.encode(event));

    assertInvalid(PayloadError.BAD_PIXEL_COUNT, () -> InputShape.MNIST.check(decoded));
  }

  @Test
  void rejectsLabelTenAsBadLabelForTenClasses() {
    TrainingSample sample =
        Codecs.TRAINING_SAMPLE.decode(
            Codecs.TRAINING_SAMPLE.encode(trainingSample(10, Codecs.PIXELS)));

    InvalidPayloadException e =
        assertInvalid(PayloadError.BAD_LABEL, () -> InputShape.MNIST.check(sample));
    assertEquals("label is 10, expected 0-9", e.detail());
  }

  @Test
  void acceptsLabelTenForTwelveClasses() {
    TrainingSample sample = trainingSample(10, Codecs.PIXELS);

    new InputShape(Codecs.PIXELS, 12, true).check(sample);
  }

  @Test
  void rejectsLabelMinusOneAsBadLabel() {
    byte[] bytes = Codecs.TRAINING_SAMPLE.encode(trainingSample(-1, Codecs.PIXELS));

    InvalidPayloadException e =
        assertInvalid(PayloadError.BAD_LABEL, () -> Codecs.TRAINING_SAMPLE.decode(bytes));
    assertEquals("label is -1, expected a class index of 0 or more", e.detail());
  }

  @Test
  void acceptsBoundaryLabelsZeroAndNine() {
    for (int label : new int[] {0, 9}) {
      TrainingSample sample =
          Codecs.TRAINING_SAMPLE.decode(Codecs.TRAINING_SAMPLE.encode(trainingSample(label, 784)));
      InputShape.MNIST.check(sample);
      assertEquals(label, sample.getLabel());
    }
  }

  @Test
  void rejectsImageEventLabelOutOfRangeAsBadLabel() {
    ImageEvent event = Codecs.IMAGE_EVENT.decode(Codecs.IMAGE_EVENT.encode(imageEvent(10)));

    assertInvalid(PayloadError.BAD_LABEL, () -> InputShape.MNIST.check(event));
    assertInvalid(
        PayloadError.BAD_LABEL,
        () -> Codecs.IMAGE_EVENT.decode(Codecs.IMAGE_EVENT.encode(imageEvent(-3))));
  }

  @Test
  void rejectsPredictionDigitBeyondItsProbabilitiesAsBadLabel() {
    Prediction p = prediction(Codecs.CLASSES);
    p.setDigit(11);
    byte[] bytes = Codecs.PREDICTION.encode(p);

    InvalidPayloadException e =
        assertInvalid(PayloadError.BAD_LABEL, () -> Codecs.PREDICTION.decode(bytes));
    assertEquals("digit is 11, expected 0-9", e.detail());
  }

  @Test
  void acceptsPredictionOfAnyNumberOfClasses() {
    Prediction p = prediction(2);
    p.setDigit(1);
    p.setLabel(0);

    assertRoundTrip(Codecs.PREDICTION, p);
  }

  @Test
  void rejectsPredictionWithoutProbabilitiesAsInvalidField() {
    Prediction p = prediction(0);
    p.setDigit(0);
    byte[] bytes = Codecs.PREDICTION.encode(p);

    InvalidPayloadException e =
        assertInvalid(PayloadError.INVALID_FIELD, () -> Codecs.PREDICTION.decode(bytes));
    assertEquals("probabilities is empty, expected one per class", e.detail());
  }

  // --- features (v2)
  // ----------------------------------------------------------------------------------------------

  static List<Float> features(int n) {
    List<Float> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(i * 1.5f - 7f);
    }
    return out;
  }

  static TrainingSample featureSample(int label, int n) {
    TrainingSample s = trainingSample(label, 0);
    s.setFeatures(features(n));
    return s;
  }

  @Test
  void featureSampleRoundTripsWithTheCurrentSchema() {
    TrainingSample sample = featureSample(1, 30);
    byte[] bytes = Codecs.TRAINING_SAMPLE.encode(sample);

    assertArrayEquals(
        littleEndian(Codecs.TRAINING_SAMPLE.fingerprint()), Arrays.copyOfRange(bytes, 2, 10));
    TrainingSample decoded = Codecs.TRAINING_SAMPLE.decode(bytes);
    assertEquals(sample, decoded);
    new InputShape(30, 2, false).check(decoded);
  }

  @Test
  void featureEventRoundTripsWithTheCurrentSchema() {
    ImageEvent event = imageEvent(3);
    event.setPixels(ByteBuffer.allocate(0));
    event.setFeatures(features(5));
    byte[] bytes = Codecs.IMAGE_EVENT.encode(event);

    assertArrayEquals(
        littleEndian(Codecs.IMAGE_EVENT.fingerprint()), Arrays.copyOfRange(bytes, 2, 10));
    assertEquals(event, Codecs.IMAGE_EVENT.decode(bytes));
  }

  @Test
  void rejectsSampleWithBothPixelsAndFeatures() {
    TrainingSample sample = trainingSample(1, 4);
    sample.setFeatures(features(3));
    byte[] bytes = Codecs.TRAINING_SAMPLE.encode(sample);

    InvalidPayloadException e =
        assertInvalid(PayloadError.PIXELS_AND_FEATURES, () -> Codecs.TRAINING_SAMPLE.decode(bytes));
    assertEquals("has 4 pixels and 3 features, expected exactly one of them", e.detail());
  }

  @Test
  void rejectsSampleWithNeitherPixelsNorFeatures() {
    for (List<Float> none : Arrays.asList(null, List.<Float>of())) {
      TrainingSample sample = trainingSample(1, 0);
      sample.setFeatures(none);
      byte[] bytes = Codecs.TRAINING_SAMPLE.encode(sample);

      assertInvalid(PayloadError.NO_INPUT, () -> Codecs.TRAINING_SAMPLE.decode(bytes));
    }
  }

  @Test
  void rejectsEventWithBothOrNeither() {
    ImageEvent both = imageEvent(null);
    both.setFeatures(features(2));
    assertInvalid(
        PayloadError.PIXELS_AND_FEATURES,
        () -> Codecs.IMAGE_EVENT.decode(Codecs.IMAGE_EVENT.encode(both)));
    ImageEvent neither = imageEvent(null);
    neither.setPixels(ByteBuffer.allocate(0));
    assertInvalid(
        PayloadError.NO_INPUT, () -> Codecs.IMAGE_EVENT.decode(Codecs.IMAGE_EVENT.encode(neither)));
  }

  @Test
  void rejectsNaNAndInfiniteFeaturesAsNotFinite() {
    for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
      TrainingSample sample = featureSample(0, 4);
      sample.getFeatures().set(2, bad);
      byte[] bytes = Codecs.TRAINING_SAMPLE.encode(sample);

      InvalidPayloadException e =
          assertInvalid(PayloadError.NOT_FINITE, () -> Codecs.TRAINING_SAMPLE.decode(bytes));
      assertEquals("feature 2 is " + bad + ", expected a finite number", e.detail());
    }
  }

  @Test
  void rejectsFeaturesBeyondTheMagnitudeLimit() {
    TrainingSample sample = featureSample(0, 4);
    sample.getFeatures().set(3, -2e15f);
    byte[] bytes = Codecs.TRAINING_SAMPLE.encode(sample);

    assertInvalid(PayloadError.FEATURE_TOO_LARGE, () -> Codecs.TRAINING_SAMPLE.decode(bytes));
    sample.getFeatures().set(3, -1e15f);
    assertEquals(sample, Codecs.TRAINING_SAMPLE.decode(Codecs.TRAINING_SAMPLE.encode(sample)));
  }

  @Test
  void shapesBeyondTheLimitsAreRefused() {
    assertThrows(
        IllegalArgumentException.class, () -> new InputShape(InputShape.MAX_INPUTS + 1, 2, false));
    assertThrows(
        IllegalArgumentException.class, () -> new InputShape(3, InputShape.MAX_CLASSES + 1, false));
  }

  @Test
  void featureModelRejectsWrongWidthPixelsAndLabels() {
    InputShape shape = new InputShape(30, 2, false);

    InvalidPayloadException width =
        assertInvalid(PayloadError.BAD_FEATURE_COUNT, () -> shape.check(featureSample(0, 29)));
    assertEquals("features has 29 values, expected 30", width.detail());
    assertInvalid(PayloadError.WRONG_INPUT_KIND, () -> shape.check(trainingSample(0, 30)));
    assertInvalid(PayloadError.BAD_LABEL, () -> shape.check(featureSample(2, 30)));
  }

  @Test
  void imageModelRejectsFeatures() {
    InvalidPayloadException e =
        assertInvalid(
            PayloadError.WRONG_INPUT_KIND, () -> InputShape.MNIST.check(featureSample(0, 784)));
    assertEquals("has 784 features, but the model takes images (pixels)", e.detail());
  }

  // --- the oldest writer that holds a record
  // ---------------------------------------------------------------------

  /** The record's fields as a GenericRecord of an older schema, written by Avro's own encoder. */
  static byte[] writtenWith(Schema version, SpecificRecord record) throws IOException {
    GenericRecord old = new GenericData.Record(version);
    for (Schema.Field f : version.getFields()) {
      Object value = record.get(f.pos());
      old.put(f.pos(), value instanceof java.time.Instant t ? t.toEpochMilli() : value);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    new BinaryMessageEncoder<GenericRecord>(SpecificData.get(), version).encode(old, out);
    return out.toByteArray();
  }

  @Test
  void mnistRecordsStayByteForByteVersionOne() throws IOException {
    TrainingSample sample = trainingSample(3, Codecs.PIXELS);
    ImageEvent event = imageEvent(4);
    Prediction prediction = prediction(Codecs.CLASSES);

    assertArrayEquals(
        writtenWith(Codecs.TRAINING_SAMPLE.releasedVersions().get(0), sample),
        Codecs.TRAINING_SAMPLE.encode(sample));
    assertArrayEquals(
        writtenWith(Codecs.IMAGE_EVENT.releasedVersions().get(0), event),
        Codecs.IMAGE_EVENT.encode(event));
    assertArrayEquals(
        writtenWith(Codecs.PREDICTION.releasedVersions().get(0), prediction),
        Codecs.PREDICTION.encode(prediction));
    assertArrayEquals(
        writtenWith(Codecs.MODEL_SNAPSHOT.releasedVersions().get(0), modelSnapshot()),
        Codecs.MODEL_SNAPSHOT.encode(modelSnapshot()));
  }

  @Test
  void mnistRecordsWrittenWithTheCurrentSchemaByAnotherClientDecodeToo() throws IOException {
    TrainingSample sample = trainingSample(3, Codecs.PIXELS);
    ImageEvent event = imageEvent(4);

    assertEquals(
        sample,
        Codecs.TRAINING_SAMPLE.decode(writtenWith(Codecs.TRAINING_SAMPLE.schema(), sample)));
    assertEquals(event, Codecs.IMAGE_EVENT.decode(writtenWith(Codecs.IMAGE_EVENT.schema(), event)));
  }

  @Test
  void versionOneReadersDecodeMnistRecords() {
    for (AvroCodecCase<?> c : cases()) {
      Schema v1 = c.codec().releasedVersions().get(0);
      byte[] bytes = c.encode();
      BinaryMessageDecoder<GenericRecord> v1Reader =
          new BinaryMessageDecoder<>(GenericData.get(), v1);
      GenericRecord read = assertDoesNotThrow(() -> v1Reader.decode(bytes));
      assertEquals(v1.getFields().size(), read.getSchema().getFields().size());
    }
  }

  @Test
  void recordsNeedingVersionTwoAreWrittenWithIt() {
    Prediction named = prediction(Codecs.CLASSES);
    named.setClassName("seven");
    ModelSnapshot withSpec = modelSnapshot();
    withSpec.setSpec(
        FeatureSpec.newBuilder()
            .setInputs(3)
            .setClasses(2)
            .setFeatureNames(List.of("a", "b", "c"))
            .setClassNames(List.of("no", "yes"))
            .setImage(null)
            .setTransform(TransformKind.STANDARDIZE)
            .setMean(ByteBuffer.wrap(floats(1f, 2f, 3f)))
            .setVariance(ByteBuffer.wrap(floats(4f, 0f, 9f)))
            .setCount(12L)
            .setEpsilon(1e-12f)
            .build());

    for (byte[] bytes :
        List.of(Codecs.PREDICTION.encode(named), Codecs.MODEL_SNAPSHOT.encode(withSpec))) {
      long header = ByteBuffer.wrap(bytes, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
      assertTrue(
          header == Codecs.PREDICTION.fingerprint()
              || header == Codecs.MODEL_SNAPSHOT.fingerprint());
    }
    assertEquals(named, Codecs.PREDICTION.decode(Codecs.PREDICTION.encode(named)));
    assertEquals(withSpec, Codecs.MODEL_SNAPSHOT.decode(Codecs.MODEL_SNAPSHOT.encode(withSpec)));
  }

  @Test
  void onlyAppendedNullableFieldsMakeAnOlderWriter() {
    Schema v1 = Codecs.IMAGE_EVENT.releasedVersions().get(0);

    assertTrue(AvroCodec.appendsNullableFieldsTo(Codecs.IMAGE_EVENT.schema(), v1));
    assertFalse(AvroCodec.appendsNullableFieldsTo(v1, v1), "nothing appended");
    assertFalse(AvroCodec.appendsNullableFieldsTo(IMAGE_EVENT_WITHOUT_LABEL, v1), "fields removed");
    Schema requiredAppended =
        new Schema.Parser()
            .parse(
                """
      {"type": "record", "name": "ImageEvent", "namespace": "io.streamlearn.contract",
       "fields": [
         {"name": "imageId", "type": "string"},
         {"name": "pixels", "type": "bytes"},
         {"name": "eventTime", "type": {"type": "long", "logicalType": "timestamp-millis"}},
         {"name": "label", "type": ["null", "int"], "default": null},
         {"name": "extra", "type": "int", "default": 0}
       ]}
      """);
    assertFalse(AvroCodec.appendsNullableFieldsTo(requiredAppended, v1), "required field appended");
  }

  // --- schema evolution
  // -------------------------------------------------------------------------------------------

  private static final Schema IMAGE_EVENT_WITHOUT_LABEL =
      new Schema.Parser()
          .parse(
              """
      {"type": "record", "name": "ImageEvent", "namespace": "io.streamlearn.contract",
       "fields": [
         {"name": "imageId", "type": "string"},
         {"name": "pixels", "type": "bytes"},
         {"name": "eventTime", "type": {"type": "long", "logicalType": "timestamp-millis"}}
       ]}
      """);

  private static byte[] encodeWithOlderSchema() throws IOException {
    GenericRecord old = new GenericData.Record(IMAGE_EVENT_WITHOUT_LABEL);
    old.put("imageId", "t10k-99");
    old.put("pixels", ByteBuffer.wrap(pixels(Codecs.PIXELS)));
    old.put("eventTime", T0.toEpochMilli());
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    new BinaryMessageEncoder<GenericRecord>(GenericData.get(), IMAGE_EVENT_WITHOUT_LABEL)
        .encode(old, out);
    return out.toByteArray();
  }

  @Test
  void readsRecordWrittenWithAnOlderSchemaVersion() throws IOException {
    byte[] bytes = encodeWithOlderSchema();
    assertArrayEquals(
        littleEndian(SchemaNormalization.parsingFingerprint64(IMAGE_EVENT_WITHOUT_LABEL)),
        Arrays.copyOfRange(bytes, 2, 10));
    AvroCodec<ImageEvent> codec =
        new AvroCodec<>(ImageEvent.class, e -> {}, List.of(IMAGE_EVENT_WITHOUT_LABEL));

    ImageEvent event = codec.decode(bytes);

    assertEquals("t10k-99", event.getImageId());
    assertEquals(ByteBuffer.wrap(pixels(Codecs.PIXELS)), event.getPixels());
    assertEquals(T0, event.getEventTime());
    assertNull(event.getLabel());
  }

  @Test
  void codecWithOlderVersionStillReadsTheCurrentOne() {
    AvroCodec<ImageEvent> codec =
        new AvroCodec<>(ImageEvent.class, e -> {}, List.of(IMAGE_EVENT_WITHOUT_LABEL));
    ImageEvent event = imageEvent(6);
    event.setPixels(ByteBuffer.allocate(0));
    event.setFeatures(features(3));

    assertEquals(event, codec.decode(Codecs.IMAGE_EVENT.encode(event)));
  }

  @Test
  void rejectsRecordWrittenWithAnUnreleasedOlderVersionAsUnknownSchema() throws IOException {
    byte[] bytes = encodeWithOlderSchema();

    assertInvalid(PayloadError.UNKNOWN_SCHEMA, () -> Codecs.IMAGE_EVENT.decode(bytes));
  }

  // --- released versions
  // ------------------------------------------------------------------------------------------

  record AvroCodecCase<T extends SpecificRecord>(AvroCodec<T> codec, T sample) {
    byte[] encode() {
      return codec.encode(sample);
    }
  }

  static List<AvroCodecCase<?>> cases() {
    return List.of(
        new AvroCodecCase<>(Codecs.TRAINING_SAMPLE, trainingSample(5, Codecs.PIXELS)),
        new AvroCodecCase<>(Codecs.IMAGE_EVENT, imageEvent(5)),
        new AvroCodecCase<>(Codecs.MODEL_SNAPSHOT, modelSnapshot()),
        new AvroCodecCase<>(Codecs.PREDICTION, prediction(Codecs.CLASSES)));
  }

  /** Changing an .avsc without adding a history version must fail the build. */
  @Test
  void newestReleasedVersionOfEveryCodecIsTheCurrentSchema() {
    for (AvroCodecCase<?> c : cases()) {
      AvroCodec<?> codec = c.codec();
      List<Schema> released = codec.releasedVersions();
      assertFalse(released.isEmpty(), codec.type().getSimpleName() + " has no released version");
      Schema newest = released.get(released.size() - 1);
      assertEquals(
          SchemaNormalization.toParsingForm(codec.schema()),
          SchemaNormalization.toParsingForm(newest),
          codec.type().getSimpleName() + ".avsc changed: release it as a new history version");
    }
  }

  @Test
  void releasedVersionsAreLoadedInOrderFromTheClassPath() {
    for (AvroCodecCase<?> c : cases()) {
      List<Schema> released = AvroCodec.releasedVersions(c.codec().type());
      assertEquals(c.codec().releasedVersions(), released);
      for (Schema s : released) {
        assertEquals(c.codec().type().getName(), s.getFullName());
      }
    }
  }

  @Test
  void everyReleasedVersionHasADistinctFingerprint() {
    for (AvroCodecCase<?> c : cases()) {
      List<Long> fingerprints =
          c.codec().releasedVersions().stream()
              .map(SchemaNormalization::parsingFingerprint64)
              .toList();
      assertEquals(
          fingerprints.size(),
          fingerprints.stream().distinct().count(),
          c.codec().type().getSimpleName());
    }
  }

  @Test
  void olderSchemaIsReallyAnotherVersion() {
    assertNotEquals(
        Codecs.IMAGE_EVENT.fingerprint(),
        SchemaNormalization.parsingFingerprint64(IMAGE_EVENT_WITHOUT_LABEL));
  }
}
