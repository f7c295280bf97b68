package io.streamlearn.mnist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamlearn.core.DataDir;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The real MNIST files, fetched once into the data folder Surefire names (streamlearn.data.dir) and
 * cached.
 */
class MnistDatasetRealFilesTest {
  private static MnistFiles files;
  private static MnistDataset train;
  private static MnistDataset test;

  @BeforeAll
  static void fetch() {
    files = MnistFetcher.ensureDefault();
    train = MnistDataset.train(files);
    test = MnistDataset.test(files);
  }

  @Test
  void filesLiveInTheConfiguredDataFolder() {
    assertEquals(MnistFiles.in(DataDir.path()), files);
  }

  @Test
  void trainingSetHas60000Images() {
    assertEquals(60_000, train.size());
  }

  @Test
  void testSetHas10000Images() {
    assertEquals(10_000, test.size());
  }

  @Test
  void firstTrainingLabelIsFive() {
    assertEquals(5, train.label(0));
  }

  @Test
  void firstTestLabelIsSeven() {
    assertEquals(7, test.label(0));
  }

  @Test
  void labelHistogramsSumToTheCountsAndCoverEveryDigit() {
    for (MnistDataset data : new MnistDataset[] {train, test}) {
      int[] histogram = new int[10];
      for (int i = 0; i < data.size(); i++) {
        histogram[data.label(i)]++;
      }
      assertEquals(data.size(), IntStream.of(histogram).sum());
      for (int digit = 0; digit < 10; digit++) {
        assertTrue(
            histogram[digit] > data.size() / 20,
            "digit " + digit + " appears only " + histogram[digit] + " times");
      }
    }
  }

  @Test
  void wellKnownClassCountsOfTheTrainingSet() {
    int[] histogram = new int[10];
    for (int i = 0; i < train.size(); i++) {
      histogram[train.label(i)]++;
    }
    // the published MNIST training-set class counts
    assertEquals(5923, histogram[0]);
    assertEquals(6742, histogram[1]);
    assertEquals(5949, histogram[9]);
  }

  @Test
  void imagesHave784PixelsWithDarkCornersAndSomeInk() {
    byte[] first = train.pixels(0);
    assertEquals(MnistDataset.PIXELS, first.length);
    assertEquals(0, first[0]);
    assertEquals(0, first[783]);
    int max = 0;
    for (byte b : first) {
      max = Math.max(max, b & 0xff);
    }
    assertTrue(max > 200, "the first digit should have bright ink, max was " + max);
  }
}
