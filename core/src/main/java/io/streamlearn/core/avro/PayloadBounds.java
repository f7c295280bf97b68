package io.streamlearn.core.avro;

import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;

/**
 * Walks an Avro binary body with its writer schema before Avro reads it, and refuses any length the body declares
 * beyond the bytes it has. Avro's readers allocate what a payload declares (a 27-byte snapshot declaring
 * 2,147,483,639 layers asks for an array of that many), and its own limits
 * ({@code org.apache.avro.limits.*.maxLength}) are JVM-global and default to about that count; after this walk,
 * every string, bytes and array Avro allocates is bounded by the payload's own size.
 *
 * <p>The walk reads lengths, counts and union or enum indexes and skips the rest (no copy, no allocation), so it
 * costs a small fraction of the decode it guards. It also enforces one limit of our own: strings (ids and names in
 * our contract) of at most {@code maxStringBytes} UTF-8 bytes, so that no id can make an output outgrow a record.
 */
final class PayloadBounds {
  /** Items of an array or map whose items encode in zero bytes (nulls, empty records): a limit of our own. */
  static final int MAX_ZERO_BYTE_ITEMS = 4096;
  /** Nesting depth of the data (only recursive schemas nest data deeper than the schema). */
  private static final int MAX_DEPTH = 64;

  private final Schema writer;
  private final int maxStringBytes;
  private final Map<Schema, Integer> minBytes = new IdentityHashMap<>();
  private byte[] buf;
  private int pos;
  private int end;

  private PayloadBounds(Schema writer, int maxStringBytes) {
    this.writer = writer;
    this.maxStringBytes = maxStringBytes;
  }

  /** The schemas by the CRC-64-AVRO fingerprint of their parsing canonical form, as single-object headers carry. */
  static Map<Long, Schema> byFingerprint(List<Schema> schemas) {
    Map<Long, Schema> map = new HashMap<>();
    for (Schema s : schemas) {
      map.put(org.apache.avro.SchemaNormalization.parsingFingerprint64(s), s);
    }
    return map;
  }

  /**
   * Checks {@code payload[offset..]} as one record of {@code writer}, ending exactly at the payload's end.
   *
   * @throws InvalidPayloadException TRUNCATED when a declared length runs past the end, MALFORMED for a bad varint,
   *     index or trailing bytes, STRING_TOO_LONG for a string over the limit
   */
  static void check(Schema writer, byte[] payload, int offset, int maxStringBytes) {
    PayloadBounds walk = new PayloadBounds(writer, maxStringBytes);
    walk.buf = payload;
    walk.pos = offset;
    walk.end = payload.length;
    walk.value(writer, writer.getName(), 0);
    if (walk.pos != walk.end) {
      throw new InvalidPayloadException(PayloadError.MALFORMED,
          (walk.end - walk.pos) + " bytes after the end of the " + writer.getName() + " record");
    }
  }

  private void value(Schema schema, String path, int depth) {
    if (depth > MAX_DEPTH) {
      throw new InvalidPayloadException(PayloadError.MALFORMED, path + " nests deeper than " + MAX_DEPTH);
    }
    switch (schema.getType()) {
      case NULL -> { }
      case BOOLEAN -> skip(1, path);
      case INT -> varint(5, path);
      case LONG -> varint(10, path);
      case FLOAT -> skip(4, path);
      case DOUBLE -> skip(8, path);
      case FIXED -> skip(schema.getFixedSize(), path);
      case ENUM -> index(schema.getEnumSymbols().size(), path);
      case STRING -> {
        int length = length(path);
        if (length > maxStringBytes) {
          throw new InvalidPayloadException(PayloadError.STRING_TOO_LONG,
              path + " is " + length + " bytes long, over the limit of " + maxStringBytes + " UTF-8 bytes");
        }
        pos += length;
      }
      case BYTES -> skip(length(path), path);
      case UNION -> {
        List<Schema> branches = schema.getTypes();
        value(branches.get(index(branches.size(), path)), path, depth + 1);
      }
      case RECORD -> {
        for (Schema.Field field : schema.getFields()) {
          value(field.schema(), path + "." + field.name(), depth + 1);
        }
      }
      case ARRAY -> blocks(schema.getElementType(), false, path, depth);
      case MAP -> blocks(schema.getValueType(), true, path, depth);
      default -> throw new IllegalStateException("unknown Avro type " + schema.getType() + " in " + writer.getName());
    }
  }

