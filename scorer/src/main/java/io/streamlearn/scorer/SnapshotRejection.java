package io.streamlearn.scorer;

/** Why the scorer refused a snapshot; the tag of {@code streamlearn.scorer.snapshots.rejected}. */
public enum SnapshotRejection {
  /** The record is not a ModelSnapshot in the contract's encoding. */
  UNDECODABLE,
  /** The value names another model than the record key. */
  MODEL_ID_MISMATCH,
  /**
   * Not a 784-input, 10-output ReLU/softmax stack, or weights of the wrong length, or a bad
   * inputScale.
   */
  ARCHITECTURE,
  /** The checksum does not match the weights. */
  CHECKSUM,
  /** A weight or bias is NaN or infinite. */
  NON_FINITE,
  /** Of the lineage (run) in use, and its version is not newer than the one in use. */
  NOT_NEWER,
  /**
   * Of the lineage in use, newer, but trained on fewer samples than the model in use: a model never
   * goes back.
   */
  FEWER_SAMPLES,
  /**
   * The version is below 1 or above 2^53 ({@code Snapshots.MAX_VERSION}), which no learner reaches.
   */
  VERSION_OUT_OF_RANGE
}
