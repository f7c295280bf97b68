package io.streamlearn.mnist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

class IdxReaderTest {
  @TempDir Path dir;

  // --- builders
  // -------------------------------------------------------------------------------------------------

  static byte[] imagesBytes(int magic, int count, int rows, int cols, byte[] pixels) {
    ByteBuffer b = ByteBuffer.allocate(16 + pixels.length); // big-endian by default
    b.putInt(magic).putInt(count).putInt(rows).putInt(cols).put(pixels);
    return b.array();
  }

  static byte[] imagesBytes(int count, int rows, int cols) {
    return imagesBytes(IdxReader.IMAGES_MAGIC, count, rows, cols, pattern(count * rows * cols));
  }

  static byte[] labelsBytes(int magic, int count, byte[] labels) {
    ByteBuffer b = ByteBuffer.allocate(8 + labels.length);
    b.putInt(magic).putInt(count).put(labels);
    return b.array();
  }

  static byte[] labelsBytes(byte... labels) {
    return labelsBytes(IdxReader.LABELS_MAGIC, labels.length, labels);
  }

  /** Distinct bytes covering the whole unsigned range, so sign mistakes show. */
  static byte[] pattern(int n) {
    byte[] out = new byte[n];
    for (int i = 0; i < n; i++) {
      out[i] = (byte) (i * 37 + 11);
    }
    return out;
  }

