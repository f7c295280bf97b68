package io.streamlearn.scorer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.streamlearn.contract.Activation;
import io.streamlearn.contract.DenseLayer;
import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.contract.WeightsKind;
import io.streamlearn.contract.avro.Codecs;
import io.streamlearn.model.DenseNetwork;
import io.streamlearn.model.Snapshots;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

class ModelHolderTest {
  private static final String MODEL = "mnist";
  private static final int[] SIZES = {784, 100, 10};
  private static final Instant CREATED = Instant.parse("2024-05-01T12:00:00Z");
  private static final Instant NOW = Instant.parse("2024-05-01T12:00:05Z");
  private static final DenseNetwork FIRST = DenseNetwork.initialized(SIZES, DataType.FLOAT, 1);
  private static final DenseNetwork SECOND = DenseNetwork.initialized(SIZES, DataType.FLOAT, 2);

  private RecordingListener listener;
  private ModelHolder holder;

  @BeforeEach
  void newHolder() {
    listener = new RecordingListener();
    holder = new ModelHolder(MODEL, Clock.fixed(NOW, ZoneOffset.UTC), listener);
  }

  @Test
  void appliesAValidSnapshotWithItsIdentityAndServesItsWeights() {
    ModelSnapshot snapshot = snapshot(MODEL, 3, FIRST);

    ModelHolder.Outcome outcome =
        holder.offer(Codecs.MODEL_SNAPSHOT.encode(snapshot), "snapshots-0@41");

    assertTrue(outcome.applied(), () -> "refused: " + outcome);
    assertNull(outcome.rejection());
    ServingModel model = holder.current().orElseThrow();
    assertEquals(MODEL, model.modelId());
    assertEquals(3, model.version());
    assertEquals(CREATED, model.createdAt());
    assertEquals(NOW, model.appliedAt(), "appliedAt comes from the holder's clock");
    assertEquals("run-a", model.runId());
    assertEquals("EMA", model.weightsKind());
    assertEquals(3000, model.samplesSeen());
    assertEquals(30, model.batchesSeen());
    assertEquals(0.875, model.prequentialAccuracy());
    assertEquals(Snapshots.INPUT_SCALE, model.inputScale());
    assertArrayEquals(SIZES, model.sizes());
    INDArray[] expected = FIRST.parameters();
    INDArray[] served = model.network().parameters();
    for (int i = 0; i < expected.length; i++) {
      assertEquals(
          expected[i], served[i], "parameter " + i + " differs from the weights that were sent");
    }
  }

  @Test
  void theServedModelPredictsWhatTheSameWeightsPredictInADirectForwardPass() {
    holder.offer(Codecs.MODEL_SNAPSHOT.encode(snapshot(MODEL, 1, FIRST)), "test");
    int rows = 5;
    byte[] pixels = randomPixels(rows, 7);

    float[] served = new float[rows * 10];
    new Classifier().classify(holder.current().orElseThrow(), rows(pixels), rows, served);

    float[] direct = forward(FIRST, pixels, rows);
    assertArrayEquals(direct, served, 1e-6f);
  }

  @Test
  void isReadyOnlyOnceCaughtUpWithAModelLoaded() throws InterruptedException {
    holder.offer(snapshot(MODEL, 1, FIRST), "test");
    assertTrue(holder.current().isPresent());
    assertFalse(
        holder.isReady(), "a model alone is not ready: a newer snapshot may follow on the topic");
    assertFalse(holder.awaitReady(10, TimeUnit.MILLISECONDS));

    holder.caughtUp();

    assertTrue(holder.isReady());
    assertTrue(holder.awaitReady(0, TimeUnit.MILLISECONDS));
  }

  @Test
  void caughtUpWithoutAModelIsNotReadyUntilAValidModelArrives() throws InterruptedException {
    holder.caughtUp();
    assertFalse(holder.isReady(), "an empty snapshot topic leaves the scorer not ready");

    holder.offer(corruptChecksum(snapshot(MODEL, 1, FIRST)), "test");
    assertFalse(holder.isReady(), "a refused snapshot does not make the scorer ready");

    holder.offer(snapshot(MODEL, 2, FIRST), "test");
    assertTrue(holder.isReady());
    assertTrue(holder.awaitReady(0, TimeUnit.MILLISECONDS));
  }

  @Test
  void appliesEachNewerVersionInTurn() {
    assertTrue(holder.offer(snapshot(MODEL, 1, FIRST), "test").applied());
    assertTrue(holder.offer(snapshot(MODEL, 5, SECOND), "test").applied());

    ServingModel model = holder.current().orElseThrow();
    assertEquals(5, model.version());
    assertEquals(SECOND.parameters()[0], model.network().parameters()[0]);
  }

