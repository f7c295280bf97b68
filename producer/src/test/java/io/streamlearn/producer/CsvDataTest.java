package io.streamlearn.producer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CsvDataTest {
  @TempDir Path dir;

  private Path file(String text) throws IOException {
    Path f = dir.resolve("data.csv");
    Files.writeString(f, text);
    return f;
  }

  @Test
  void readsTheFeaturesInFileOrderAndTheLabelWhereverItStands() throws IOException {
    CsvData data =
        CsvData.read(
            file("age,label,\"income, net\",score\r\n41,1,5.5e4,-0.25\r\n19,0,1200,.5\r\n"),
            "label",
            true);

    assertEquals(List.of("age", "income, net", "score"), data.featureNames());
    assertEquals(2, data.size());
    assertEquals(2, data.classes());
    assertTrue(data.labelled());
    assertEquals(1, data.label(0));
    assertArrayEquals(new float[] {41f, 5.5e4f, -0.25f}, data.row(0));
    assertEquals(List.of(19f, 1200f, 0.5f), data.features(1));
    assertNull(data.pixels(0));
  }

  @Test
  void eventsMayComeWithoutALabelColumn() throws IOException {
    CsvData data = CsvData.read(file("a,b\n1,2\n"), "label", false);

    assertFalse(data.labelled());
    assertEquals(List.of("a", "b"), data.featureNames());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "empty cell | a,b,label\\n1,,0\\n | line 2, column 'b': an empty (missing) value is not a finite number",
        "NaN | a,b,label\\n1,2,0\\n3,NaN,1\\n | line 3, column 'b': 'NaN' is not a finite number",
        "word | a,b,label\\n1,two,0\\n | line 2, column 'b': 'two' is not a finite number",
        "infinity | a,b,label\\nInfinity,2,0\\n | line 2, column 'a': 'Infinity' is not a finite number",
        "overflow | a,b,label\\n1e39,2,0\\n | line 2, column 'a': '1e39' is not a finite number",
        "java suffix | a,b,label\\n1,2d,0\\n | line 2, column 'b': '2d' is not a finite number",
        "short row | a,b,label\\n1,2,0\\n1,2\\n | line 3: 2 cells, the header has 3",
        "negative label | a,b,label\\n1,2,-1\\n | line 2, column 'label': '-1' is not a class index",
        "fractional label | a,b,label\\n1,2,0.5\\n | line 2, column 'label': '0.5' is not a class index",
        "no label column | a,b\\n1,2\\n | the header has no label column 'label' (key 'label-column')",
        "no rows | a,b,label\\n | a header but no rows",
        "only a label | label\\n1\\n | no feature column beside the label",
        "unclosed quote | a,b,label\\n\"1,2,0\\n | not a valid CSV file",
        "too large | a,b,label\\n1,2e15,0\\n | line 2, column 'b': '2e15' is beyond",
        "duplicate header | a,a,label\\n1,2,0\\n | not a valid CSV file",
      })
  void aMalformedFileIsRefusedNamingTheLineAndTheProblem(String name, String text, String expected)
      throws IOException {
    Path f = file(text.replace("\\n", "\n"));

    DataException e = assertThrows(DataException.class, () -> CsvData.read(f, "label", true));
    assertTrue(e.getMessage().contains(expected), e.getMessage());
    assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
  }
}