  static byte[] gzip(byte[] raw) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (OutputStream out = new GZIPOutputStream(bytes)) {
      out.write(raw);
    }
    return bytes.toByteArray();
  }

  Path write(String name, byte[] content) throws IOException {
    Path file = dir.resolve(name);
    Files.write(file, content);
    return file;
  }

  static IdxFormatException assertIdxError(Path file, Executable call, String... fragments) {
    IdxFormatException e = assertThrows(IdxFormatException.class, call);
    assertEquals(file, e.file());
    assertTrue(
        e.getMessage().startsWith(file + ": "), "message should name the file: " + e.getMessage());
    for (String fragment : fragments) {
      assertTrue(
          e.getMessage().contains(fragment),
          "message should contain '" + fragment + "': " + e.getMessage());
    }
    return e;
  }

  // --- good files
  // -----------------------------------------------------------------------------------------------

  @Test
  void readsImagesFileExactly() throws IOException {
    byte[] pixels = pattern(3 * 2 * 4);
    Path file = write("images", imagesBytes(IdxReader.IMAGES_MAGIC, 3, 2, 4, pixels));

    IdxReader.Images images = IdxReader.readImages(file);

    assertEquals(3, images.count());
    assertEquals(2, images.rows());
    assertEquals(4, images.columns());
    assertEquals(8, images.pixelsPerImage());
    assertArrayEquals(pixels, images.pixels());
  }

  @Test
  void readsLabelsFileExactly() throws IOException {
    Path file = write("labels", labelsBytes((byte) 5, (byte) 0, (byte) 9, (byte) 200));

    assertArrayEquals(new byte[] {5, 0, 9, (byte) 200}, IdxReader.readLabels(file));
  }

  @Test
  void readsEmptyButWellFormedFiles() throws IOException {
    Path images = write("images", imagesBytes(0, 28, 28));
    Path labels = write("labels", labelsBytes());

    IdxReader.Images read = IdxReader.readImages(images);
    assertEquals(0, read.count());
    assertEquals(0, read.pixels().length);
    assertEquals(0, IdxReader.readLabels(labels).length);
  }

  @Test
  void readsGzippedImagesIdenticallyToRaw() throws IOException {
    byte[] raw = imagesBytes(5, 3, 3);
    Path plain = write("images", raw);
    Path gzipped = write("images.gz", gzip(raw));

    IdxReader.Images a = IdxReader.readImages(plain);
    IdxReader.Images b = IdxReader.readImages(gzipped);

    assertEquals(a.count(), b.count());
    assertEquals(a.rows(), b.rows());
    assertEquals(a.columns(), b.columns());
    assertArrayEquals(a.pixels(), b.pixels());
  }

  @Test
  void readsGzippedLabelsIdenticallyToRaw() throws IOException {
    byte[] raw = labelsBytes((byte) 1, (byte) 2, (byte) 3, (byte) 7);
    Path plain = write("labels", raw);
    Path gzipped = write("labels.gz", gzip(raw));

    assertArrayEquals(IdxReader.readLabels(plain), IdxReader.readLabels(gzipped));
    assertArrayEquals(new byte[] {1, 2, 3, 7}, IdxReader.readLabels(gzipped));
  }

  @Test
  void recognisesGzipByContentNotByFileName() throws IOException {
    byte[] raw = labelsBytes((byte) 4, (byte) 2);
    Path gzippedWithoutSuffix = write("t10k-labels-idx1-ubyte", gzip(raw));

    assertArrayEquals(new byte[] {4, 2}, IdxReader.readLabels(gzippedWithoutSuffix));
  }

  // --- wrong magic
  // ----------------------------------------------------------------------------------------------

  @Test
  void rejectsImagesFileWithUnknownMagic() throws IOException {
    Path file = write("images", imagesBytes(1234, 1, 2, 2, pattern(4)));

    IdxFormatException e =
        assertIdxError(
            file, () -> IdxReader.readImages(file), "magic number 1234", "expected 2051");
    assertTrue(!e.getMessage().contains("looks like"), e.getMessage());
  }

  @Test
  void rejectsLabelsFilePassedAsImagesSayingItLooksLikeTheLabelsFile() throws IOException {
    // a labels file long enough to have a 16-byte header
    Path file = write("train-labels-idx1-ubyte", labelsBytes(pattern(12)));

    assertIdxError(
        file,
        () -> IdxReader.readImages(file),
        "magic number 2049",
        "expected 2051",
        "looks like the labels file");
  }

  @Test
  void rejectsImagesFilePassedAsLabelsSayingItLooksLikeTheImagesFile() throws IOException {
    Path file = write("train-images-idx3-ubyte", imagesBytes(1, 2, 2));

    assertIdxError(
        file,
        () -> IdxReader.readLabels(file),
        "magic number 2051",
        "expected 2049",
        "looks like the images file");
  }

  @Test
  void rejectsLabelsFileWithUnknownMagic() throws IOException {
    Path file = write("labels", labelsBytes(0x12345678, 1, new byte[] {1}));

    assertIdxError(
        file, () -> IdxReader.readLabels(file), "magic number " + 0x12345678, "expected 2049");
  }

  @Test
  void rejectsGzippedFileWithWrongMagic() throws IOException {
    Path file = write("images.gz", gzip(labelsBytes(pattern(20))));

    assertIdxError(file, () -> IdxReader.readImages(file), "looks like the labels file");
  }

  // --- truncation and trailing bytes
  // ----------------------------------------------------------------------------

  @Test
  void rejectsImagesFileWithTruncatedHeader() throws IOException {
    Path file = write("images", Arrays.copyOf(imagesBytes(1, 2, 2), 15));

    assertIdxError(
        file, () -> IdxReader.readImages(file), "truncated header", "15 bytes", "has 16");
  }

  @Test
  void rejectsLabelsFileWithTruncatedHeader() throws IOException {
    Path file = write("labels", Arrays.copyOf(labelsBytes((byte) 1), 7));

    assertIdxError(file, () -> IdxReader.readLabels(file), "truncated header", "7 bytes", "has 8");
  }

  @Test
  void rejectsEmptyFileAsTruncatedHeader() throws IOException {
    Path file = write("empty", new byte[0]);

    assertIdxError(file, () -> IdxReader.readImages(file), "truncated header", "0 bytes");
    assertIdxError(file, () -> IdxReader.readLabels(file), "truncated header", "0 bytes");
  }

  @Test
  void rejectsImagesFileWithTruncatedPixelData() throws IOException {
    byte[] full = imagesBytes(2, 3, 3); // 18 pixel bytes
    Path file = write("images", Arrays.copyOf(full, full.length - 1));

    assertIdxError(
        file,
        () -> IdxReader.readImages(file),
        "truncated",
        "2 images of 3x3",
        "(18 bytes)",
        "but 17 follow");
  }

  @Test
  void rejectsLabelsFileWithTruncatedData() throws IOException {
    Path file = write("labels", labelsBytes(IdxReader.LABELS_MAGIC, 5, new byte[] {1, 2, 3}));

    assertIdxError(file, () -> IdxReader.readLabels(file), "truncated", "5 labels", "but 3 follow");
  }

  @Test
  void rejectsImagesFileWithTrailingBytes() throws IOException {
    byte[] full = imagesBytes(2, 3, 3);
    Path file = write("images", Arrays.copyOf(full, full.length + 2));

    assertIdxError(
        file, () -> IdxReader.readImages(file), "2 unexpected bytes after 2 images of 3x3");
  }

  @Test
  void rejectsLabelsFileWithTrailingBytes() throws IOException {
    Path file = write("labels", labelsBytes(IdxReader.LABELS_MAGIC, 2, new byte[] {1, 2, 3}));

    assertIdxError(file, () -> IdxReader.readLabels(file), "1 unexpected bytes after 2 labels");
  }

  // --- bad dimensions
  // -------------------------------------------------------------------------------------------

  @Test
  void rejectsNegativeImageCount() throws IOException {
    Path file = write("images", imagesBytes(IdxReader.IMAGES_MAGIC, -1, 2, 2, new byte[0]));

    assertIdxError(file, () -> IdxReader.readImages(file), "bad dimensions -1x2x2");
  }

  @Test
  void rejectsZeroRows() throws IOException {
    Path file = write("images", imagesBytes(IdxReader.IMAGES_MAGIC, 1, 0, 2, new byte[0]));

    assertIdxError(file, () -> IdxReader.readImages(file), "bad dimensions 1x0x2");
  }

  @Test
  void rejectsNegativeColumns() throws IOException {
    Path file = write("images", imagesBytes(IdxReader.IMAGES_MAGIC, 1, 2, -3, new byte[0]));

    assertIdxError(file, () -> IdxReader.readImages(file), "bad dimensions 1x2x-3");
  }

  @Test
  void rejectsNegativeLabelCount() throws IOException {
    Path file = write("labels", labelsBytes(IdxReader.LABELS_MAGIC, -2, new byte[0]));

    assertIdxError(file, () -> IdxReader.readLabels(file), "bad label count -2");
  }

  @Test
  void rejectsHugeDimensionsWithoutOverflowing() throws IOException {
    // count*rows*cols overflows int: must be reported as truncated, not wrap around
    Path file = write("images", imagesBytes(IdxReader.IMAGES_MAGIC, 65536, 65536, 1, new byte[0]));

    assertIdxError(
        file, () -> IdxReader.readImages(file), "truncated", "(4294967296 bytes)", "but 0 follow");
  }

  // --- unreadable files
  // -----------------------------------------------------------------------------------------

  @Test
  void rejectsMissingImagesFile() {
    Path file = dir.resolve("does-not-exist");

    assertIdxError(file, () -> IdxReader.readImages(file), "no such file");
  }

  @Test
  void rejectsMissingLabelsFile() {
    Path file = dir.resolve("does-not-exist");

    assertIdxError(file, () -> IdxReader.readLabels(file), "no such file");
  }

  @Test
  void rejectsCorruptGzip() throws IOException {
    byte[] gz = gzip(imagesBytes(4, 5, 5));
    for (int i = 10; i < gz.length - 8; i++) {
      gz[i] = (byte) 0xff; // wreck the deflate stream, keep the gzip magic
    }
    Path file = write("images.gz", gz);

    assertIdxError(file, () -> IdxReader.readImages(file), "corrupt gzip data");
  }

  @Test
  void rejectsTruncatedGzip() throws IOException {
    byte[] gz = gzip(labelsBytes(pattern(100)));
    Path file = write("labels.gz", Arrays.copyOf(gz, gz.length / 2));

    assertIdxError(file, () -> IdxReader.readLabels(file), "corrupt gzip data");
  }

  // --- MnistDataset.load
  // ----------------------------------------------------------------------------------------

  @Test
  void loadsMatching28x28ImagesAndLabels() throws IOException {
    byte[] pixels = pattern(2 * MnistDataset.PIXELS);
    Path images = write("images", imagesBytes(IdxReader.IMAGES_MAGIC, 2, 28, 28, pixels));
    Path labels = write("labels", labelsBytes((byte) 3, (byte) 9));

    MnistDataset data = MnistDataset.load(images, labels);

    assertEquals(2, data.size());
    assertEquals(3, data.label(0));
    assertEquals(9, data.label(1));
    assertArrayEquals(Arrays.copyOfRange(pixels, 0, 784), data.pixels(0));
    assertArrayEquals(Arrays.copyOfRange(pixels, 784, 1568), data.pixels(1));
    byte[] target = new byte[784 + 4];
    data.copyPixels(1, target, 4);
    assertArrayEquals(Arrays.copyOfRange(pixels, 784, 1568), Arrays.copyOfRange(target, 4, 788));
  }

  @Test
  void rejectsCountMismatchNamingTheLabelsFile() throws IOException {
    Path images = write("images", imagesBytes(3, 28, 28));
    Path labels = write("labels", labelsBytes((byte) 1, (byte) 2));

    assertIdxError(
        labels, () -> MnistDataset.load(images, labels), "2 labels for 3 images in " + images);
  }

  @Test
  void rejectsImagesThatAreNot28x28() throws IOException {
    Path images = write("images", imagesBytes(2, 28, 27));
    Path labels = write("labels", labelsBytes((byte) 1, (byte) 2));

    assertIdxError(images, () -> MnistDataset.load(images, labels), "images are 28x27", "28x28");
  }

  @Test
  void rejectsLabelAboveNine() throws IOException {
    Path images = write("images", imagesBytes(3, 28, 28));
    Path labels = write("labels", labelsBytes((byte) 1, (byte) 10, (byte) 2));

    assertIdxError(
        labels, () -> MnistDataset.load(images, labels), "label 10 at index 1 is not 0-9");
  }

  @Test
  void rejectsLabelAbove127ReportedUnsigned() throws IOException {
    Path images = write("images", imagesBytes(1, 28, 28));
    Path labels = write("labels", labelsBytes((byte) 200));

    assertIdxError(
        labels, () -> MnistDataset.load(images, labels), "label 200 at index 0 is not 0-9");
  }
}