  @Test
  void rejectsAChecksumMismatchAndKeepsTheModelInUse() {
    assertRejectedKeepingTheModel(
        SnapshotRejection.CHECKSUM, corruptChecksum(snapshot(MODEL, 2, SECOND)));
  }

  @Test
  void rejectsASnapshotWithTooFewOutputs() {
    DenseNetwork fiveClasses = DenseNetwork.initialized(new int[] {784, 50, 5}, DataType.FLOAT, 3);
    assertRejectedKeepingTheModel(SnapshotRejection.ARCHITECTURE, snapshot(MODEL, 2, fiveClasses));
  }

  @Test
  void rejectsASnapshotWithTheWrongNumberOfInputs() {
    DenseNetwork small = DenseNetwork.initialized(new int[] {100, 100, 10}, DataType.FLOAT, 3);
    assertRejectedKeepingTheModel(SnapshotRejection.ARCHITECTURE, snapshot(MODEL, 2, small));
  }

  @Test
  void rejectsASnapshotWhoseHiddenLayerIsNotRelu() {
    ModelSnapshot snapshot = snapshot(MODEL, 2, SECOND);
    snapshot.getLayers().get(0).setActivation(Activation.SOFTMAX); // not covered by the checksum
    assertRejectedKeepingTheModel(SnapshotRejection.ARCHITECTURE, snapshot);
  }

  @Test
  void rejectsASnapshotWhoseOutputLayerIsNotSoftmax() {
    ModelSnapshot snapshot = snapshot(MODEL, 2, SECOND);
    snapshot.getLayers().get(1).setActivation(Activation.RELU);
    assertRejectedKeepingTheModel(SnapshotRejection.ARCHITECTURE, snapshot);
  }

  @Test
  void rejectsASnapshotWhoseBiasIsShorterThanItsShapeEvenWithAMatchingChecksum() {
    ModelSnapshot snapshot = snapshot(MODEL, 2, SECOND);
    DenseLayer last = snapshot.getLayers().get(1);
    last.setBias(ByteBuffer.wrap(Arrays.copyOf(bytes(last.getBias()), 36)));
    snapshot.setChecksum(ByteBuffer.wrap(Snapshots.checksum(snapshot.getLayers())));
    assertRejectedKeepingTheModel(SnapshotRejection.ARCHITECTURE, snapshot);
  }

  @Test
  void rejectsASnapshotWithoutLayers() {
    ModelSnapshot snapshot = snapshot(MODEL, 2, SECOND);
    snapshot.setLayers(new ArrayList<>());
    snapshot.setChecksum(ByteBuffer.wrap(Snapshots.checksum(snapshot.getLayers())));
    assertRejectedKeepingTheModel(SnapshotRejection.ARCHITECTURE, snapshot);
  }

  @Test
  void rejectsASnapshotWhoseFirstLayerHasNoInputs() {
    ModelSnapshot snapshot = snapshot(MODEL, 2, SECOND);
    DenseLayer first = snapshot.getLayers().get(0);
    first.setInputs(0);
    first.setWeights(ByteBuffer.allocate(0));
    snapshot.setChecksum(ByteBuffer.wrap(Snapshots.checksum(snapshot.getLayers())));
    assertRejectedKeepingTheModel(SnapshotRejection.ARCHITECTURE, snapshot);
  }

  @Test
  void servesADeeperReluStackWith784InputsAnd10Outputs() {
    DenseNetwork deeper = DenseNetwork.initialized(new int[] {784, 64, 32, 10}, DataType.FLOAT, 4);

    assertTrue(
        holder.offer(Codecs.MODEL_SNAPSHOT.encode(snapshot(MODEL, 1, deeper)), "test").applied());

    int rows = 3;
    byte[] pixels = randomPixels(rows, 9);
    float[] served = new float[rows * 10];
    new Classifier().classify(holder.current().orElseThrow(), rows(pixels), rows, served);
    assertArrayEquals(forward(deeper, pixels, rows), served, 1e-6f);
  }

  @Test
  void rejectsASnapshotDeeperThanTheLayerLimit() {
    int[] sizes =
        new int
            [Snapshots.MAX_LAYERS + 2]; // MAX_LAYERS + 1 layers of one unit each, then 10 outputs
    Arrays.fill(sizes, 1);
    sizes[0] = 784;
    sizes[sizes.length - 1] = 10;
    DenseNetwork deep = DenseNetwork.initialized(sizes, DataType.FLOAT, 5);

    assertRejectedKeepingTheModel(SnapshotRejection.ARCHITECTURE, snapshot(MODEL, 2, deep));
  }

