package io.streamlearn.core.kafka;

import io.streamlearn.core.config.Setting;

/**
 * Settings that mean the same in every service, declared once so their key, help text and default
 * agree.
 */
public final class KafkaSettings {
  public static final Setting<String> BOOTSTRAP_SERVERS =
      Setting.text("bootstrap-servers", "Kafka bootstrap servers.", "localhost:9092");
  public static final Setting<String> SNAPSHOT_TOPIC =
      Setting.text(
          "snapshot-topic", "Compacted topic of ModelSnapshot records.", Topics.SNAPSHOTS.name());

  private KafkaSettings() {}
}
