package io.streamlearn.bench;

import io.streamlearn.contract.ModelSnapshot;
import io.streamlearn.contract.TrainingSample;
import io.streamlearn.contract.WeightsKind;
import io.streamlearn.contract.avro.Codecs;
import io.streamlearn.model.DenseNetwork;
import io.streamlearn.model.Snapshots;
import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.specific.SpecificData;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * What the bounds check before every decode costs: the contract's codec (the check, then Avro's
 * decoder, then the contract's validation) beside Avro's own {@code BinaryMessageDecoder} alone, on
 * the same payloads, alternating rounds in one run. Prints the median ns per record of each and
 * their ratio. Usage: {@code ./streamlearn benchmark-decode [rounds]}.
 */
public final class DecodeBenchmark {
  private DecodeBenchmark() {}

  public static void main(String[] args) {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 9;
    SplittableRandom random = new SplittableRandom(3);
    byte[][] samples = new byte[4096][];
    for (int i = 0; i < samples.length; i++) {
      byte[] pixels = new byte[784];
      random.nextBytes(pixels);
      samples[i] =
          Codecs.TRAINING_SAMPLE.encode(
              TrainingSample.newBuilder()
                  .setSampleId("train-" + i)
                  .setLabel(i % 10)
                  .setPixels(ByteBuffer.wrap(pixels))
                  .setSource("bench")
                  .setEventTime(Instant.now())
                  .build());
    }
    DenseNetwork network = DenseNetwork.initialized(new int[] {784, 100, 10}, DataType.FLOAT, 1);
    byte[] snapshot =
        Codecs.MODEL_SNAPSHOT.encode(
            Snapshots.build(
                new Snapshots.Header(
                    "mnist", 1, Instant.now(), "run", WeightsKind.RAW, 64, 1, null, null),
                network.sizes(),
                network.parameters()));

    BinaryMessageDecoder<TrainingSample> avroSamples =
        new BinaryMessageDecoder<>(
            SpecificData.getForClass(TrainingSample.class), TrainingSample.getClassSchema());
    BinaryMessageDecoder<ModelSnapshot> avroSnapshots =
        new BinaryMessageDecoder<>(
            SpecificData.getForClass(ModelSnapshot.class), ModelSnapshot.getClassSchema());
    double[][] ns = new double[4][rounds];
    long sink = 0;
    for (int r = -2; r < rounds; r++) { // two warm-up rounds
      long t0 = System.nanoTime();
      for (int k = 0; k < 50; k++) {
        for (byte[] s : samples) {
          sink += Codecs.TRAINING_SAMPLE.decode(s).getLabel();
        }
      }
      long t1 = System.nanoTime();
      for (int k = 0; k < 50; k++) {
        for (byte[] s : samples) {
          sink += decode(avroSamples, s).getLabel();
        }
      }
      long t2 = System.nanoTime();
      for (int k = 0; k < 200; k++) {
        sink += Codecs.MODEL_SNAPSHOT.decode(snapshot).getVersion();
      }
      long t3 = System.nanoTime();
      for (int k = 0; k < 200; k++) {
        sink += decode(avroSnapshots, snapshot).getVersion();
      }
      long t4 = System.nanoTime();
      if (r >= 0) {
        ns[0][r] = (t1 - t0) / (50.0 * samples.length);
        ns[1][r] = (t2 - t1) / (50.0 * samples.length);
        ns[2][r] = (t3 - t2) / 200.0;
        ns[3][r] = (t4 - t3) / 200.0;
      }
    }
    System.out.println();
    System.out.printf(
        "| record (median of %d rounds) | codec: bounds check + Avro + validation (ns) | Avro alone (ns)"
            + " | ratio |%n",
        rounds);
    System.out.println("|---|---:|---:|---:|");
    System.out.printf(
        "| TrainingSample, %d bytes | %.0f | %.0f | %.2f |%n",
        samples[0].length, median(ns[0]), median(ns[1]), median(ns[0]) / median(ns[1]));
    System.out.printf(
        "| ModelSnapshot 784-100-10, %d bytes | %.0f | %.0f | %.2f |%n",
        snapshot.length, median(ns[2]), median(ns[3]), median(ns[2]) / median(ns[3]));
    System.out.println("(checksum " + sink + ")");
  }

  private static <T> T decode(BinaryMessageDecoder<T> decoder, byte[] payload) {
    try {
      return decoder.decode(new ByteArrayInputStream(payload), null);
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted[sorted.length / 2];
  }
}