  @Test
  void servesASnapshotAtTheLayerLimit() {
    int[] sizes = new int[Snapshots.MAX_LAYERS + 1];
    Arrays.fill(sizes, 4);
    sizes[0] = 784;
    sizes[sizes.length - 1] = 10;

    assertTrue(
        holder
            .offer(snapshot(MODEL, 1, DenseNetwork.initialized(sizes, DataType.FLOAT, 6)), "test")
            .applied());
  }

  @Test
  void rejectsALengthBombAsUndecodableWithoutRunningOutOfMemory() {
    // modelId "mnist", version 7, createdAt 0, runId "r", then a layer count of 2,147,483,639 and
    // nothing more
    byte[] body = {
      0x0A,
      'm',
      'n',
      'i',
      's',
      't',
      0x0E,
      0x00,
      0x02,
      'r',
      (byte) 0xEE,
      (byte) 0xFF,
      (byte) 0xFF,
      (byte) 0xFF,
      0x0F
    };
    byte[] bomb = new byte[10 + body.length];
    bomb[0] = (byte) 0xC3;
    bomb[1] = 0x01;
    ByteBuffer.wrap(bomb, 2, 8)
        .order(ByteOrder.LITTLE_ENDIAN)
        .putLong(Codecs.MODEL_SNAPSHOT.fingerprint());
    System.arraycopy(body, 0, bomb, 10, body.length);

    assertRejectedKeepingTheModel(SnapshotRejection.UNDECODABLE, bomb);
  }

  @Test
  void rejectsAnInputScaleThatIsNotAPositiveNumber() {
    for (float scale : new float[] {0f, -1f / 255, Float.NaN, Float.POSITIVE_INFINITY}) {
      newHolder();
      ModelSnapshot snapshot = snapshot(MODEL, 2, SECOND);
      snapshot.setInputScale(scale);
      assertRejectedKeepingTheModel(SnapshotRejection.ARCHITECTURE, snapshot);
    }
  }

  @Test
  void rejectsANanWeightEvenWhenTheChecksumMatches() {
    ModelSnapshot snapshot = withFloat(snapshot(MODEL, 2, SECOND), 0, true, 4321, Float.NaN);
    assertRejectedKeepingTheModel(SnapshotRejection.NON_FINITE, snapshot);
  }

  @Test
  void rejectsAnInfiniteOutputBiasEvenWhenTheChecksumMatches() {
    ModelSnapshot snapshot =
        withFloat(snapshot(MODEL, 2, SECOND), 1, false, 9, Float.NEGATIVE_INFINITY);
    assertRejectedKeepingTheModel(SnapshotRejection.NON_FINITE, snapshot);
  }

  @Test
  void rejectsTheVersionInUseAndOlderOnes() {
    holder.offer(snapshot(MODEL, 7, FIRST), "test");
    ServingModel inUse = holder.current().orElseThrow();

    for (long version : new long[] {7, 6, 1}) {
      ModelHolder.Outcome outcome = holder.offer(snapshot(MODEL, version, SECOND), "test");
      assertFalse(outcome.applied(), "v" + version + " was applied over v7");
      assertEquals(SnapshotRejection.NOT_NEWER, outcome.rejection(), "v" + version);
      assertSame(inUse, holder.current().orElseThrow());
    }
  }

  @Test
  void rejectsANewerVersionOfTheSameLineageTrainedOnFewerSamples() {
    ModelSnapshot fewer = snapshot(MODEL, 2, SECOND);
    fewer.setSamplesSeen(999); // v1 in use has seen 1000
    assertRejectedKeepingTheModel(SnapshotRejection.FEWER_SAMPLES, fewer);
  }

  @Test
  void servesANewLineageEvenAtALowerVersionAsARestartedScorerWould() {
    assertTrue(holder.offer(snapshot(MODEL, 500, FIRST), "test").applied());
    ModelSnapshot recreated = snapshot(MODEL, 1, SECOND);
    recreated.setRunId("run-b");
    recreated.setSamplesSeen(64);

    assertTrue(
        holder.offer(recreated, "test").applied(), "a new lineage is served whatever its version");
    assertEquals(1, holder.current().orElseThrow().version());
    assertEquals("run-b", holder.current().orElseThrow().runId());
  }

