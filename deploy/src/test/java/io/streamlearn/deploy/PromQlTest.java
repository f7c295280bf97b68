package io.streamlearn.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Set;
import org.junit.jupiter.api.Test;

class PromQlTest {
  @Test
  void findsTheMetricNamesOfAnExpression() {
    assertEquals(
        Set.of("streamlearn_scorer_end_to_end_latency_seconds_bucket"),
        PromQl.metricNames(
            "histogram_quantile(0.99, sum by (le) (rate(streamlearn_scorer_end_to_end_latency_seconds_bucket"
                + "{model=~\"$model\"}[$__rate_interval])))"));
    assertEquals(
        Set.of("streamlearn_learner_samples_total", "streamlearn_learner_input_lag"),
        PromQl.metricNames(
            "sum by (model) (rate(streamlearn_learner_samples_total[10m])) == 0\nand on (model)\n"
                + "(max by (model) (streamlearn_learner_input_lag > 0) or max by (model) (streamlearn_learner_input_lag"
                + " != streamlearn_learner_input_lag))"));
    assertEquals(
        Set.of("streamlearn:accuracy_alert_threshold:default", "x"),
        PromQl.metricNames(
            "label_replace(x, \"measure\", \"live\", \"\", \"\") + scalar("
                + "streamlearn:accuracy_alert_threshold:default)"));
  }

  @Test
  void makesEveryComparisonABoolComparison() {
    assertEquals(
        "up{job=~\"a|b\", x!=\"y\"} == bool 0",
        PromQl.withBoolComparisons("up{job=~\"a|b\", x!=\"y\"} == 0"));
    assertEquals(
        "a < bool on (model) group_left () b",
        PromQl.withBoolComparisons("a < on (model) group_left () b"));
    assertEquals(
        "x != bool x or y >= bool 3 and z<= bool 1 or w > bool 2",
        PromQl.withBoolComparisons("x != x or y >= 3 and z<= 1 or w > 2"));
    assertEquals("rate(a[5m]) > bool 0", PromQl.withBoolComparisons("rate(a[5m]) > 0"));
  }
}
