package io.streamlearn.scorer;

import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.contract.avro.Codecs;
import io.streamlearn.contract.avro.InvalidPayloadException;
import io.streamlearn.model.DenseNetwork;
import io.streamlearn.model.InvalidSnapshotException;
import io.streamlearn.model.Snapshots;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The model in use, swapped atomically: a snapshot is decoded and checked (architecture, checksum,
 * finite weights, its version and lineage) and loaded completely before one reference change makes
 * it current, so a reader sees the old model or the new one, never a mix. Readers take {@link
 * #current()} once per batch or request.
 *
 * <p>Versions and lineages: a snapshot of the lineage in use ({@code runId}) must be newer and
 * trained on at least as many samples (after a learner crash, a snapshot from a state that was
 * never committed may be followed by one of the restored state, which has seen fewer: it is
 * refused, and the learner itself holds its snapshots until it has passed the one out). A snapshot
 * of another lineage is served whatever its version: the newest record on the topic is what a
 * restarted scorer would serve (a learner that began a new state, a recreated topic). Versions
 * outside 1-2^53 are refused.
 *
 * <p>Ready means: the snapshot topic was read to its end once (so the newest snapshot is in use)
 * and a model is loaded. Until then the scorer scores nothing.
 */
public final class ModelHolder {
  private static final Logger log = LoggerFactory.getLogger(ModelHolder.class);

  /** What happened to one offered snapshot. */
  public record Outcome(boolean applied, SnapshotRejection rejection, String detail) {
    static final Outcome APPLIED = new Outcome(true, null, null);

    static Outcome rejected(SnapshotRejection rejection, String detail) {
      return new Outcome(false, rejection, detail);
    }
  }

  /** Sees every outcome (metrics). */
  public interface Listener {
    void applied(ServingModel model);

    void rejected(SnapshotRejection reason);
  }

  private final String modelId;
  private final Clock clock;
  private final Listener listener;
  private final AtomicReference<ServingModel> current = new AtomicReference<>();
  private final CountDownLatch caughtUp = new CountDownLatch(1);
  private final CountDownLatch ready = new CountDownLatch(1);

  /**
   * A holder of model {@code modelId}: it serves a snapshot of any width and any number of classes,
   * as the snapshot's spec declares them (v1's for a snapshot without one).
   */
  public ModelHolder(String modelId, Clock clock, Listener listener) {
    this.modelId = modelId;
    this.clock = clock;
    this.listener = listener;
  }

  /** The model in use, or empty before the first one. */
  public Optional<ServingModel> current() {
    return Optional.ofNullable(current.get());
  }

  public String modelId() {
    return modelId;
  }

  /**
   * Decodes, checks and (if newer) applies the value of a snapshot record keyed by this holder's
   * model id. Never throws for a bad snapshot: the outcome says why it was refused, and the model
   * in use stays.
   */
  public Outcome offer(byte[] value, String origin) {
    ModelSnapshot snapshot;
    try {
      snapshot = Codecs.MODEL_SNAPSHOT.decode(value);
    } catch (InvalidPayloadException e) {
      return reject(SnapshotRejection.UNDECODABLE, origin + ": " + e.getMessage());
    }
    return offer(snapshot, origin);
  }

  /**
   * Checks a snapshot record without applying it: everything {@link #offer} checks that does not
   * depend on the model in use (it decodes, names this model, has a version in range, is a valid
   * network). A rejection is logged and counted as by {@code offer}. The snapshot follower checks
   * each record while it catches up and offers only the newest that passes, so poison at the end of
   * the topic cannot keep a restarted scorer from its model.
   */
  public Optional<ModelSnapshot> check(byte[] value, String origin) {
    ModelSnapshot snapshot;
    try {
      snapshot = Codecs.MODEL_SNAPSHOT.decode(value);
    } catch (InvalidPayloadException e) {
      reject(SnapshotRejection.UNDECODABLE, origin + ": " + e.getMessage());
      return Optional.empty();
    }
    boolean valid =
        load(snapshot, origin + " (" + snapshot.getModelId() + " v" + snapshot.getVersion() + ")")
                .network()
            != null;
    return valid ? Optional.of(snapshot) : Optional.empty();
  }

  /**
   * The lineage rule, the one place it is written: whether a snapshot may replace {@code current}
   * (null: nothing in use, so it may). Another lineage may, whatever its version; the same lineage
   * only with a newer version trained on at least as many samples. Null when it may, else why not.
   */
  static SnapshotRejection lineageRule(
      ModelSnapshot candidate, String currentRun, long currentVersion, long currentSamples) {
    if (currentRun == null || !currentRun.equals(candidate.getRunId())) {
      return null;
    }
    if (candidate.getVersion() <= currentVersion) {
      return SnapshotRejection.NOT_NEWER;
    }
    return candidate.getSamplesSeen() < currentSamples ? SnapshotRejection.FEWER_SAMPLES : null;
  }

  /** A snapshot loaded into a network, or why not (already counted). */
  private record Loaded(DenseNetwork network, Outcome rejection) {}

  /** The checks that do not depend on the model in use, and the load. */
  private Loaded load(ModelSnapshot snapshot, String what) {
    if (!modelId.equals(snapshot.getModelId())) {
      return new Loaded(
          null,
          reject(
              SnapshotRejection.MODEL_ID_MISMATCH,
              what + ": the value names model " + snapshot.getModelId() + ", the key " + modelId));
    }
    if (snapshot.getVersion() < 1 || snapshot.getVersion() > Snapshots.MAX_VERSION) {
      return new Loaded(
          null,
          reject(
              SnapshotRejection.VERSION_OUT_OF_RANGE,
              what + ": version outside 1-" + Snapshots.MAX_VERSION));
    }
    DenseNetwork network;
    try {
      network = Snapshots.toNetwork(snapshot, null);
    } catch (InvalidSnapshotException e) {
      return new Loaded(
          null, reject(SnapshotRejection.valueOf(e.reason().name()), what + ": " + e.getMessage()));
    } catch (RuntimeException e) {
      // A snapshot the checks above let through but that cannot be loaded must not stop the
      // follower: on a
      // compacted topic it would stop every restart too.
      log.error("model {}: cannot load snapshot {}", modelId, what, e);
      return new Loaded(
          null, reject(SnapshotRejection.ARCHITECTURE, what + ": cannot be loaded: " + e));
    }
    return new Loaded(network, null);
  }

  /** As {@link #offer(byte[], String)}, for a decoded snapshot. */
  public Outcome offer(ModelSnapshot snapshot, String origin) {
    String what = origin + " (" + snapshot.getModelId() + " v" + snapshot.getVersion() + ")";
    ServingModel inUse = current.get();
    boolean newLineage = inUse != null && !inUse.runId().equals(snapshot.getRunId());
    boolean named =
        modelId.equals(snapshot.getModelId())
            && snapshot.getVersion() >= 1
            && snapshot.getVersion()
                <= Snapshots.MAX_VERSION; // else load() refuses it, with its own reason
    SnapshotRejection lineage =
        inUse == null || !named
            ? null
            : lineageRule(snapshot, inUse.runId(), inUse.version(), inUse.samplesSeen());
    if (lineage == SnapshotRejection.NOT_NEWER) {
      return reject(lineage, what + ": not newer than v" + inUse.version() + " in use");
    }
    if (lineage == SnapshotRejection.FEWER_SAMPLES) {
      return reject(
          lineage,
          what
              + ": trained on "
              + snapshot.getSamplesSeen()
              + " samples, fewer than the "
              + inUse.samplesSeen()
              + " of v"
              + inUse.version()
              + " in use");
    }
    Loaded loaded =
        load(snapshot, what); // the cheap lineage rules first: an old snapshot is never loaded
    if (loaded.network() == null) {
      return loaded.rejection();
    }
    DenseNetwork network = loaded.network();
    ServingModel model = ServingModel.of(snapshot, network, clock.instant());
    // Only the snapshot follower offers, so compare-and-set cannot lose to another writer; it
    // guards the rule anyway.
    if (!current.compareAndSet(inUse, model)) {
      return reject(SnapshotRejection.NOT_NEWER, what + ": another model was applied meanwhile");
    }
    listener.applied(model);
    if (caughtUp.getCount() == 0) {
      ready.countDown();
    }
    log.info(
        "model {}: serving v{} from {} ({} weights, {} samples seen, created {})",
        modelId,
        model.version(),
        origin,
        model.weightsKind(),
        model.samplesSeen(),
        model.createdAt());
    if (newLineage) {
      // A learner that began a new state (a new application id, a state that was never committed, a
      // recreated
      // topic): the newest record on the topic is what a restarted scorer would serve, so this one
      // serves it too.
      log.warn(
          "model {}: v{} begins a new lineage (run {} after run {} at v{}, {} samples)",
          modelId,
          model.version(),
          model.runId(),
          inUse.runId(),
          inUse.version(),
          inUse.samplesSeen());
    }
    return Outcome.APPLIED;
  }

  private Outcome reject(SnapshotRejection reason, String detail) {
    listener.rejected(reason);
    ServingModel inUse = current.get();
    log.warn(
        "model {}: rejected snapshot {} [{}]; still serving {}",
        modelId,
        detail,
        reason,
        inUse == null ? "nothing" : "v" + inUse.version());
    return Outcome.rejected(reason, detail);
  }

  /**
   * The snapshot topic was read to its end once: from now on a loaded model makes the scorer ready.
   */
  public void caughtUp() {
    caughtUp.countDown();
    if (current.get() != null) {
      ready.countDown();
    }
  }

  public boolean isReady() {
    return ready.getCount() == 0;
  }

  /** Waits until ready; false on timeout. */
  public boolean awaitReady(long timeout, TimeUnit unit) throws InterruptedException {
    return ready.await(timeout, unit);
  }
}