  @Test
  void rejectsVersionsOutsideOneToTwoToThe53() {
    for (long version : new long[] {Long.MAX_VALUE, Snapshots.MAX_VERSION + 1, 0, -3}) {
      newHolder();
      ModelSnapshot bad = snapshot(MODEL, version, SECOND);
      bad.setRunId("run-a");
      assertRejectedKeepingTheModel(SnapshotRejection.VERSION_OUT_OF_RANGE, bad);
    }
    newHolder();
    assertTrue(holder.offer(snapshot(MODEL, Snapshots.MAX_VERSION, FIRST), "test").applied());
  }

  @Test
  void rejectsASnapshotOfAnotherModel() {
    assertRejectedKeepingTheModel(
        SnapshotRejection.MODEL_ID_MISMATCH, snapshot("fashion", 2, SECOND));
  }

  @Test
  void rejectsASnapshotOfAnotherModelBeforeAnyModelIsLoaded() {
    ModelHolder.Outcome outcome = holder.offer(snapshot("fashion", 1, FIRST), "test");
    assertEquals(SnapshotRejection.MODEL_ID_MISMATCH, outcome.rejection());
    assertTrue(holder.current().isEmpty());
  }

  @Test
  void rejectsBytesThatAreNoSnapshot() {
    byte[] valid = Codecs.MODEL_SNAPSHOT.encode(snapshot(MODEL, 2, SECOND));
    byte[] garbage = new byte[200];
    new SplittableRandom(5).nextBytes(garbage);
    List<byte[]> undecodable =
        List.of(
            garbage,
            new byte[0],
            Arrays.copyOf(valid, valid.length / 2), // truncated
            Arrays.copyOf(valid, valid.length + 3)); // trailing bytes
    for (byte[] value : undecodable) {
      newHolder();
      assertRejectedKeepingTheModel(SnapshotRejection.UNDECODABLE, value);
    }
  }

  @Test
  void rejectsATombstoneAsUndecodable() {
    assertRejectedKeepingTheModel(SnapshotRejection.UNDECODABLE, (byte[]) null);
  }

  @Test
  void aRejectionNamesWhereTheSnapshotCameFrom() {
    byte[] corrupt = corruptChecksum(snapshot(MODEL, 1, FIRST));
    ModelHolder.Outcome outcome = holder.offer(corrupt, "mnist.model.snapshots-0@17");
    assertTrue(outcome.detail().contains("mnist.model.snapshots-0@17"), outcome.detail());
    assertTrue(outcome.detail().contains("v1"), outcome.detail());
  }

  @Test
  void theListenerSeesEveryAppliedAndRejectedSnapshot() {
    holder.offer(snapshot(MODEL, 1, FIRST), "test");
    holder.offer(corruptChecksum(snapshot(MODEL, 2, SECOND)), "test");
    holder.offer(snapshot(MODEL, 1, SECOND), "test");
    holder.offer(new byte[] {1, 2, 3}, "test");
    holder.offer(snapshot(MODEL, 4, SECOND), "test");
    holder.offer(snapshot("other", 9, SECOND), "test");

    assertEquals(List.of(1L, 4L), listener.appliedVersions);
    assertEquals(
        List.of(
            SnapshotRejection.CHECKSUM,
            SnapshotRejection.NOT_NEWER,
            SnapshotRejection.UNDECODABLE,
            SnapshotRejection.MODEL_ID_MISMATCH),
        listener.rejections);
  }

  @Test
  void scorerMetricsCountOutcomesAndShowTheVersionInUse() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    ScorerMetrics metrics = new ScorerMetrics(registry, 10, 100, Clock.fixed(NOW, ZoneOffset.UTC));
    holder = new ModelHolder(MODEL, Clock.fixed(NOW, ZoneOffset.UTC), metrics);
    assertTrue(
        Double.isNaN(registry.get("streamlearn.scorer.model.version").gauge().value()),
        "no version before the first model");

    holder.offer(snapshot(MODEL, 1, FIRST), "test");
    holder.offer(snapshot(MODEL, 3, SECOND), "test");
    holder.offer(corruptChecksum(snapshot(MODEL, 4, SECOND)), "test");
    holder.offer(snapshot(MODEL, 2, SECOND), "test");

