package io.streamlearn.learner;

/**
 * A training record after decoding: either a sample in the learner's compact form ({@link
 * SampleLayout}; MNIST's {@code [label, 784 pixels]}) or the original key and value bytes bound for
 * the dead-letter topic (the reason travels in the record's headers).
 */
record Decoded(byte[] sample, byte[] originalKey, byte[] originalValue) {
  static Decoded sample(byte[] sample) {
    return new Decoded(sample, null, null);
  }

  static Decoded deadLetter(byte[] key, byte[] value) {
    return new Decoded(null, key, value);
  }

  boolean isDeadLetter() {
    return sample == null;
  }
}
