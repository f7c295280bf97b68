package io.streamlearn.scorer;

import io.streamlearn.core.config.ServiceCommand;
import io.streamlearn.scorer.ScorerSettings.Config;

/**
 * {@code ./streamlearn score}: the scorer. Follows the snapshot topic, classifies the images topic
 * into the predictions topic and answers HTTP until Ctrl-C. Exit code 0 after a clean stop, 1 when
 * it fails, 2 on bad configuration.
 */
public final class ScorerMain {
  public static final ServiceCommand COMMAND =
      new ServiceCommand(
          "streamlearn score",
          "Serves the newest model snapshot: classifies ImageEvent records into Prediction records and answers"
              + " HTTP predict requests; swaps in new snapshots while scoring.",
          ScorerSettings.ALL);

  private ScorerMain() {}

  public static void main(String[] args) throws InterruptedException {
    System.exit(run(COMMAND.resolveOrExit(args, "score", ScorerSettings::resolve)));
  }

  static int run(Config config) throws InterruptedException {
    Scorer scorer;
    try {
      scorer = Scorer.start(config);
    } catch (RuntimeException e) {
      return ServiceCommand.reportFailure("score", e, System.err);
    }
    Runtime.getRuntime().addShutdownHook(new Thread(scorer::close, "scorer-shutdown"));
    System.out.printf(
        "scorer serving model %s: %s -> %s; HTTP and /metrics on port %d%n",
        config.modelId(), config.imagesTopic(), config.predictionsTopic(), scorer.httpPort());
    int code = scorer.awaitStopped();
    scorer.close();
    return code;
  }
}
