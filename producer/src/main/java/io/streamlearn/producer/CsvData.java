package io.streamlearn.producer;

import io.streamlearn.contract.avro.Codecs;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.regex.Pattern;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;
import org.apache.commons.csv.DuplicateHeaderMode;

/**
 * A CSV file of dense feature vectors, read whole and checked before anything is sent: a header
 * row, then one row per example; the label column (when present) holds class indexes 0 and up,
 * every other column is a numeric feature, in file order. An empty cell, a word, NaN or an infinity
 * is an error naming the line, the column and the value: a missing value is never a silent zero.
 * Parsed by Apache Commons CSV (RFC 4180: quoted cells, CRLF or LF).
 */
public final class CsvData implements ProducerData {
  /** The largest CSV read: the rows are held in memory as floats. */
  static final long MAX_FILE_BYTES = 2L << 30;

  /** A decimal number, as CSV writers print them (no hex, no Java suffixes, no NaN). */
  private static final Pattern NUMBER =
      Pattern.compile("[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?");

  private final List<String> featureNames;
  private final float[][] rows;
  private final int[] labels;
  private final int classes;

  private CsvData(List<String> featureNames, float[][] rows, int[] labels) {
    this.featureNames = featureNames;
    this.rows = rows;
    this.labels = labels;
    int max = -1;
    if (labels != null) {
      for (int label : labels) {
        max = Math.max(max, label);
      }
    }
    this.classes = max + 1;
  }

  /**
   * Reads {@code file}.
   *
   * @param labelColumn the header of the label column
   * @param labelRequired whether the file must have that column (training samples)
   * @throws DataException naming the line and the problem
   */
  public static CsvData read(Path file, String labelColumn, boolean labelRequired) {
    try {
      if (Files.size(file) > MAX_FILE_BYTES) {
        throw new DataException(file + ": larger than " + MAX_FILE_BYTES + " bytes");
      }
    } catch (IOException e) {
      throw new DataException("cannot read " + file + ": " + e.getMessage());
    }
    CSVFormat format =
        CSVFormat.RFC4180
            .builder()
            .setHeader()
            .setSkipHeaderRecord(true)
            .setTrim(true)
            .setDuplicateHeaderMode(DuplicateHeaderMode.DISALLOW)
            .get();
    try (Reader reader =
            new java.io.InputStreamReader(
                Files.newInputStream(file),
                StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT));
        CSVParser parser = CSVParser.builder().setReader(reader).setFormat(format).get()) {
      List<String> header = parser.getHeaderNames();
      if (header.isEmpty()) {
        throw new DataException(file + ": no header row");
      }
      int labelAt = header.indexOf(labelColumn);
      if (labelAt < 0 && labelRequired) {
        throw new DataException(
            file
                + ": the header has no label column '"
                + labelColumn
                + "' (key 'label-column'); it has "
                + header);
      }
      List<String> names = new ArrayList<>(header);
      if (labelAt >= 0) {
        names.remove(labelAt);
      }
      if (names.isEmpty()) {
        throw new DataException(file + ": no feature column beside the label");
      }
      List<float[]> rows = new ArrayList<>();
      List<Integer> labels = new ArrayList<>();
      for (CSVRecord record : parser) {
        // The header is line 1; a record's line is its number plus one (exact unless a quoted cell
        // spans lines).
        long line = record.getRecordNumber() + 1;
        if (record.size() != header.size()) {
          throw new DataException(
              file
                  + " line "
                  + line
                  + ": "
                  + record.size()
                  + " cells, the header has "
                  + header.size());
        }
        float[] row = new float[names.size()];
        int f = 0;
        for (int c = 0; c < header.size(); c++) {
          String cell = record.get(c);
          if (c == labelAt) {
            labels.add(label(file, line, header.get(c), cell));
          } else {
            row[f++] = feature(file, line, header.get(c), cell);
          }
        }
        rows.add(row);
      }
      if (rows.isEmpty()) {
        throw new DataException(file + ": a header but no rows");
      }
      int[] labelArray = null;
      if (labelAt >= 0) {
        labelArray = labels.stream().mapToInt(Integer::intValue).toArray();
      }
      return new CsvData(
          Collections.unmodifiableList(names), rows.toArray(new float[0][]), labelArray);
    } catch (CharacterCodingException e) {
      throw new DataException(file + ": not UTF-8 text");
    } catch (IOException
        | java.io.UncheckedIOException
        | IllegalArgumentException
        | IllegalStateException e) {
      // Commons CSV reports a malformed file (an unclosed quote, a duplicate header name) this way.
      throw new DataException(file + ": not a valid CSV file: " + e.getMessage());
    }
  }

  private static float feature(Path file, long line, String column, String cell) {
    float value = NUMBER.matcher(cell).matches() ? Float.parseFloat(cell) : Float.NaN;
    if (!Float.isFinite(value)) {
      throw cellError(
          file,
          line,
          column,
          (cell.isEmpty() ? "an empty (missing) value" : "'" + shorten(cell) + "'")
              + " is not a finite number");
    }
    if (Math.abs(value) > Codecs.MAX_FEATURE_MAGNITUDE) {
      throw cellError(
          file,
          line,
          column,
          "'" + shorten(cell) + "' is beyond +-" + Codecs.MAX_FEATURE_MAGNITUDE);
    }
    return value;
  }

  private static int label(Path file, long line, String column, String cell) {
    try {
      int label = Integer.parseInt(cell);
      if (label >= 0) {
        return label;
      }
    } catch (NumberFormatException e) {
      // below
    }
    throw cellError(
        file,
        line,
        column,
        "'" + shorten(cell) + "' is not a class index (a whole number 0 or more)");
  }

  private static DataException cellError(Path file, long line, String column, String problem) {
    return new DataException(file + " line " + line + ", column '" + column + "': " + problem);
  }

  private static String shorten(String cell) {
    return cell.length() <= 40 ? cell : cell.substring(0, 40) + "...";
  }

  @Override
  public int size() {
    return rows.length;
  }

  @Override
  public boolean labelled() {
    return labels != null;
  }

  @Override
  public int label(int row) {
    return labels[row];
  }

  @Override
  public byte[] pixels(int row) {
    return null;
  }

  @Override
  public List<Float> features(int row) {
    float[] values = rows[row];
    List<Float> out = new ArrayList<>(values.length);
    for (float v : values) {
      out.add(v);
    }
    return out;
  }

  /** The feature columns' names, in file order. */
  public List<String> featureNames() {
    return featureNames;
  }

  /** One more than the largest label, or 0 without labels. */
  public int classes() {
    return classes;
  }

  /** Rows as floats, for tests and the demo. */
  public float[] row(int row) {
    return rows[row].clone();
  }
}
