package io.streamlearn.producer;

import java.util.List;

/** The rows the producer streams: images (pixels) or feature vectors, labelled or not. */
public interface ProducerData {
  int size();

  /** Whether every row has a label. */
  boolean labelled();

  /** Row {@code row}'s class index (only when {@link #labelled}). */
  int label(int row);

  /** Row {@code row}'s pixels, or null for feature rows. */
  byte[] pixels(int row);

  /** Row {@code row}'s features, or null for image rows. */
  List<Float> features(int row);
}