    assertEquals(2, registry.get("streamlearn.scorer.snapshots.applied").counter().count());
    assertEquals(
        1,
        registry
            .get("streamlearn.scorer.snapshots.rejected")
            .tag("reason", "CHECKSUM")
            .counter()
            .count());
    assertEquals(
        1,
        registry
            .get("streamlearn.scorer.snapshots.rejected")
            .tag("reason", "NOT_NEWER")
            .counter()
            .count());
    assertEquals(
        0,
        registry
            .get("streamlearn.scorer.snapshots.rejected")
            .tag("reason", "NON_FINITE")
            .counter()
            .count());
    assertEquals(3, registry.get("streamlearn.scorer.model.version").gauge().value());
    assertEquals(
        5,
        registry.get("streamlearn.scorer.model.age").gauge().value(),
        1e-9,
        "seconds from createdAt to the clock's now");
  }

  // --- helpers

  private void assertRejectedKeepingTheModel(SnapshotRejection expected, ModelSnapshot bad) {
    assertRejectedKeepingTheModel(expected, Codecs.MODEL_SNAPSHOT.encode(bad));
  }

  /**
   * Loads v1, offers the bad record value, and checks that v1 stays in use and the listener heard
   * of it.
   */
  private void assertRejectedKeepingTheModel(SnapshotRejection expected, byte[] value) {
    assertTrue(holder.offer(snapshot(MODEL, 1, FIRST), "test").applied());
    holder.caughtUp();
    ServingModel inUse = holder.current().orElseThrow();
    int rejectedBefore = listener.rejections.size();

    ModelHolder.Outcome outcome = holder.offer(value, "snapshots-0@99");

    assertFalse(outcome.applied(), "applied a snapshot that should be refused as " + expected);
    assertEquals(expected, outcome.rejection(), outcome.detail());
    assertTrue(outcome.detail() != null && !outcome.detail().isBlank());
    assertSame(inUse, holder.current().orElseThrow(), "the model in use changed");
    assertTrue(holder.isReady(), "a refused snapshot must not make the scorer unready");
    assertEquals(List.of(1L), listener.appliedVersions);
    assertEquals(expected, listener.rejections.get(listener.rejections.size() - 1));
    assertEquals(rejectedBefore + 1, listener.rejections.size());
  }

  private static ModelSnapshot snapshot(String modelId, long version, DenseNetwork network) {
    Snapshots.Header header =
        new Snapshots.Header(
            modelId,
            version,
            CREATED,
            "run-a",
            WeightsKind.EMA,
            1000 * version,
            10 * version,
            0.875,
            0.4);
    return Snapshots.build(header, network.sizes(), network.parameters());
  }

  /** Flips a bit of one weight of the output layer, after the checksum was taken. */
  private static byte[] corruptChecksum(ModelSnapshot snapshot) {
    ByteBuffer weights = snapshot.getLayers().get(1).getWeights();
    int at = weights.position() + 17;
    weights.put(at, (byte) (weights.get(at) ^ 0x10));
    return Codecs.MODEL_SNAPSHOT.encode(snapshot);
  }

  /**
   * Sets one float of a layer's weights or bias and recomputes the checksum, so only that value is
   * wrong.
   */
  private static ModelSnapshot withFloat(
      ModelSnapshot snapshot, int layer, boolean weights, int index, float value) {
    DenseLayer l = snapshot.getLayers().get(layer);
    ByteBuffer target = weights ? l.getWeights() : l.getBias();
    target
        .duplicate()
        .order(ByteOrder.LITTLE_ENDIAN)
        .putFloat(target.position() + 4 * index, value);
    snapshot.setChecksum(ByteBuffer.wrap(Snapshots.checksum(snapshot.getLayers())));
    return snapshot;
  }

  private static byte[] bytes(ByteBuffer buffer) {
    byte[] copy = new byte[buffer.remaining()];
    buffer.duplicate().get(copy);
    return copy;
  }

  private static byte[] randomPixels(int rows, long seed) {
    byte[] pixels = new byte[rows * 784];
    new SplittableRandom(seed).nextBytes(pixels);
    return pixels;
  }

  private static Classifier.Rows rows(byte[] pixels) {
    return new Classifier.Rows() {
      @Override
      public byte[] bytes(int row) {
        return pixels;
      }

      @Override
      public int offset(int row) {
        return row * 784;
      }
    };
  }

  /** One forward pass of {@code network} itself over the rows, scaled as snapshots scale pixels. */
  private static float[] forward(DenseNetwork network, byte[] pixels, int rows) {
    INDArray x = network.newInput(rows);
    for (int r = 0; r < rows; r++) {
      DenseNetwork.setInputRow(x, r, pixels, r * 784, Snapshots.INPUT_SCALE);
    }
    network.forward(x, null);
    return network.probabilities(rows).dup().data().asFloat();
  }

  private static final class RecordingListener implements ModelHolder.Listener {
    final List<Long> appliedVersions = new ArrayList<>();
    final List<SnapshotRejection> rejections = new ArrayList<>();

    @Override
    public void applied(ServingModel model) {
      appliedVersions.add(model.version());
    }

    @Override
    public void rejected(SnapshotRejection reason) {
      rejections.add(reason);
    }
  }
}
