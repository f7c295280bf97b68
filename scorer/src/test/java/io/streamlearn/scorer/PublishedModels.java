package io.streamlearn.scorer;

import io.streamlearn.contract.DenseLayer;
import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.contract.WeightsKind;
import io.streamlearn.contract.avro.Codecs;
import io.streamlearn.model.DenseNetwork;
import io.streamlearn.model.Snapshots;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The model versions an integration test publishes: version v is a 784-100-10 network with seeded
 * initial weights (seed {@code 1000 + v}), so the test can recompute what that version must answer
 * for any image. Also makes the snapshots a scorer must refuse.
 */
final class PublishedModels {
  static final int[] SIZES = {784, 100, 10};
  static final String RUN_ID = "scorer-it-run";

  private final String modelId;
  private final Map<Long, DenseNetwork> networks = new HashMap<>();

  PublishedModels(String modelId) {
    this.modelId = modelId;
  }

  /** The network of version {@code version} (made once, kept for recomputing). */
  DenseNetwork network(long version) {
    return networks.computeIfAbsent(
        version, v -> DenseNetwork.initialized(SIZES, DataType.FLOAT, 1000 + v));
  }

  /** A valid snapshot of version {@code version}. */
  ModelSnapshot snapshot(long version) {
    return Snapshots.build(header(version), SIZES, network(version).parameters());
  }

  byte[] encoded(long version) {
    return Codecs.MODEL_SNAPSHOT.encode(snapshot(version));
  }

  private Snapshots.Header header(long version) {
    return new Snapshots.Header(
        modelId,
        version,
        Instant.ofEpochMilli(1_700_000_000_000L + version * 1000),
        RUN_ID,
        WeightsKind.RAW,
        version * 640,
        version * 10,
        null,
        null);
  }

  /** Version {@code version} with one bit of its checksum flipped. */
  byte[] withBrokenChecksum(long version) {
    ModelSnapshot good = snapshot(version);
    byte[] checksum = bytes(good.getChecksum());
    checksum[7] ^= 0x10;
    return Codecs.MODEL_SNAPSHOT.encode(
        ModelSnapshot.newBuilder(good).setChecksum(ByteBuffer.wrap(checksum)).build());
  }

  /**
   * Version {@code version} with a NaN among the first layer's weights, and a checksum that matches
   * them.
   */
  byte[] withNaNWeights(long version) {
    ModelSnapshot good = snapshot(version);
    List<DenseLayer> layers = new ArrayList<>(good.getLayers());
    byte[] weights = bytes(layers.get(0).getWeights());
    ByteBuffer.wrap(weights).order(ByteOrder.LITTLE_ENDIAN).putFloat(4 * 12_345, Float.NaN);
    layers.set(
        0, DenseLayer.newBuilder(layers.get(0)).setWeights(ByteBuffer.wrap(weights)).build());
    return Codecs.MODEL_SNAPSHOT.encode(
        ModelSnapshot.newBuilder(good)
            .setLayers(layers)
            .setChecksum(ByteBuffer.wrap(Snapshots.checksum(layers)))
            .build());
  }

  /**
   * A well-formed, correctly summed snapshot of a 784-100-9 network: it cannot answer for ten
   * digits.
   */
  byte[] withNineOutputs(long version) {
    int[] sizes = {784, 100, 9};
    INDArray[] parameters =
        DenseNetwork.initialized(sizes, DataType.FLOAT, 1000 + version).parameters();
    return Codecs.MODEL_SNAPSHOT.encode(Snapshots.build(header(version), sizes, parameters));
  }

  /**
   * A valid snapshot of version {@code version} whose value names another model than the record
   * key.
   */
  byte[] namingModel(String otherModelId, long version) {
    return Codecs.MODEL_SNAPSHOT.encode(
        ModelSnapshot.newBuilder(snapshot(version)).setModelId(otherModelId).build());
  }

  /**
   * The ten probabilities version {@code version} gives {@code pixels}, computed here, one image at
   * a time.
   */
  float[] probabilities(long version, byte[] pixels) {
    DenseNetwork network = network(version);
    INDArray x = network.newInput(1);
    DenseNetwork.setInputRow(x, 0, pixels, 0, Snapshots.INPUT_SCALE);
    network.forward(x, null);
    return network.probabilities(1).dup().data().asFloat();
  }

  private static byte[] bytes(ByteBuffer buffer) {
    byte[] copy = new byte[buffer.remaining()];
    buffer.duplicate().get(copy);
    return copy;
  }
}
