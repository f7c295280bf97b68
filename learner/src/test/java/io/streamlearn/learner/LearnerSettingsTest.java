package io.streamlearn.learner;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamlearn.core.config.ConfigException;
import io.streamlearn.learner.LearnerSettings.Config;
import io.streamlearn.model.InputTransform;
import io.streamlearn.model.ModelSpec;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The spec the learner's keys declare, and the keys a bad value names. */
class LearnerSettingsTest {
  private static Config parse(String... args) {
    return LearnerSettings.resolve(
        LearnerMain.COMMAND
            .parse(args, Map.of(), new PrintWriter(new StringWriter()))
            .orElseThrow());
  }

  private static ConfigException refused(String... args) {
    return assertThrows(ConfigException.class, () -> parse(args));
  }

  @Test
  void theDefaultsAreMnist() {
    Config c = parse();

    assertEquals(ModelSpec.MNIST, c.spec());
    assertEquals(InputTransform.Scale.MNIST, c.scale());
    assertArrayEquals(new int[] {784, 100, 10}, c.sizes());
  }

  @Test
  void anotherWidthIsAFeatureModelThatStandardizes() {
    Config c =
        parse(
            "--inputs",
            "3",
            "--classes",
            "2",
            "--feature-names",
            "age, income,score",
            "--class-names",
            "stays,leaves",
            "--hidden",
            "16");

    assertEquals(
        new ModelSpec(
            3, 2, List.of("age", "income", "score"), List.of("stays", "leaves"), null, true),
        c.spec());
    assertNull(c.scale());
    assertArrayEquals(new int[] {3, 16, 2}, c.sizes());
  }

  @Test
  void anImageShapeMakesAnImageModelScaledUnlessToldOtherwise() {
    Config images = parse("--inputs", "30", "--image-shape", "5x6");
    assertEquals(new ModelSpec.Image(5, 6), images.spec().image());
    assertEquals(InputTransform.Scale.MNIST, images.scale());

    Config scaled = parse("--inputs", "30", "--normalize", "scale:0.5");
    assertEquals(null, scaled.spec().image());
    assertEquals(new InputTransform.Scale(0.5f), scaled.scale());

    Config features = parse("--image-shape", "none");
    assertTrue(features.spec().standardize(), "784 features, standardized by default");
    assertNull(features.spec().image());
  }

  @Test
  void aBadSpecIsRefusedNamingItsKey() {
    assertEquals("image-shape", refused("--inputs", "30", "--image-shape", "5x5").key());
    assertEquals("image-shape", refused("--image-shape", "28 by 28").key());
    assertEquals("normalize", refused("--normalize", "scale:0").key());
    assertEquals("normalize", refused("--normalize", "minmax").key());
    assertEquals("feature-names", refused("--inputs", "3", "--feature-names", "a,b").key());
    assertEquals("class-names", refused("--classes", "3", "--class-names", "a,,b").key());
    assertEquals("class-names", refused("--classes", "2", "--class-names", "a,a").key());
    assertEquals("classes", refused("--classes", "1").key());
    assertEquals("inputs", refused("--inputs", "0").key());
    ConfigException batch = refused("--inputs", "16384", "--batch-size", "64");
    assertEquals("batch-size", batch.key());
    assertTrue(batch.getMessage().contains("lower batch-size or inputs"), batch.getMessage());
  }
}