  /** Array or map blocks: a count (negative: then a byte size follows), the items, until a count of 0. */
  private void blocks(Schema item, boolean map, String path, int depth) {
    int itemBytes = minBytes(item) + (map ? 1 : 0);
    long items = 0;
    while (true) {
      long count = varint(10, path);
      if (count == 0) {
        return;
      }
      if (count < 0) {
        count = -count;
        long size = varint(10, path);
        if (size < 0 || size > end - pos) {
          throw truncated(path + " declares a block of " + size + " bytes");
        }
      }
      items += count;
      if (count < 0 || (itemBytes == 0 ? items > MAX_ZERO_BYTE_ITEMS : count > (end - pos) / itemBytes)) {
        throw truncated(path + " declares " + count + " items, more than its remaining bytes can hold");
      }
      for (long i = 0; i < count; i++) {
        if (map) {
          skip(length(path + "[key]"), path);
        }
        value(item, path + "[]", depth + 1);
      }
    }
  }

  /** The fewest bytes one value of {@code schema} encodes in (0 for null or an empty record; cycles count 0). */
  private int minBytes(Schema schema) {
    Integer known = minBytes.get(schema);
    if (known != null) {
      return known;
    }
    minBytes.put(schema, 0); // a recursive reference counts as 0: a lower bound stays a lower bound
    int bytes = switch (schema.getType()) {
      case NULL -> 0;
      case FLOAT -> 4;
      case DOUBLE -> 8;
      case FIXED -> schema.getFixedSize();
      case RECORD -> {
        long sum = 0;
        for (Schema.Field field : schema.getFields()) {
          sum += minBytes(field.schema());
        }
        yield (int) Math.min(sum, Integer.MAX_VALUE);
      }
      case UNION -> {
        int least = Integer.MAX_VALUE;
        for (Schema branch : schema.getTypes()) {
          least = Math.min(least, minBytes(branch));
        }
        yield 1 + least;
      }
      default -> 1; // boolean, int, long, enum, string, bytes, array, map: at least one byte
    };
    minBytes.put(schema, bytes);
    return bytes;
  }

  private int length(String path) {
    long length = varint(10, path);
    if (length < 0) {
      throw new InvalidPayloadException(PayloadError.MALFORMED, path + " declares a negative length " + length);
    }
    if (length > end - pos) {
      throw truncated(path + " declares " + length + " bytes");
    }
    return (int) length;
  }

  private int index(int size, String path) {
    long index = varint(10, path);
    if (index < 0 || index >= size) {
      throw new InvalidPayloadException(PayloadError.MALFORMED,
          path + " has index " + index + ", expected 0-" + (size - 1));
    }
    return (int) index;
  }

  private void skip(int bytes, String path) {
    if (bytes > end - pos) {
      throw truncated(path + " needs " + bytes + " bytes");
    }
    pos += bytes;
  }

  /** A zig-zag varint of at most {@code maxBytes} bytes (5 for int, 10 for long), decoded. */
  private long varint(int maxBytes, String path) {
    long raw = 0;
    for (int i = 0; i < maxBytes; i++) {
      if (pos >= end) {
        throw truncated(path + " ends inside a number");
      }
      int b = buf[pos++] & 0xFF;
      raw |= (long) (b & 0x7F) << (7 * i);
      if ((b & 0x80) == 0) {
        return (raw >>> 1) ^ -(raw & 1);
      }
    }
    throw new InvalidPayloadException(PayloadError.MALFORMED, path + " holds a number longer than " + maxBytes
        + " bytes");
  }

  private InvalidPayloadException truncated(String what) {
    return new InvalidPayloadException(PayloadError.TRUNCATED, what + " at byte " + pos + " of a "
        + end + "-byte payload: only " + (end - pos) + " remain");
  }
}
