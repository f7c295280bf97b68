package io.streamlearn.model;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Unpacks ND4J's native libraries into JavaCPP's cache ({@code -Dorg.bytedeco.javacpp.cachedir}) by
 * loading the backend and running one matrix product, the same path the learner and the scorer
 * take. A container image runs this once at build time, so that a service started as a non-root
 * user on a read-only cache loads them without unpacking anything ({@code
 * deploy/docker/prepare-native-cache.sh}).
 */
public final class NativeLibraries {
  private NativeLibraries() {}

  public static void main(String[] args) throws java.io.IOException {
    INDArray a = Nd4j.ones(DataType.FLOAT, 2, 3);
    INDArray product = a.mmul(a.transpose()); // (2,3) x (3,2) -> (2,2): loads BLAS as training does
    if (product.getFloat(0, 0) != 3f) {
      throw new IllegalStateException(
          "ND4J computed " + product.getFloat(0, 0) + " for a 3-term dot product of ones");
    }
    // The cache JavaCPP really used: it falls back to ~/.javacpp/cache or the temp folder when the
    // one asked for is
    // not writable.
    System.out.println(
        "ND4J backend "
            + Nd4j.getBackend().getClass().getSimpleName()
            + " loaded; native cache "
            + org.bytedeco.javacpp.Loader.getCacheDir());
  }
}
