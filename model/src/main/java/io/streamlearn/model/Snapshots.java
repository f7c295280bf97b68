package io.streamlearn.model;

import io.streamlearn.contract.Activation;
import io.streamlearn.contract.DenseLayer;
import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.contract.WeightsKind;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Converts between a network's parameters and the {@link ModelSnapshot} contract: weights as
 * float32 little-endian, row-major (inputs, outputs); bias float32 little-endian; checksum SHA-256
 * over each layer's weights bytes then bias bytes, in layer order.
 */
public final class Snapshots {
  /** What pixels (0-255) are multiplied by before the first layer. */
  public static final float INPUT_SCALE = 1f / 255f;

  /**
   * The most layers a snapshot may have. Every layer costs a few ND4J ops per forward pass whatever
   * its width, so a snapshot of a million 1x1 layers (13 MB, within a record) would stall scoring;
   * 32 is far beyond any dense network that helps.
   */
  public static final int MAX_LAYERS = 32;

  /**
   * The highest version a snapshot may carry: 2^53, exact as a double (JSON, Prometheus) and out of
   * reach of any learner (a snapshot a second for 285 million years). Anyone who can write the
   * topic can compute a checksum; a version of {@code Long.MAX_VALUE} would otherwise block every
   * later snapshot and overflow the next version.
   */
  public static final long MAX_VERSION = 1L << 53;

  private Snapshots() {}

  /** Identity and bookkeeping of a snapshot, beside its weights. */
  public record Header(
      String modelId,
      long version,
      Instant createdAt,
      String runId,
      WeightsKind kind,
      long samplesSeen,
      long batchesSeen,
      Double prequentialAccuracy,
      Double prequentialLoss) {}

  /**
   * A snapshot of the given parameters (in {@link DenseNetwork#parameters()} order: W[0], b[0],
   * W[1], ...). The last layer is SOFTMAX, the others RELU.
   */
  public static ModelSnapshot build(Header header, int[] sizes, INDArray[] parameters) {
    List<DenseLayer> layers = new ArrayList<>();
    int count = sizes.length - 1;
    for (int l = 0; l < count; l++) {
      layers.add(
          DenseLayer.newBuilder()
              .setInputs(sizes[l])
              .setOutputs(sizes[l + 1])
              .setActivation(l == count - 1 ? Activation.SOFTMAX : Activation.RELU)
              .setWeights(ByteBuffer.wrap(littleEndian(parameters[2 * l])))
              .setBias(ByteBuffer.wrap(littleEndian(parameters[2 * l + 1])))
              .build());
    }
    return ModelSnapshot.newBuilder()
        .setModelId(header.modelId())
        .setVersion(header.version())
        .setCreatedAt(header.createdAt())
        .setRunId(header.runId())
        .setLayers(layers)
        .setWeightsKind(header.kind())
        .setInputScale(INPUT_SCALE)
        .setChecksum(ByteBuffer.wrap(checksum(layers)))
        .setSamplesSeen(header.samplesSeen())
        .setBatchesSeen(header.batchesSeen())
        .setPrequentialAccuracy(header.prequentialAccuracy())
        .setPrequentialLoss(header.prequentialLoss())
        .build();
  }

  /** SHA-256 over each layer's weights bytes then bias bytes, in layer order. */
  public static byte[] checksum(List<DenseLayer> layers) {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    for (DenseLayer layer : layers) {
      sha.update(layer.getWeights().duplicate());
      sha.update(layer.getBias().duplicate());
    }
    return sha.digest();
  }

  /**
   * Bytes of a snapshot of this architecture, an upper bound on its encoded size for topic and
   * request limits.
   */
  public static int encodedSizeBound(int[] sizes) {
    long bytes = 1024; // ids, counters, checksum, framing
    for (int l = 0; l + 1 < sizes.length; l++) {
      bytes += 4L * ((long) sizes[l] * sizes[l + 1] + sizes[l + 1]) + 32;
    }
    return Math.toIntExact(bytes);
  }

