package io.streamlearn.scorer;

import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.model.DenseNetwork;
import io.streamlearn.model.RowForward;
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
 * @param inputScale what pixels are multiplied by
 * @param samplesSeen samples trained on before the snapshot
 * @param batchesSeen batches applied before the snapshot
 * @param prequentialAccuracy the learner's rolling accuracy at snapshot time, or null
 * @param appliedAt when this scorer started serving it
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
    DenseNetwork network,
    RowForward rowForward) {

  static ServingModel of(ModelSnapshot snapshot, DenseNetwork network, Instant appliedAt) {
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
        network,
        RowForward.of(network));
  }

  public int[] sizes() {
    return network.sizes();
  }
}
