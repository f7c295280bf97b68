package io.streamlearn.bench;

import io.streamlearn.core.Shuffle;
import io.streamlearn.mnist.MnistDataset;
import io.streamlearn.mnist.MnistFetcher;
import io.streamlearn.model.Adam;
import io.streamlearn.model.DenseNetwork;
import io.streamlearn.model.Evaluation;
import io.streamlearn.model.InputTransform;
import io.streamlearn.model.TrainingLoop;
import io.streamlearn.model.WeightAverage;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * {@code ./streamlearn select-model [epochs] [seeds] [inits] [ema decays] [lr decay rates]} (lists
 * comma-separated, defaults {@code 5 2 he,glorot 0,0.999 1,0.7}): chooses the learner's defaults on
 * a validation split held out of the training set (the last 10,000 of the 60,000 training images;
 * the test set is never read). Trains each candidate (initialisation x weight averaging x
 * learning-rate schedule) with Adam 1e-3, batch 64, for 5 epochs on the first 50,000 images, over
 * several seeds, and prints validation accuracy after epoch 1 and epoch 5.
 */
public final class ModelSelection {
  private static final int TRAIN_ROWS = 50_000;
  private static final int BATCH = 64;

  record Candidate(DenseNetwork.Init init, double emaDecay, double lrDecayRate) {
    @Override
    public String toString() {
      return String.format(
          "init %-6s ema %-6s lr decay %s",
          init.name().toLowerCase(),
          emaDecay == 0 ? "off" : Double.toString(emaDecay),
          lrDecayRate == 1 ? "off" : lrDecayRate + "/1000 steps");
    }
  }

  private ModelSelection() {}

  public static void main(String[] args) {
    int epochs = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    int seeds = args.length > 1 ? Integer.parseInt(args[1]) : 2;
    MnistDataset train = MnistDataset.train(MnistFetcher.ensureDefault());
    String[] inits = args.length > 2 ? args[2].split(",") : new String[] {"he", "glorot"};
    double[] emas = args.length > 3 ? doubles(args[3]) : new double[] {0, 0.999};
    double[] decays = args.length > 4 ? doubles(args[4]) : new double[] {1.0, 0.7};
    List<Candidate> candidates = new ArrayList<>();
    for (String initName : inits) {
      DenseNetwork.Init init =
          DenseNetwork.Init.valueOf(initName.trim().toUpperCase(java.util.Locale.ROOT));
      for (double ema : emas) {
        for (double decay : decays) {
          candidates.add(new Candidate(init, ema, decay));
        }
      }
    }
    System.out.printf(
        "Validation accuracy (train rows 0-%d, validation rows %d-%d of the training set),"
            + " mean of %d seeds, 784-100-10, Adam 1e-3, batch %d%n",
        TRAIN_ROWS - 1, TRAIN_ROWS, train.size() - 1, seeds, BATCH);
    System.out.printf("%-48s %12s %12s%n", "candidate", "epoch 1", "epoch " + epochs);
    Candidate best = null;
    double bestScore = -1;
    for (Candidate c : candidates) {
      double[] sum = new double[2];
      for (int seed = 1; seed <= seeds; seed++) {
        double[] acc = run(c, train, epochs, seed);
        sum[0] += acc[0];
        sum[1] += acc[1];
      }
      double first = sum[0] / seeds;
      double last = sum[1] / seeds;
      System.out.printf("%-48s %11.2f%% %11.2f%%%n", c, 100 * first, 100 * last);
      if (last > bestScore) {
        bestScore = last;
        best = c;
      }
    }
    System.out.printf(
        "best on validation after %d epochs: %s (%.2f%%)%n", epochs, best, 100 * bestScore);
  }

  private static double[] doubles(String list) {
    return java.util.Arrays.stream(list.split(",")).mapToDouble(Double::parseDouble).toArray();
  }

  /** Validation accuracy after the first and the last epoch. */
  static double[] run(Candidate c, MnistDataset data, int epochs, long seed) {
    int[] sizes = {784, 100, 10};
    DenseNetwork network = DenseNetwork.initialized(sizes, DataType.FLOAT, seed, c.init());
    Adam adam = new Adam(Adam.Settings.defaults(), network.parameters());
    WeightAverage average =
        c.emaDecay() > 0 ? new WeightAverage(c.emaDecay(), network.parameters()) : null;
    TrainingLoop loop =
        new TrainingLoop(
            network,
            adam,
            average,
            step -> 1e-3 * Math.pow(c.lrDecayRate(), (step - 1) / 1000.0),
            BATCH);
    DenseNetwork scored = DenseNetwork.zeros(sizes, DataType.FLOAT);
    SplittableRandom order = new SplittableRandom(seed * 7919);
    double[] result = new double[2];
    for (int e = 1; e <= epochs; e++) {
      loop.epoch(data, Shuffle.permutation(TRAIN_ROWS, order), InputTransform.Scale.MNIST);
      if (e == 1 || e == epochs) {
        INDArray[] weights = loop.publishedWeights();
        for (int k = 0; k < weights.length; k++) {
          scored.parameters()[k].assign(weights[k]);
        }
        double acc =
            Evaluation.accuracy(scored, data, TRAIN_ROWS, data.size(), InputTransform.Scale.MNIST);
        result[e == 1 ? 0 : 1] = acc;
      }
    }
    return result;
  }
}
