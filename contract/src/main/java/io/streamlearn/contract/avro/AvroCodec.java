package io.streamlearn.contract.avro;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import org.apache.avro.JsonProperties;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.message.MissingSchemaException;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;

/**
 * Encodes and decodes one record type in Avro single-object encoding (marker C3 01, the 8-byte
 * little-endian CRC-64-AVRO fingerprint of the writer schema's parsing canonical form, then the
 * binary body), as the Avro specification defines it. Decoding accepts every released version of
 * the schema (kept as {@code io/streamlearn/contract/history/<Name>-v<N>.avsc} resources) and
 * resolves it to the current one; a payload that cannot be decoded, or that decodes to a value the
 * contract forbids, raises {@link InvalidPayloadException}. Encoding writes each record with the
 * oldest released version that can hold it (see {@link #encode}), so that a record needing no field
 * added since stays readable by consumers that hold only that version's {@code .avsc}: upgrade
 * readers before writers.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class AvroCodec<T extends SpecificRecord> {
  private static final String HISTORY = "io/streamlearn/contract/history/";

  /**
   * The longest string a payload may hold, in UTF-8 bytes: every string of our contract is an id or
   * a name, and a bound on them keeps every output made from a valid input (a prediction, a dead
   * letter's headers) within a record.
   */
  public static final int MAX_STRING_BYTES = 1024;

  private final Class<T> type;
  private final Schema schema;
  private final List<Schema> releasedVersions;
  private final BinaryMessageEncoder<T> encoder;

  /**
   * Released versions older than the current one that the current schema only appends nullable
   * fields to, oldest first: a record whose appended fields are all null is written with the oldest
   * of them, so readers that know only that version keep reading it.
   */
  private final List<OlderWriter<T>> olderWriters;

  private final BinaryMessageDecoder<T> decoder;
  private final Consumer<T> validator;

  /**
   * The current and every released writer schema, each with its bounds check; a handful, so a list.
   */
  private final List<PayloadBounds> writers;

  /** A codec that reads every released version found on the class path. */
  public static <T extends SpecificRecord> AvroCodec<T> of(Class<T> type, Consumer<T> validator) {
    return new AvroCodec<>(type, validator, releasedVersions(type));
  }

  /**
   * A codec that also reads the given older writer schemas (for tests and for tools that know more
   * versions).
   */
  public AvroCodec(Class<T> type, Consumer<T> validator, List<Schema> olderVersions) {
    this.type = type;
    this.validator = Objects.requireNonNull(validator, "validator");
    SpecificData model = SpecificData.getForClass(type);
    this.schema = model.getSchema(type);
    this.encoder = new BinaryMessageEncoder<>(model, schema);
    this.decoder = new BinaryMessageDecoder<>(model, schema);
    this.releasedVersions = List.copyOf(olderVersions);
    for (Schema older : releasedVersions) {
      decoder.addSchema(older);
    }
    List<PayloadBounds> all = new ArrayList<>();
    all.add(new PayloadBounds(schema, MAX_STRING_BYTES));
    for (Schema older : releasedVersions) {
      all.add(new PayloadBounds(older, MAX_STRING_BYTES));
    }
    this.writers = List.copyOf(all);
    List<OlderWriter<T>> older = new ArrayList<>();
    for (Schema version : releasedVersions) {
      if (appendsNullableFieldsTo(schema, version)) {
        older.add(
            new OlderWriter<>(
                version.getFields().size(), new BinaryMessageEncoder<>(model, version)));
      }
    }
    this.olderWriters = List.copyOf(older);
  }

  /** An older released version and the number of leading current fields it holds. */
  private record OlderWriter<T>(int fields, BinaryMessageEncoder<T> encoder) {}

  /**
   * Whether {@code current} is {@code older} with nullable fields (default null) appended: the same
   * leading fields, name for name and type for type, so that a record of the current class writes
   * with {@code older} by position.
   */
  static boolean appendsNullableFieldsTo(Schema current, Schema older) {
    List<Schema.Field> now = current.getFields();
    List<Schema.Field> then = older.getFields();
    if (then.size() >= now.size()) {
      return false;
    }
    for (int i = 0; i < then.size(); i++) {
      Schema.Field a = now.get(i);
      Schema.Field b = then.get(i);
      if (!a.name().equals(b.name())
          || !SchemaNormalization.toParsingForm(a.schema())
              .equals(SchemaNormalization.toParsingForm(b.schema()))) {
        return false;
      }
    }
    for (int i = then.size(); i < now.size(); i++) {
      Schema.Field appended = now.get(i);
      if (!appended.schema().isNullable() || appended.defaultVal() != JsonProperties.NULL_VALUE) {
        return false;
      }
    }
    return true;
  }

  public Class<T> type() {
    return type;
  }

  /** The current (reader) schema, as generated from the .avsc file. */
  public Schema schema() {
    return schema;
  }

  /**
   * The released schema versions this codec reads, oldest first (the current one included once
   * released).
   */
  public List<Schema> releasedVersions() {
    return releasedVersions;
  }

  /** The CRC-64-AVRO fingerprint of the current schema, as written after the marker. */
  public long fingerprint() {
    return SchemaNormalization.parsingFingerprint64(schema);
  }

  /**
   * Encodes {@code record} with the oldest released version that can hold it (every field appended
   * after that version is null), else with the current schema: a record that needs nothing new
   * stays readable by consumers that hold only an older {@code .avsc}.
   */
  public byte[] encode(T record) {
    try {
      ByteBuffer buffer = writerFor(record).encode(record);
      byte[] bytes = new byte[buffer.remaining()];
      buffer.get(bytes);
      return bytes;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot encode " + type.getSimpleName(), e);
    }
  }

  private BinaryMessageEncoder<T> writerFor(T record) {
    int fields = schema.getFields().size();
    for (OlderWriter<T> older : olderWriters) {
      boolean holds = true;
      for (int i = older.fields(); i < fields && holds; i++) {
        holds = record.get(i) == null;
      }
      if (holds) {
        return older.encoder();
      }
    }
    return encoder;
  }

  /** Decodes and validates a payload, or throws {@link InvalidPayloadException} with the reason. */
  public T decode(byte[] payload) {
    if (payload == null) {
      throw new InvalidPayloadException(
          PayloadError.TRUNCATED, "null payload, expected a " + type.getSimpleName());
    }
    if (payload.length >= 2 && (payload[0] != (byte) 0xC3 || payload[1] != 0x01)) {
      throw new InvalidPayloadException(
          PayloadError.BAD_MARKER,
          String.format(
              "starts with %02X %02X, not the single-object marker C3 01", payload[0], payload[1]));
    }
    if (payload.length < 10) {
      throw new InvalidPayloadException(
          PayloadError.TRUNCATED,
          payload.length + " bytes: shorter than the 10-byte single-object header");
    }
    PayloadBounds writer = writer(payload);
    if (writer == null) {
      throw new InvalidPayloadException(
          PayloadError.UNKNOWN_SCHEMA,
          "schema fingerprint "
              + fingerprintHex(payload)
              + " is no released version of "
              + type.getSimpleName());
    }
    // Before Avro allocates anything a length in the body declares, check every such length against
    // the bytes
    // present (and that the record ends where the payload does).
    writer.check(payload, 10);
    T record;
    ByteArrayInputStream in = new ByteArrayInputStream(payload);
    try {
      record = decoder.decode(in, null);
    } catch (MissingSchemaException e) {
      throw new InvalidPayloadException(
          PayloadError.UNKNOWN_SCHEMA,
          "schema fingerprint "
              + fingerprintHex(payload)
              + " is no released version of "
              + type.getSimpleName(),
          e);
    } catch (IOException | RuntimeException e) {
      if (hasCause(e, EOFException.class)) {
        throw new InvalidPayloadException(
            PayloadError.TRUNCATED,
            "payload of " + payload.length + " bytes ends inside the record",
            e);
      }
      throw new InvalidPayloadException(
          PayloadError.MALFORMED, "body does not decode as " + type.getSimpleName() + ": " + e, e);
    }
    validator.accept(record);
    return record;
  }

  /** The writer whose fingerprint the header carries (little-endian, bytes 2-9), or null. */
  private PayloadBounds writer(byte[] payload) {
    long fingerprint = 0;
    for (int i = 9; i >= 2; i--) {
      fingerprint = (fingerprint << 8) | (payload[i] & 0xFF);
    }
    for (PayloadBounds w : writers) {
      if (w.fingerprint() == fingerprint) {
        return w;
      }
    }
    return null;
  }

  private static boolean hasCause(Throwable e, Class<? extends Throwable> cause) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (cause.isInstance(t)) {
        return true;
      }
    }
    return false;
  }

  private static String fingerprintHex(byte[] payload) {
    StringBuilder hex = new StringBuilder();
    for (int i = 2; i < Math.min(10, payload.length); i++) {
      hex.append(String.format("%02x", payload[i]));
    }
    return hex.toString();
  }

  /** Loads {@code <Name>-v1.avsc}, {@code <Name>-v2.avsc}, ... until the first missing version. */
  static List<Schema> releasedVersions(Class<?> type) {
    List<Schema> versions = new ArrayList<>();
    ClassLoader loader = AvroCodec.class.getClassLoader();
    for (int v = 1; ; v++) {
      String resource = HISTORY + type.getSimpleName() + "-v" + v + ".avsc";
      try (InputStream in = loader.getResourceAsStream(resource)) {
        if (in == null) {
          return versions;
        }
        versions.add(
            new Schema.Parser().parse(new String(in.readAllBytes(), StandardCharsets.UTF_8)));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read released schema " + resource, e);
      }
    }
  }
}
