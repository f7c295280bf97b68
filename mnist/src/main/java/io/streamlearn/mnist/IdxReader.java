package io.streamlearn.mnist;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Reads the IDX files MNIST ships in (http://yann.lecun.com/exdb/mnist/ describes the format): a
 * big-endian header (magic 2051 and count, rows, columns for images; magic 2049 and count for
 * labels) then unsigned bytes. Raw or gzipped files are accepted (gzip is recognised by its magic
 * bytes, whatever the file name).
 */
public final class IdxReader {
  public static final int IMAGES_MAGIC = 2051;
  public static final int LABELS_MAGIC = 2049;

  /**
   * Images as one array: image i's pixels are {@code pixels[i*rows*cols .. (i+1)*rows*cols)},
   * row-major.
   */
  public record Images(int count, int rows, int columns, byte[] pixels) {
    public int pixelsPerImage() {
      return rows * columns;
    }
  }

  private IdxReader() {}

  public static Images readImages(Path file) {
    byte[] bytes = readAll(file);
    ByteBuffer header = header(file, bytes, 16, "images");
    checkMagic(file, header.getInt(), IMAGES_MAGIC, "images");
    int count = header.getInt();
    int rows = header.getInt();
    int columns = header.getInt();
    if (count < 0 || rows <= 0 || columns <= 0) {
      throw new IdxFormatException(file, "bad dimensions " + count + "x" + rows + "x" + columns);
    }
    long expected = (long) count * rows * columns;
    checkLength(file, bytes.length - 16L, expected, count + " images of " + rows + "x" + columns);
    byte[] pixels = new byte[(int) expected];
    System.arraycopy(bytes, 16, pixels, 0, pixels.length);
    return new Images(count, rows, columns, pixels);
  }

  public static byte[] readLabels(Path file) {
    byte[] bytes = readAll(file);
    ByteBuffer header = header(file, bytes, 8, "labels");
    checkMagic(file, header.getInt(), LABELS_MAGIC, "labels");
    int count = header.getInt();
    if (count < 0) {
      throw new IdxFormatException(file, "bad label count " + count);
    }
    checkLength(file, bytes.length - 8L, count, count + " labels");
    byte[] labels = new byte[count];
    System.arraycopy(bytes, 8, labels, 0, count);
    return labels;
  }

  private static ByteBuffer header(Path file, byte[] bytes, int size, String kind) {
    if (bytes.length < size) {
      throw new IdxFormatException(
          file,
          "truncated header: " + bytes.length + " bytes, an IDX " + kind + " header has " + size);
    }
    return ByteBuffer.wrap(bytes, 0, size); // big-endian, as IDX is
  }

  private static void checkMagic(Path file, int magic, int expected, String kind) {
    if (magic != expected) {
      String hint =
          magic == (expected == IMAGES_MAGIC ? LABELS_MAGIC : IMAGES_MAGIC)
              ? " (this looks like the "
                  + (expected == IMAGES_MAGIC ? "labels" : "images")
                  + " file)"
              : "";
      throw new IdxFormatException(
          file,
          "magic number "
              + magic
              + ", expected "
              + expected
              + " for an IDX "
              + kind
              + " file"
              + hint);
    }
  }

  private static void checkLength(Path file, long actual, long expected, String what) {
    if (actual < expected) {
      throw new IdxFormatException(
          file,
          "truncated: the header promises "
              + what
              + " ("
              + expected
              + " bytes) but "
              + actual
              + " follow");
    }
    if (actual > expected) {
      throw new IdxFormatException(
          file,
          (actual - expected) + " unexpected bytes after " + what + " (" + expected + " bytes)");
    }
  }

  private static byte[] readAll(Path file) {
    try (InputStream raw = new BufferedInputStream(Files.newInputStream(file))) {
      raw.mark(2);
      int b0 = raw.read();
      int b1 = raw.read();
      raw.reset();
      InputStream in = (b0 == 0x1f && b1 == 0x8b) ? new GZIPInputStream(raw, 1 << 16) : raw;
      return in.readAllBytes();
    } catch (java.nio.file.NoSuchFileException e) {
      throw new IdxFormatException(file, "no such file");
    } catch (java.util.zip.ZipException | java.io.EOFException e) {
      throw new IdxFormatException(file, "corrupt gzip data: " + e.getMessage());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }
}
