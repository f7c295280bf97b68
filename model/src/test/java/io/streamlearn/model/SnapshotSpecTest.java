package io.streamlearn.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.contract.WeightsKind;
import io.streamlearn.contract.avro.Codecs;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

class SnapshotSpecTest {
  private static final Snapshots.Header HEADER =
      new Snapshots.Header("m", 3, Instant.EPOCH, "run", WeightsKind.RAW, 10, 1, null, null);

  private static final ModelSpec TABULAR =
      new ModelSpec(3, 2, List.of("age", "income", "score"), List.of("no", "yes"), null, true);

  private static final InputTransform.Standardize STATS =
      new InputTransform.Standardize(
          new float[] {40f, 5e4f, 0.5f}, new float[] {100f, 1e8f, 0f}, 12, 1e-12f);

  private static ModelSnapshot tabular() {
    DenseNetwork network = DenseNetwork.initialized(new int[] {3, 4, 2}, DataType.FLOAT, 1);
    return Snapshots.build(HEADER, network.sizes(), network.parameters(), TABULAR, STATS);
  }

  @Test
  void aFeatureModelsSpecAndStatisticsTravelInTheSnapshot() {
    ModelSnapshot snapshot = Codecs.MODEL_SNAPSHOT.decode(Codecs.MODEL_SNAPSHOT.encode(tabular()));

    Snapshots.Input input = Snapshots.input(snapshot);
    assertEquals(TABULAR, input.spec());
    assertEquals(STATS, input.transform());
    assertEquals(1f, snapshot.getInputScale());
    assertNotNull(Snapshots.toNetwork(snapshot, new int[] {3, 4, 2}));
  }

  @Test
  void theChecksumCoversTheStatistics() {
    ModelSnapshot snapshot = tabular();
    ByteBuffer mean = snapshot.getSpec().getMean();
    byte[] changed = new byte[mean.remaining()];
    mean.duplicate().get(changed);
    changed[1] ^= 0x01;
    snapshot.getSpec().setMean(ByteBuffer.wrap(changed));

    InvalidSnapshotException e =
        assertThrows(InvalidSnapshotException.class, () -> Snapshots.toNetwork(snapshot, null));
    assertEquals(InvalidSnapshotException.Reason.CHECKSUM, e.reason());
  }

  @Test
  void anMnistSnapshotLeavesItsSpecOutAndReadsAsMnist() {
    DenseNetwork network = DenseNetwork.initialized(new int[] {784, 5, 10}, DataType.FLOAT, 1);
    ModelSnapshot snapshot = Snapshots.build(HEADER, network.sizes(), network.parameters());

    assertNull(snapshot.getSpec());
    assertEquals(ModelSpec.MNIST, Snapshots.input(snapshot).spec());
    assertEquals(InputTransform.Scale.MNIST, Snapshots.input(snapshot).transform());
  }

  @Test
  void aSpecThatDisagreesWithTheLayersIsRefused() {
    ModelSnapshot snapshot = tabular();
    snapshot.getSpec().setInputs(4);
    snapshot.getSpec().setFeatureNames(List.of());

    InvalidSnapshotException e =
        assertThrows(InvalidSnapshotException.class, () -> Snapshots.input(snapshot));
    assertEquals(InvalidSnapshotException.Reason.ARCHITECTURE, e.reason());
  }

  @Test
  void statisticsOfTheWrongWidthAreRefused() {
    ModelSnapshot snapshot = tabular();
    snapshot.getSpec().setVariance(ByteBuffer.allocate(8));

    assertEquals(
        InvalidSnapshotException.Reason.ARCHITECTURE,
        assertThrows(InvalidSnapshotException.class, () -> Snapshots.input(snapshot)).reason());
  }

  @Test
  void specChecksNamesAndImageShape() {
    assertThrows(
        IllegalArgumentException.class,
        () -> new ModelSpec(3, 2, List.of("a", "b"), List.of(), null, true));
    assertThrows(
        IllegalArgumentException.class,
        () -> new ModelSpec(3, 2, List.of("a", "a", "b"), List.of(), null, true));
    assertThrows(
        IllegalArgumentException.class,
        () -> new ModelSpec(784, 10, List.of(), List.of(), new ModelSpec.Image(27, 28), false));
    assertThrows(
        IllegalArgumentException.class,
        () -> new ModelSpec(3, 1, List.of(), List.of(), null, true));
  }

  @Test
  void setInputRowAppliesTheTransform() {
    var x = org.nd4j.linalg.factory.Nd4j.zeros(DataType.FLOAT, 1, 3);
    float[] row = {50f, 5e4f, 2f};

    DenseNetwork.setInputRow(x, 0, row, STATS);

    assertEquals(1f, x.getFloat(0, 0), 1e-6);
    assertEquals(0f, x.getFloat(0, 1), 1e-6);
    assertEquals(1.5f, x.getFloat(0, 2), 1e-6);
  }

  @Test
  void theChecksumCoversTheWholeTransform() {
    for (java.util.function.Consumer<ModelSnapshot> tamper :
        List.<java.util.function.Consumer<ModelSnapshot>>of(
            t -> t.getSpec().setEpsilon(1e30f),
            t -> t.getSpec().setCount(13),
            t -> t.setInputScale(2f))) {
      ModelSnapshot snapshot = tabular();
      tamper.accept(snapshot);
      InvalidSnapshotException e =
          assertThrows(InvalidSnapshotException.class, () -> Snapshots.toNetwork(snapshot, null));
      assertEquals(InvalidSnapshotException.Reason.CHECKSUM, e.reason());
    }
  }

  @Test
  void aNegativeEpsilonOrCountIsAnArchitectureError() {
    ModelSnapshot snapshot = tabular();
    snapshot.getSpec().setEpsilon(-1f);

    assertEquals(
        InvalidSnapshotException.Reason.ARCHITECTURE,
        assertThrows(InvalidSnapshotException.class, () -> Snapshots.input(snapshot)).reason());
  }

  @Test
  void theSizeBoundHoldsForTheWidestNamedStandardizingModel() {
    int width = io.streamlearn.contract.avro.InputShape.MAX_INPUTS;
    List<String> names = new java.util.ArrayList<>();
    for (int i = 0; i < width; i++) {
      names.add("feature-number-" + i);
    }
    ModelSpec spec = new ModelSpec(width, 2, names, List.of("a", "b"), null, true);
    DenseNetwork network = DenseNetwork.initialized(new int[] {width, 2, 2}, DataType.FLOAT, 1);
    Standardizer stats = new Standardizer(width);
    stats.add(new float[width]);
    ModelSnapshot snapshot =
        Snapshots.build(HEADER, network.sizes(), network.parameters(), spec, stats.freeze());

    int encoded = Codecs.MODEL_SNAPSHOT.encode(snapshot).length;
    int bound = Snapshots.encodedSizeBound(network.sizes(), spec);
    assertTrue(encoded <= bound, encoded + " bytes encoded, bound " + bound);
    assertTrue(
        encoded > Snapshots.encodedSizeBound(network.sizes()),
        "the layers' bound alone would be too small");
  }

  @Test
  void specsBeyondTheLimitsAreRefused() {
    assertThrows(
        IllegalArgumentException.class,
        () -> new ModelSpec(20_000, 2, List.of(), List.of(), null, true));
    assertThrows(
        IllegalArgumentException.class,
        () -> new ModelSpec(3, 2_000, List.of(), List.of(), null, true));
  }
}