  /**
   * Checks a snapshot (architecture, checksum, finite weights) and loads it into a float32 network.
   *
   * @param expectedSizes the layer sizes the caller serves, or null to accept any dense
   *     ReLU/softmax stack
   */
  public static DenseNetwork toNetwork(ModelSnapshot snapshot, int[] expectedSizes) {
    List<DenseLayer> layers = snapshot.getLayers();
    if (layers.isEmpty()) {
      throw new InvalidSnapshotException(
          InvalidSnapshotException.Reason.ARCHITECTURE, "snapshot has no layers");
    }
    if (layers.size() > MAX_LAYERS) {
      throw new InvalidSnapshotException(
          InvalidSnapshotException.Reason.ARCHITECTURE,
          "snapshot has " + layers.size() + " layers, more than the limit of " + MAX_LAYERS);
    }
    int[] sizes = new int[layers.size() + 1];
    sizes[0] = layers.get(0).getInputs();
    for (int l = 0; l < layers.size(); l++) {
      DenseLayer layer = layers.get(l);
      if (layer.getInputs() != sizes[l] || layer.getInputs() <= 0 || layer.getOutputs() <= 0) {
        throw new InvalidSnapshotException(
            InvalidSnapshotException.Reason.ARCHITECTURE,
            "layer "
                + l
                + " has "
                + layer.getInputs()
                + " inputs and "
                + layer.getOutputs()
                + " outputs, the layer before gives "
                + sizes[l]);
      }
      Activation expected = l == layers.size() - 1 ? Activation.SOFTMAX : Activation.RELU;
      if (layer.getActivation() != expected) {
        throw new InvalidSnapshotException(
            InvalidSnapshotException.Reason.ARCHITECTURE,
            "layer " + l + " is " + layer.getActivation() + ", expected " + expected);
      }
      sizes[l + 1] = layer.getOutputs();
      long weightBytes = 4L * layer.getInputs() * layer.getOutputs();
      if (layer.getWeights().remaining() != weightBytes
          || layer.getBias().remaining() != 4L * layer.getOutputs()) {
        throw new InvalidSnapshotException(
            InvalidSnapshotException.Reason.ARCHITECTURE,
            "layer "
                + l
                + " carries "
                + layer.getWeights().remaining()
                + " weight and "
                + layer.getBias().remaining()
                + " bias bytes for shape ("
                + layer.getInputs()
                + ", "
                + layer.getOutputs()
                + ")");
      }
    }
    if (expectedSizes != null && !Arrays.equals(sizes, expectedSizes)) {
      throw new InvalidSnapshotException(
          InvalidSnapshotException.Reason.ARCHITECTURE,
          "snapshot is " + Arrays.toString(sizes) + ", expected " + Arrays.toString(expectedSizes));
    }
    if (!Arrays.equals(checksum(layers), bytes(snapshot.getChecksum()))) {
      throw new InvalidSnapshotException(
          InvalidSnapshotException.Reason.CHECKSUM,
          "checksum does not match the weights of snapshot "
              + snapshot.getModelId()
              + " v"
              + snapshot.getVersion());
    }
    DenseNetwork network = DenseNetwork.zeros(sizes, DataType.FLOAT);
    INDArray[] parameters = network.parameters();
    for (int l = 0; l < layers.size(); l++) {
      load(layers.get(l).getWeights(), parameters[2 * l], l);
      load(layers.get(l).getBias(), parameters[2 * l + 1], l);
    }
    return network;
  }

  private static void load(ByteBuffer source, INDArray target, int layer) {
    FloatBuffer floats = source.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    for (int i = 0; i < floats.limit(); i++) {
      if (!Float.isFinite(floats.get(i))) {
        throw new InvalidSnapshotException(
            InvalidSnapshotException.Reason.NON_FINITE,
            "layer " + layer + " holds a non-finite value at index " + i);
      }
    }
    target.data().asNioFloat().put(floats);
  }

  static byte[] littleEndian(INDArray tensor) {
    int n = Math.toIntExact(tensor.length());
    ByteBuffer bytes = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
    FloatBuffer source = tensor.data().asNioFloat().duplicate();
    source.position(0).limit(n);
    bytes.asFloatBuffer().put(source);
    return bytes.array();
  }

  private static byte[] bytes(ByteBuffer buffer) {
    byte[] copy = new byte[buffer.remaining()];
    buffer.duplicate().get(copy);
    return copy;
  }
}
