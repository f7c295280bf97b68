package io.streamlearn.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scrape config and the alert rules pass Prometheus' own checks, and every alert has a unit
 * test.
 */
class PromtoolTest {
  private static final Path CONFIG = Tools.ROOT.resolve("deploy/prometheus/prometheus.yml");
  private static final Path RULES = Tools.ROOT.resolve("deploy/prometheus/alerts.yml");
  private static final Path RULE_TESTS = Tools.ROOT.resolve("deploy/prometheus/alerts.test.yml");

  @Test
  void scrapeConfigAndRulesPassPromtoolChecks() throws Exception {
    String promtool = Tools.require("promtool", "prometheus");
    Tools.Run config = Tools.run(List.of(promtool, "check", "config", CONFIG.toString()));
    assertEquals(0, config.exitCode(), "promtool check config:\n" + config.output());
    Tools.Run rules = Tools.run(List.of(promtool, "check", "rules", RULES.toString()));
    assertEquals(0, rules.exitCode(), "promtool check rules:\n" + rules.output());
  }

  @Test
  void everyAlertPassesItsUnitTests() throws Exception {
    String promtool = Tools.require("promtool", "prometheus");
    Tools.Run tests = Tools.run(List.of(promtool, "test", "rules", RULE_TESTS.toString()));
    assertEquals(0, tests.exitCode(), "promtool test rules:\n" + tests.output());
    assertTrue(tests.output().contains("SUCCESS"), tests.output());
  }

  /**
   * Each alert appears in the unit tests at least once firing (exp_alerts listed) and once silent
   * (empty).
   */
  @Test
  void everyAlertIsTestedFiringAndSilent() throws Exception {
    ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
    Set<String> alerts = new TreeSet<>();
    for (JsonNode group : yaml.readTree(RULES.toFile()).get("groups")) {
      for (JsonNode rule : group.get("rules")) {
        if (rule.has("alert")) {
          alerts.add(rule.get("alert").asText());
        }
      }
    }
    assertTrue(alerts.size() >= 9, "alerts found: " + alerts);
    Set<String> firing = new TreeSet<>();
    Set<String> silent = new TreeSet<>();
    for (JsonNode test : yaml.readTree(RULE_TESTS.toFile()).get("tests")) {
      for (JsonNode check : test.path("alert_rule_test")) {
        String name = check.get("alertname").asText();
        (check.path("exp_alerts").isEmpty() ? silent : firing).add(name);
      }
    }
    assertEquals(alerts, firing, "alerts without a firing test");
    assertEquals(alerts, silent, "alerts without a silent test");
  }

  /**
   * The unit tests can fail: a rule file whose threshold moved makes promtool report the
   * difference.
   */
  @Test
  void aChangedThresholdFailsTheUnitTests(@TempDir Path dir) throws Exception {
    String promtool = Tools.require("promtool", "prometheus");
    String rules = Files.readString(RULES, StandardCharsets.UTF_8);
    Matcher m = Pattern.compile("streamlearn_learner_running == 0").matcher(rules);
    assertTrue(m.find(), "the learner-not-running expression moved: update this test");
    Files.writeString(
        dir.resolve("alerts.yml"), m.replaceFirst("streamlearn_learner_running == 2"));
    Files.copy(RULE_TESTS, dir.resolve("alerts.test.yml"));
    Tools.Run tests =
        Tools.run(
            new ArrayList<>(
                List.of(promtool, "test", "rules", dir.resolve("alerts.test.yml").toString())));
    assertNotEquals(
        0, tests.exitCode(), "promtool passed a rule file with a broken alert:\n" + tests.output());
    assertTrue(tests.output().contains("StreamlearnLearnerNotRunning"), tests.output());
  }
}
