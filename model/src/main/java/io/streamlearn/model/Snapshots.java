package io.streamlearn.model;

import io.streamlearn.contract.Activation;
import io.streamlearn.contract.DenseLayer;
import io.streamlearn.contract.FeatureSpec;
import io.streamlearn.contract.ImageShape;
import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.contract.TransformKind;
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
 * Converts between a network's parameters, its {@link ModelSpec} and {@link InputTransform}, and
 * the {@link ModelSnapshot} contract: weights as float32 little-endian, row-major (inputs,
 * outputs); bias float32 little-endian; checksum SHA-256 over each layer's weights bytes then bias
 * bytes, in layer order, then (when the snapshot carries a spec) the transform's mean bytes and
 * variance bytes. A spec that a v1 snapshot implies (MNIST's shape with a scale) is left out, so
 * that the snapshot stays readable by v1 scorers.
 */
public final class Snapshots {
  /** What MNIST's pixels (0-255) are multiplied by before the first layer. */
  public static final float INPUT_SCALE = InputTransform.Scale.MNIST.factor();

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
   * A v1 snapshot (no spec) of the given parameters (in {@link DenseNetwork#parameters()} order:
   * W[0], b[0], W[1], ...), scaled by {@link #INPUT_SCALE}: as earlier releases wrote them, of any
   * sizes (a scorer refuses one that is not 784 inputs and 10 classes). The last layer is SOFTMAX,
   * the others RELU.
   */
  public static ModelSnapshot build(Header header, int[] sizes, INDArray[] parameters) {
    return build(header, sizes, parameters, null, InputTransform.Scale.MNIST);
  }

  /**
   * A snapshot of the given parameters with its spec and the transform its inputs go through.
   *
   * @param spec the spec, or null for a v1 snapshot (see the three-argument build)
   * @throws IllegalArgumentException when the spec, the transform and the sizes disagree
   */
  public static ModelSnapshot build(
      Header header, int[] sizes, INDArray[] parameters, ModelSpec spec, InputTransform transform) {
    if (spec != null) {
      checkAgree(spec, transform, sizes);
    }
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
    FeatureSpec written =
        spec == null || spec.impliedByVersionOne() ? null : toContract(spec, transform);
    return ModelSnapshot.newBuilder()
        .setModelId(header.modelId())
        .setVersion(header.version())
        .setCreatedAt(header.createdAt())
        .setRunId(header.runId())
        .setLayers(layers)
        .setWeightsKind(header.kind())
        .setInputScale(transform instanceof InputTransform.Scale s ? s.factor() : 1f)
        .setChecksum(
            ByteBuffer.wrap(
                checksum(
                    layers,
                    written,
                    transform instanceof InputTransform.Scale scale ? scale.factor() : 1f)))
        .setSamplesSeen(header.samplesSeen())
        .setBatchesSeen(header.batchesSeen())
        .setPrequentialAccuracy(header.prequentialAccuracy())
        .setPrequentialLoss(header.prequentialLoss())
        .setSpec(written)
        .build();
  }

  private static void checkAgree(ModelSpec spec, InputTransform transform, int[] sizes) {
    if (sizes[0] != spec.inputs() || sizes[sizes.length - 1] != spec.classes()) {
      throw new IllegalArgumentException(
          "network "
              + Arrays.toString(sizes)
              + " does not fit a spec of "
              + spec.inputs()
              + " inputs and "
              + spec.classes()
              + " classes");
    }
    boolean standardizes = transform instanceof InputTransform.Standardize;
    if (standardizes != spec.standardize()) {
      throw new IllegalArgumentException("transform " + transform + " is not the spec's kind");
    }
    if (transform instanceof InputTransform.Standardize s && s.width() != spec.inputs()) {
      throw new IllegalArgumentException(
          "transform of " + s.width() + " inputs for a spec of " + spec.inputs());
    }
  }

  private static FeatureSpec toContract(ModelSpec spec, InputTransform transform) {
    FeatureSpec.Builder b =
        FeatureSpec.newBuilder()
            .setInputs(spec.inputs())
            .setClasses(spec.classes())
            .setFeatureNames(spec.featureNames())
            .setClassNames(spec.classNames())
            .setImage(
                spec.image() == null
                    ? null
                    : new ImageShape(spec.image().height(), spec.image().width()));
    if (transform instanceof InputTransform.Standardize s) {
      b.setTransform(TransformKind.STANDARDIZE)
          .setMean(ByteBuffer.wrap(littleEndian(s.mean())))
          .setVariance(ByteBuffer.wrap(littleEndian(s.variance())))
          .setCount(s.count())
          .setEpsilon(s.epsilon());
    } else {
      b.setTransform(TransformKind.SCALE)
          .setMean(ByteBuffer.allocate(0))
          .setVariance(ByteBuffer.allocate(0))
          .setCount(0)
          .setEpsilon(0f);
    }
    return b.build();
  }

  /** What a checked snapshot's inputs are and what they go through before the first layer. */
  public record Input(ModelSpec spec, InputTransform transform) {}

  /**
   * The spec and transform of a snapshot (v1's when it carries none), checked against its layers.
   *
   * @throws InvalidSnapshotException ARCHITECTURE when they disagree or the spec is inconsistent,
   *     NON_FINITE for a scale or statistic that is not a finite number
   */
  public static Input input(ModelSnapshot snapshot) {
    List<DenseLayer> layers = snapshot.getLayers();
    int inputs = layers.isEmpty() ? 0 : layers.get(0).getInputs();
    int classes = layers.isEmpty() ? 0 : layers.get(layers.size() - 1).getOutputs();
    FeatureSpec written = snapshot.getSpec();
    float scale = snapshot.getInputScale();
    ModelSpec spec;
    InputTransform transform;
    try {
      if (written == null) {
        spec = ModelSpec.MNIST;
      } else {
        ImageShape image = written.getImage();
        spec =
            new ModelSpec(
                written.getInputs(),
                written.getClasses(),
                written.getFeatureNames(),
                written.getClassNames(),
                image == null ? null : new ModelSpec.Image(image.getHeight(), image.getWidth()),
                written.getTransform() == TransformKind.STANDARDIZE);
      }
    } catch (IllegalArgumentException e) {
      throw new InvalidSnapshotException(
          InvalidSnapshotException.Reason.ARCHITECTURE, "spec: " + e.getMessage());
    }
    if (spec.inputs() != inputs || spec.classes() != classes) {
      throw new InvalidSnapshotException(
          InvalidSnapshotException.Reason.ARCHITECTURE,
          "spec of "
              + spec.inputs()
              + " inputs and "
              + spec.classes()
              + " classes for layers taking "
              + inputs
              + " and giving "
              + classes);
    }
    if (!spec.standardize()) {
      if (!(scale > 0) || !Float.isFinite(scale)) {
        throw new InvalidSnapshotException(
            InvalidSnapshotException.Reason.ARCHITECTURE,
            "inputScale is " + scale + ", expected a positive finite number");
      }
      transform = new InputTransform.Scale(scale);
    } else {
      long bytes = 4L * spec.inputs();
      if (written.getMean().remaining() != bytes || written.getVariance().remaining() != bytes) {
        throw new InvalidSnapshotException(
            InvalidSnapshotException.Reason.ARCHITECTURE,
            "standardize carries "
                + written.getMean().remaining()
                + " mean and "
                + written.getVariance().remaining()
                + " variance bytes for "
                + spec.inputs()
                + " inputs");
      }
      if (written.getCount() < 0
          || !(written.getEpsilon() >= 0)
          || !Float.isFinite(written.getEpsilon())) {
        throw new InvalidSnapshotException(
            InvalidSnapshotException.Reason.ARCHITECTURE,
            "standardize: count "
                + written.getCount()
                + " and epsilon "
                + written.getEpsilon()
                + ", expected both 0 or more");
      }
      try {
        transform =
            new InputTransform.Standardize(
                floats(written.getMean()),
                floats(written.getVariance()),
                written.getCount(),
                written.getEpsilon());
      } catch (IllegalArgumentException e) {
        throw new InvalidSnapshotException(
            InvalidSnapshotException.Reason.NON_FINITE, "standardize: " + e.getMessage());
      }
    }
    return new Input(spec, transform);
  }

  private static float[] floats(ByteBuffer bytes) {
    FloatBuffer floats = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    float[] out = new float[floats.remaining()];
    floats.get(out);
    return out;
  }

  /** SHA-256 over each layer's weights bytes then bias bytes, in layer order (a v1 snapshot's). */
  public static byte[] checksum(List<DenseLayer> layers) {
    return checksum(layers, null, 0f);
  }

  /** The checksum {@code snapshot} must carry. */
  public static byte[] checksum(ModelSnapshot snapshot) {
    return checksum(snapshot.getLayers(), snapshot.getSpec(), snapshot.getInputScale());
  }

  /**
   * SHA-256 over each layer's weights bytes then bias bytes, in layer order, then, when {@code
   * spec} is not null, the transform: its kind (one byte, the enum's ordinal), count (int64),
   * epsilon and {@code inputScale} (float32), all little-endian, then the mean bytes and the
   * variance bytes.
   */
  public static byte[] checksum(List<DenseLayer> layers, FeatureSpec spec, float inputScale) {
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
    if (spec != null) {
      ByteBuffer transform = ByteBuffer.allocate(17).order(ByteOrder.LITTLE_ENDIAN);
      transform.put((byte) spec.getTransform().ordinal());
      transform.putLong(spec.getCount());
      transform.putFloat(spec.getEpsilon());
      transform.putFloat(inputScale);
      sha.update(transform.flip());
      sha.update(spec.getMean().duplicate());
      sha.update(spec.getVariance().duplicate());
    }
    return sha.digest();
  }

  /**
   * Bytes of a snapshot of this architecture, an upper bound on its encoded size for topic and
   * request limits.
   */
  public static int encodedSizeBound(int[] sizes) {
    return encodedSizeBound(sizes, null);
  }

  /**
   * As {@link #encodedSizeBound(int[])}, for a snapshot carrying {@code spec} (or none when null or
   * v1's): its statistics (8 bytes per input) and names too.
   */
  public static int encodedSizeBound(int[] sizes, ModelSpec spec) {
    long bytes = 1024; // ids, counters, checksum, framing
    if (spec != null && !spec.impliedByVersionOne()) {
      bytes += 64 + 8L * spec.inputs();
      for (String name : spec.featureNames()) {
        bytes += 5 + name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
      }
      for (String name : spec.classNames()) {
        bytes += 5 + name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
      }
    }
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
    input(snapshot);
    if (!Arrays.equals(checksum(snapshot), bytes(snapshot.getChecksum()))) {
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

  private static byte[] littleEndian(float[] values) {
    ByteBuffer bytes = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    bytes.asFloatBuffer().put(values);
    return bytes.array();
  }

  private static byte[] bytes(ByteBuffer buffer) {
    byte[] copy = new byte[buffer.remaining()];
    buffer.duplicate().get(copy);
    return copy;
  }
}
