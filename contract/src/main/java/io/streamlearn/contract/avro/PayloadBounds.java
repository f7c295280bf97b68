package io.streamlearn.contract.avro;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;

/**
 * Walks an Avro binary body with its writer schema before Avro reads it, and refuses any length the
 * body declares beyond the bytes it has. Avro's readers allocate what a payload declares (a 27-byte
 * snapshot declaring 2,147,483,639 layers asks for an array of that many), and its own limits
 * ({@code org.apache.avro.limits.*.maxLength}) are JVM-global and default to about that count;
 * after this walk, every string, bytes and array Avro allocates is bounded by the payload's own
 * size.
 *
 * <p>The walk reads lengths, counts and union or enum indexes and skips the rest; on a valid
 * payload it allocates nothing (the fewest bytes each type encodes in are worked out once, here),
 * so it costs a small fraction of the decode it guards. It also enforces one limit of our own:
 * strings (ids and names in our contract) of at most {@code maxStringBytes} UTF-8 bytes, so that no
 * id can make an output outgrow a record. One instance per writer schema; immutable and
 * thread-safe.
 */
final class PayloadBounds {
  /**
   * Items of an array or map whose items encode in zero bytes (nulls, empty records): a limit of
   * our own.
   */
  static final int MAX_ZERO_BYTE_ITEMS = 4096;

  /** Nesting depth of the data (only recursive schemas nest data deeper than the schema). */
  private static final int MAX_DEPTH = 64;

  private final Schema writer;
  private final long fingerprint;
  private final int maxStringBytes;
  private final Map<Schema, Integer> minBytes = new IdentityHashMap<>();

  PayloadBounds(Schema writer, int maxStringBytes) {
    this.writer = writer;
    this.fingerprint = SchemaNormalization.parsingFingerprint64(writer);
    this.maxStringBytes = maxStringBytes;
    minBytes(writer);
  }

  Schema writer() {
    return writer;
  }

  /**
   * The CRC-64-AVRO fingerprint of the writer schema's parsing canonical form, as single-object
   * headers carry.
   */
  long fingerprint() {
    return fingerprint;
  }

  /** Why a walk stopped, and (filled in while unwinding, so a valid walk builds no text) where. */
  private static final class Refused extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final PayloadError reason;
    final transient Deque<String> path = new ArrayDeque<>();

