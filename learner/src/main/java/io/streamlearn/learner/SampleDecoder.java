package io.streamlearn.learner;

import io.streamlearn.contract.TrainingSample;
import io.streamlearn.core.avro.Codecs;
import io.streamlearn.core.avro.InvalidPayloadException;
import io.streamlearn.core.kafka.DeadLetter;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads raw TrainingSample records: a valid one goes on as a compact sample keyed by the model id (so all samples
 * meet in one partition and one task); an invalid one (undecodable, wrong pixel count, label outside 0-9) goes on as
 * a dead letter with the contract's headers, and is counted.
 */
final class SampleDecoder implements Processor<byte[], byte[], String, Decoded> {
  private static final Logger log = LoggerFactory.getLogger(SampleDecoder.class);
  static final String SERVICE = "learner";

  private final String modelId;
  private final LearnerMetrics metrics;
  private ProcessorContext<String, Decoded> context;

  SampleDecoder(String modelId, LearnerMetrics metrics) {
    this.modelId = modelId;
    this.metrics = metrics;
  }

  @Override
  public void init(ProcessorContext<String, Decoded> context) {
    this.context = context;
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    try {
      TrainingSample sample = Codecs.TRAINING_SAMPLE.decode(record.value());
      byte[] compact = new byte[TrainingState.SAMPLE_BYTES];
      compact[0] = (byte) sample.getLabel();
      sample.getPixels().duplicate().get(compact, 1, Codecs.PIXELS);
      context.forward(record.withKey(modelId).withValue(Decoded.sample(compact)));
    } catch (InvalidPayloadException e) {
      RecordMetadata source = context.recordMetadata().orElseThrow();
      RecordHeaders headers = new RecordHeaders(record.headers().toArray());
      for (Header h : DeadLetter.headers(e, SERVICE, source.topic(), source.partition(), source.offset())) {
        headers.add(h);
      }
      log.warn("dead-lettering {}/{}@{}: {}", source.topic(), source.partition(), source.offset(), e.getMessage());
      metrics.deadLetter(e.reason());
      context.forward(new Record<>(modelId, Decoded.deadLetter(record.key(), record.value()), record.timestamp(),
          headers));
    }
  }
}
