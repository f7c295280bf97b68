package io.streamlearn.bench;

import io.streamlearn.core.config.ConfigBuilder;
import io.streamlearn.producer.ProducerMain;
import io.streamlearn.producer.ProducerSettings;
import java.io.OutputStream;
import java.io.PrintStream;

/** The benchmarks' pre-fills: the producer, configured in code, run to completion. */
final class Prefill {
  private Prefill() {}

  /** MNIST training samples to {@code topic} (created with {@code partitions}), quietly. */
  static ConfigBuilder<ProducerSettings.Config> training(
      String bootstrap, String topic, int partitions) {
    return ProducerSettings.builder()
        .set(ProducerSettings.BOOTSTRAP_SERVERS, bootstrap)
        .set(ProducerSettings.TOPIC, topic)
        .set(ProducerSettings.PARTITIONS, partitions)
        .set(ProducerSettings.METRICS_PORT, 0)
        .set(ProducerSettings.PROGRESS, false);
  }

  /** Runs the producer; returns its exit code (errors on stderr). */
  static int run(ConfigBuilder<ProducerSettings.Config> producer) {
    PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
    return ProducerMain.run(producer.build(), quiet, System.err, false);
  }
}