    Refused(PayloadError reason, String detail) {
      super(detail, null, false, false);
      this.reason = reason;
    }
  }

  /**
   * Checks {@code payload[offset..]} as one record of the writer schema, ending exactly at the
   * payload's end.
   *
   * @throws InvalidPayloadException TRUNCATED when a declared length runs past the end, MALFORMED
   *     for a bad varint, index or trailing bytes, STRING_TOO_LONG for a string over the limit
   */
  void check(byte[] payload, int offset) {
    int end;
    try {
      end = value(writer, payload, offset, payload.length, 0);
    } catch (Refused e) {
      e.path.addFirst(writer.getName());
      throw new InvalidPayloadException(e.reason, String.join("", e.path) + " " + e.getMessage());
    }
    if (end != payload.length) {
      throw new InvalidPayloadException(
          PayloadError.MALFORMED,
          (payload.length - end) + " bytes after the end of the " + writer.getName() + " record");
    }
  }

  /** Walks one value of {@code schema} at {@code pos}; returns the position after it. */
  private int value(Schema schema, byte[] b, int pos, int end, int depth) {
    if (depth > MAX_DEPTH) {
      throw new Refused(PayloadError.MALFORMED, "nests deeper than " + MAX_DEPTH);
    }
    switch (schema.getType()) {
      case NULL:
        return pos;
      case BOOLEAN:
        return skip(pos, 1, end);
      case INT:
        return varintEnd(b, pos, end, 5);
      case LONG:
        return varintEnd(b, pos, end, 10);
      case FLOAT:
        return skip(pos, 4, end);
      case DOUBLE:
        return skip(pos, 8, end);
      case FIXED:
        return skip(pos, schema.getFixedSize(), end);
      case ENUM:
        {
          index(b, pos, end, schema.getEnumSymbols().size());
          return varintEnd(b, pos, end, 10);
        }
      case STRING:
        {
          long length = length(b, pos, end);
          if (length > maxStringBytes) {
            throw new Refused(
                PayloadError.STRING_TOO_LONG,
                "is "
                    + length
                    + " bytes long, over the limit of "
                    + maxStringBytes
                    + " UTF-8 bytes");
          }
          return (int) (varintEnd(b, pos, end, 10) + length);
        }
      case BYTES:
        return (int) (varintEnd(b, pos, end, 10) + length(b, pos, end));
      case UNION:
        {
          List<Schema> branches = schema.getTypes();
          int index = index(b, pos, end, branches.size());
          return value(branches.get(index), b, varintEnd(b, pos, end, 10), end, depth + 1);
        }
      case RECORD:
        {
          List<Schema.Field> fields = schema.getFields();
          for (int f = 0; f < fields.size(); f++) { // indexed: no iterator on the per-record path
            try {
              pos = value(fields.get(f).schema(), b, pos, end, depth + 1);
            } catch (Refused e) {
              e.path.addFirst("." + fields.get(f).name());
              throw e;
            }
          }
          return pos;
        }
      case ARRAY:
        return blocks(schema.getElementType(), false, b, pos, end, depth);
      case MAP:
        return blocks(schema.getValueType(), true, b, pos, end, depth);
      default:
        throw new IllegalStateException(
            "unknown Avro type " + schema.getType() + " in " + writer.getName());
    }
  }

  /**
   * Array or map blocks: a count (negative: then a byte size follows), the items, until a count of
   * 0.
   */
  private int blocks(Schema item, boolean map, byte[] b, int pos, int end, int depth) {
    int itemBytes = minBytes.get(item) + (map ? 1 : 0);
    long items = 0;
    while (true) {
      long count = varint(b, pos, end, 10);
      pos = varintEnd(b, pos, end, 10);
      if (count == 0) {
        return pos;
      }
      if (count < 0) {
        count = -count;
        long size = varint(b, pos, end, 10);
        if (size < 0 || size > end - varintEnd(b, pos, end, 10)) {
          throw truncated("declares a block of " + size + " bytes", pos, end);
        }
        pos = varintEnd(b, pos, end, 10);
      }
      items += count;
      if (count < 0
          || (itemBytes == 0 ? items > MAX_ZERO_BYTE_ITEMS : count > (end - pos) / itemBytes)) {
        throw truncated(
            "declares " + count + " items, more than its remaining bytes can hold", pos, end);
      }
      for (long i = 0; i < count; i++) {
        try {
          if (map) {
            pos = (int) (varintEnd(b, pos, end, 10) + length(b, pos, end));
          }
          pos = value(item, b, pos, end, depth + 1);
        } catch (Refused e) {
          e.path.addFirst("[" + (items - count + i) + "]");
          throw e;
        }
      }
    }
  }

  /**
   * The fewest bytes one value of {@code schema} encodes in (0 for null or an empty record; cycles
   * count 0).
   */
  private int minBytes(Schema schema) {
    Integer known = minBytes.get(schema);
    if (known != null) {
      return known;
    }
    minBytes.put(schema, 0); // a recursive reference counts as 0: a lower bound stays a lower bound
    int bytes =
        switch (schema.getType()) {
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
          case ARRAY -> {
            minBytes(schema.getElementType());
            yield 1;
          }
          case MAP -> {
            minBytes(schema.getValueType());
            yield 1;
          }
          default -> 1; // boolean, int, long, enum, string, bytes: at least one byte
        };
    minBytes.put(schema, bytes);
    return bytes;
  }

  /** A declared length at {@code pos}, checked against the bytes after it. */
  private static long length(byte[] b, int pos, int end) {
    long length = varint(b, pos, end, 10);
    if (length < 0) {
      throw new Refused(PayloadError.MALFORMED, "declares a negative length " + length);
    }
    int after = varintEnd(b, pos, end, 10);
    if (length > end - after) {
      throw truncated("declares " + length + " bytes", after, end);
    }
    return length;
  }

  private static int index(byte[] b, int pos, int end, int size) {
    long index = varint(b, pos, end, 10);
    if (index < 0 || index >= size) {
      throw new Refused(
          PayloadError.MALFORMED, "has index " + index + ", expected 0-" + (size - 1));
    }
    return (int) index;
  }

  private static int skip(int pos, int bytes, int end) {
    if (bytes > end - pos) {
      throw truncated("needs " + bytes + " bytes", pos, end);
    }
    return pos + bytes;
  }

  /**
   * The zig-zag varint at {@code pos} (at most {@code maxBytes} bytes: 5 for int, 10 for long),
   * decoded.
   */
  private static long varint(byte[] b, int pos, int end, int maxBytes) {
    long raw = 0;
    for (int i = 0; i < maxBytes; i++) {
      if (pos + i >= end) {
        throw truncated("ends inside a number", pos + i, end);
      }
      int v = b[pos + i] & 0xFF;
      raw |= (long) (v & 0x7F) << (7 * i);
      if ((v & 0x80) == 0) {
        return (raw >>> 1) ^ -(raw & 1);
      }
    }
    throw new Refused(PayloadError.MALFORMED, "holds a number longer than " + maxBytes + " bytes");
  }

  /** The position after the varint at {@code pos}, checked as {@link #varint} checks it. */
  private static int varintEnd(byte[] b, int pos, int end, int maxBytes) {
    for (int i = 0; i < maxBytes; i++) {
      if (pos + i >= end) {
        throw truncated("ends inside a number", pos + i, end);
      }
      if ((b[pos + i] & 0x80) == 0) {
        return pos + i + 1;
      }
    }
    throw new Refused(PayloadError.MALFORMED, "holds a number longer than " + maxBytes + " bytes");
  }

  private static Refused truncated(String what, int pos, int end) {
    return new Refused(
        PayloadError.TRUNCATED,
        what
            + " at byte "
            + pos
            + " of a "
            + end
            + "-byte payload: only "
            + (end - pos)
            + " remain");
  }
}
