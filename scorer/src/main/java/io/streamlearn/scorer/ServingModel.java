package io.streamlearn.scorer;

import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.model.DenseNetwork;
import io.streamlearn.model.InputTransform;
import io.streamlearn.model.ModelSpec;
import io.streamlearn.model.RowForward;
import io.streamlearn.model.Snapshots;
import java.time.Instant;

/**
 * A checked snapshot ready to serve: its identity and a network whose weights never change after
 * loading. Each scoring thread scores through its own {@link DenseNetwork#inferenceView()} of it.
 *
 * @param modelId the model
 * @param version the snapshot's version
 * @param createdAt when the learner took the weights
 * @param runId the learner state lineage
 * @param weightsKind RAW or EMA
 * @param inputScale the snapshot's inputScale (what a SCALE transform multiplies by)
 * @param samplesSeen samples trained on before the snapshot
 * @param batchesSeen batches applied before the snapshot
 * @param prequentialAccuracy the learner's rolling accuracy at snapshot time, or null
 * @param appliedAt when this scorer started serving it
 * @param spec what the inputs and classes are (the snapshot's, or v1's)
 * @param transform what the inputs go through before the first layer
 * @param network the weights (shared, read-only)
 * @param rowForward the same weights on the heap, for scoring a few rows without a GEMM (shared,
 *     read-only)
 */
public record ServingModel(
    String modelId,
    long version,
    Instant createdAt,
    String runId,
    String weightsKind,
    float inputScale,
    long samplesSeen,
    long batchesSeen,
    Double prequentialAccuracy,
    Instant appliedAt,
    ModelSpec spec,
    InputTransform transform,
    DenseNetwork network,
    RowForward rowForward) {

  /**
   * A snapshot checked by {@link Snapshots#toNetwork} and its network.
   *
   * @throws io.streamlearn.model.InvalidSnapshotException for a spec that does not fit the layers
   */
  static ServingModel of(ModelSnapshot snapshot, DenseNetwork network, Instant appliedAt) {
    Snapshots.Input input = Snapshots.input(snapshot);
    return new ServingModel(
        snapshot.getModelId(),
        snapshot.getVersion(),
        snapshot.getCreatedAt(),
        snapshot.getRunId(),
        snapshot.getWeightsKind().name(),
        snapshot.getInputScale(),
        snapshot.getSamplesSeen(),
        snapshot.getBatchesSeen(),
        snapshot.getPrequentialAccuracy(),
        appliedAt,
        input.spec(),
        input.transform(),
        network,
        RowForward.of(network));
  }

  /** The name of class {@code index}, or null when the spec names no classes. */
  public String className(int index) {
    return spec.className(index);
  }

  public int[] sizes() {
    return network.sizes();
  }
}
