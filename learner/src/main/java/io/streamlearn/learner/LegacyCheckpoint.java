package io.streamlearn.learner;

import io.streamlearn.learner.avro.LearnerCheckpoint;
import io.streamlearn.learner.avro.PrequentialWindow;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A one-way reader of the hand-packed {@code meta} that learners wrote before {@link
 * LearnerCheckpoint} (formats 2 and 3: big-endian, starting with the format number), so a running
 * learner upgrades in place: it reads the old record once and writes the Avro one from then on.
 * Nothing writes these formats any more.
 */
final class LegacyCheckpoint {
  /** The format whose waiting samples were a ring ({@link SampleRing}). */
  static final int FORMAT_RING = 3;

  /** The format whose waiting samples were a plain list ({@code [count][samples...]}). */
  static final int FORMAT_LIST = 2;

  /** Largest count a legacy list field may declare: far above any real window or network. */
  private static final int MAX_COUNT = 1 << 20;

  private LegacyCheckpoint() {}

  /** Whether {@code meta} is in one of the legacy formats (it starts with 2 or 3 as an int). */
  static boolean isLegacy(byte[] meta) {
    return meta.length >= 4 && (format(meta) == FORMAT_RING || format(meta) == FORMAT_LIST);
  }

  static int format(byte[] meta) {
    return ByteBuffer.wrap(meta).getInt();
  }

  /** The checkpoint a legacy {@code meta} holds; IllegalStateException naming the fault. */
  static LearnerCheckpoint read(byte[] meta) {
    ByteBuffer in = ByteBuffer.wrap(meta);
    try {
      in.getInt(); // the format, see isLegacy
      List<Integer> sizes = ints(in, count(in));
      int batchSize = in.getInt();
      byte[] runId = new byte[count(in)];
      in.get(runId);
      LearnerCheckpoint.Builder checkpoint =
          LearnerCheckpoint.newBuilder()
              .setLayerSizes(sizes)
              .setBatchSize(batchSize)
              .setRunId(new String(runId, StandardCharsets.UTF_8))
              .setAdamStep(in.getLong())
              .setSamplesTrained(in.getLong())
              .setBatchesTrained(in.getLong())
              .setSamplesSkipped(in.getLong())
              .setBatchesSkipped(in.getLong())
              .setLastVersion(in.getLong())
              .setBatchesAtLastSnapshot(in.getLong());
      boolean hadAverage = in.get() == 1;
      long averageSteps = in.getLong();
      checkpoint.setAverageSteps(hadAverage ? averageSteps : null);
      int capacity = count(in);
      int next = in.getInt();
      int filled = in.getInt();
      long totalSamples = in.getLong();
      long totalCorrect = in.getLong();
      double totalLoss = in.getDouble();
      List<Integer> samples = new ArrayList<>(capacity);
      List<Integer> correct = new ArrayList<>(capacity);
      List<Double> loss = new ArrayList<>(capacity);
      for (int i = 0; i < capacity; i++) {
        samples.add(in.getInt());
        correct.add(in.getInt());
        loss.add(in.getDouble());
      }
      checkpoint.setPrequential(
          new PrequentialWindow(
              totalSamples, totalCorrect, totalLoss, next, filled, samples, correct, loss));
      if (in.hasRemaining()) {
        throw new IllegalStateException(
            "legacy learner state holds " + in.remaining() + " bytes after its last field");
      }
      return checkpoint.build();
    } catch (BufferUnderflowException e) {
      throw new IllegalStateException(
          "legacy learner state of " + meta.length + " bytes ends inside a field", e);
    }
  }

  private static int count(ByteBuffer in) {
    int n = in.getInt();
    if (n < 0 || n > MAX_COUNT || n > in.remaining()) {
      throw new IllegalStateException("legacy learner state declares a list of " + n);
    }
    return n;
  }

  private static List<Integer> ints(ByteBuffer in, int n) {
    List<Integer> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(in.getInt());
    }
    return out;
  }
}
