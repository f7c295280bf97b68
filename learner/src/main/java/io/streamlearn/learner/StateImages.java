package io.streamlearn.learner;

import io.streamlearn.model.Adam;
import io.streamlearn.model.DenseNetwork;
import io.streamlearn.model.Standardizer;
import io.streamlearn.model.WeightAverage;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.apache.kafka.streams.state.KeyValueStore;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Three copies of the learner's float state (weights, Adam's moments, the weight average) as the
 * store holds them, in float chunks allocated once: the stored one (the store references its
 * arrays), the newest captured one, and one free for the next capture. Training on another thread
 * captures into the free one while the stream thread puts the stored one; {@link #claimLatest}
 * makes the newest the stored one. The indices are guarded by this object.
 */
final class StateImages {
  /** The newest finished training step and the image holding the state after it. */
  record Claim(long seq, int image) {}

  private final DenseNetwork network;
  private final Adam adam;
  private final WeightAverage average;
  private final Standardizer standardizer;
  private final Image[] images = new Image[3];
  private int stored;
  private int latest;
  private long latestSeq;

  /**
   * Images of the live state of {@code network}, {@code adam}, {@code average} (or null) and {@code
   * standardizer} (or null).
   */
  StateImages(DenseNetwork network, Adam adam, WeightAverage average, Standardizer standardizer) {
    this.network = network;
    this.adam = adam;
    this.average = average;
    this.standardizer = standardizer;
    int count = Math.toIntExact(network.parameterCount());
    for (int i = 0; i < images.length; i++) {
      images[i] = new Image(count, average != null);
    }
  }

  /**
   * Copies the live state, as training step {@code seq} left it, into an image that is neither
   * stored nor the newest captured one, and makes it the newest. The copy costs about a sixth of a
   * step (1.3 MB for the default network), which is why not every step makes one.
   */
  void capture(long seq) {
    int free;
    synchronized (this) {
      free = 0;
      while (free == stored || free == latest) {
        free++;
      }
    }
    images[free].capture();
    synchronized (this) {
      latest = free;
      latestSeq = seq;
    }
  }

  /** The training step of the newest captured image. */
  synchronized long latestSeq() {
    return latestSeq;
  }

  /**
   * Makes the newest captured image the stored one and returns it: the caller takes every step up
   * to its {@code seq} (all finished, training being sequential) and puts the image. From here on
   * {@link #capture} never writes into it, nor into the image of any newer step until that is
   * claimed.
   */
  synchronized Claim claimLatest() {
    stored = latest;
    return new Claim(latestSeq, latest);
  }

  /** Captures the live state into the stored image (no training runs) and returns its index. */
  int captureStored() {
    int image;
    synchronized (this) {
      image = stored;
    }
    images[image].capture();
    return image;
  }

  /** Puts image {@code image}'s chunks. */
  void put(KeyValueStore<String, byte[]> store, int image) {
    images[image].put(store);
  }

  /**
   * Loads the stored image from {@code store} into the live state: the weights, Adam's moments at
   * {@code adamStep}, and the average of {@code averageSteps} steps when {@code hadAverage} (else
   * an average that starts from the loaded weights). False when the store lacks a chunk.
   */
  boolean load(
      KeyValueStore<String, byte[]> store, long adamStep, boolean hadAverage, long averageSteps) {
    Image image;
    synchronized (this) {
      image = images[stored];
    }
    if (!image.params.load(store) || !image.moment1.load(store) || !image.moment2.load(store)) {
      return false;
    }
    if (standardizer != null && !image.statistics.load(store, standardizer)) {
      return false;
    }
    INDArray[] parameters = network.parameters();
    int at = 0;
    for (INDArray p : parameters) {
      int n = Math.toIntExact(p.length());
      image.params.read(at, p.data().asNioFloat(), n);
      at += n;
    }
    adam.restore(adamStep, image.moment1, image.moment2);
    if (average != null) {
      if (hadAverage && image.average.load(store)) {
        average.restore(averageSteps, image.average);
      } else {
        average.update(parameters); // averaging just switched on: it starts from the weights
      }
    }
    return true;
  }

  /** One copy of the float state: weights, Adam's moments, the weight average. */
  private final class Image {
    final FloatChunks params;
    final FloatChunks moment1;
    final FloatChunks moment2;
    final FloatChunks average;
    final Statistics statistics;

    Image(int count, boolean withAverage) {
      statistics = standardizer != null ? new Statistics(standardizer.width()) : null;
      params = new FloatChunks("params", count);
      moment1 = new FloatChunks("adam-m", count);
      moment2 = new FloatChunks("adam-v", count);
      average = withAverage ? new FloatChunks("ema", count) : null;
    }

    /** Copies the live weights, moments and average into this image. */
    void capture() {
      int at = 0;
      for (INDArray p : network.parameters()) {
        int n = Math.toIntExact(p.length());
        params.write(at, p.data().asNioFloat(), n);
        at += n;
      }
      adam.saveMoments(moment1, moment2);
      if (average != null) {
        StateImages.this.average.saveTo(average);
      }
      if (statistics != null) {
        statistics.capture(standardizer);
      }
    }

    void put(KeyValueStore<String, byte[]> store) {
      params.put(store);
      moment1.put(store);
      moment2.put(store);
      if (average != null) {
        average.put(store);
      }
      if (statistics != null) {
        statistics.put(store);
      }
    }
  }

  /**
   * A standardizing model's running statistics under the key {@value #STATISTICS}: the sample
   * count, then each input's mean, then each input's sum of squared deviations, little-endian
   * (long, doubles), in an array allocated once and rewritten in place (as the float chunks are).
   */
  static final String STATISTICS = "standardizer";

  private static final class Statistics {
    private final double[] means;
    private final double[] m2s;
    private final byte[] bytes;
    private long count;

    Statistics(int width) {
      means = new double[width];
      m2s = new double[width];
      bytes = new byte[8 + 16 * width];
    }

    void capture(Standardizer live) {
      live.saveTo(means, m2s);
      count = live.count();
    }

    void put(KeyValueStore<String, byte[]> store) {
      ByteBuffer out = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
      out.putLong(count);
      for (double m : means) {
        out.putDouble(m);
      }
      for (double m : m2s) {
        out.putDouble(m);
      }
      store.put(STATISTICS, bytes);
    }

    /** Restores {@code live} from the store; false when the key is missing or of another width. */
    boolean load(KeyValueStore<String, byte[]> store, Standardizer live) {
      byte[] stored = store.get(STATISTICS);
      if (stored == null || stored.length != bytes.length) {
        return false;
      }
      ByteBuffer in = ByteBuffer.wrap(stored).order(ByteOrder.LITTLE_ENDIAN);
      count = in.getLong();
      for (int i = 0; i < means.length; i++) {
        means[i] = in.getDouble();
      }
      for (int i = 0; i < m2s.length; i++) {
        m2s[i] = in.getDouble();
      }
      live.restore(count, means, m2s);
      return true;
    }
  }
}
