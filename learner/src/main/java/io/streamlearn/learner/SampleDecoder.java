package io.streamlearn.learner;

import io.streamlearn.contract.avro.InvalidPayloadException;
import io.streamlearn.core.kafka.DeadLetter;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads raw TrainingSample records: a valid one goes on as a compact sample keyed by the model id
 * (so all samples meet in one partition and one task); an invalid one (undecodable, not of the
 * spec's shape: {@link SampleLayout#decodeInto}) goes on as a dead letter with the contract's
 * headers, and is counted.
 */
final class SampleDecoder implements Processor<byte[], byte[], byte[], Decoded> {
  private static final Logger log = LoggerFactory.getLogger(SampleDecoder.class);
  static final String SERVICE = "learner";

  private final byte[] modelKey;
  private final SampleLayout layout;
  private final LearnerMetrics metrics;
  private ProcessorContext<byte[], Decoded> context;

  SampleDecoder(String modelId, SampleLayout layout, LearnerMetrics metrics) {
    this.modelKey = modelId.getBytes(StandardCharsets.UTF_8);
    this.layout = layout;
    this.metrics = metrics;
  }

  @Override
  public void init(ProcessorContext<byte[], Decoded> context) {
    this.context = context;
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    byte[] compact = new byte[layout.bytes()];
    try {
      layout.decodeInto(record.value(), compact);
      context.forward(record.withKey(modelKey).withValue(Decoded.sample(compact)));
    } catch (InvalidPayloadException e) {
      Record<byte[], byte[]> letter =
          deadLetter(record, context.recordMetadata().orElseThrow(), e, metrics);
      context.forward(
          new Record<>(
              modelKey,
              Decoded.deadLetter(letter.key(), letter.value()),
              letter.timestamp(),
              letter.headers()));
    }
  }

  /**
   * The dead letter for {@code record}: its key and value untouched, the contract's headers added;
   * counted.
   */
  static Record<byte[], byte[]> deadLetter(
      Record<byte[], byte[]> record,
      RecordMetadata source,
      InvalidPayloadException e,
      LearnerMetrics metrics) {
    DeadLetter.Letter letter =
        DeadLetter.letter(
            record.key(),
            record.value(),
            record.headers(),
            e,
            SERVICE,
            source.topic(),
            source.partition(),
            source.offset());
    log.warn(
        "dead-lettering {}/{}@{}: {}",
        source.topic(),
        source.partition(),
        source.offset(),
        e.getMessage());
    metrics.deadLetter(e.reason());
    return new Record<>(letter.key(), letter.value(), record.timestamp(), letter.headers());
  }
}
