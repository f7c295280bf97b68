package io.streamlearn.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * {@code ./streamlearn generate-deploy}: writes the two Kubernetes files that have a source
 * elsewhere, so that each has one source: {@code deploy/k8s/prometheusrule.yaml} (a Prometheus
 * operator {@code PrometheusRule} holding the rule groups of {@code deploy/prometheus/alerts.yml})
 * and {@code deploy/k8s/grafana-dashboard.yaml} (a ConfigMap holding {@code
 * deploy/grafana/dashboards/streamlearn.json}, labelled for Grafana's dashboard sidecar). A test
 * regenerates both and fails on any difference from the committed files.
 */
public final class GenerateDeploy {
  public static final String RULES = "deploy/prometheus/alerts.yml";
  public static final String DASHBOARD = "deploy/grafana/dashboards/streamlearn.json";
  public static final String PROMETHEUS_RULE = "deploy/k8s/prometheusrule.yaml";
  public static final String DASHBOARD_CONFIG_MAP = "deploy/k8s/grafana-dashboard.yaml";
  static final String NAMESPACE = "streamlearn";

  private static final ObjectMapper YAML =
      new ObjectMapper(
          new YAMLFactory()
              .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
              .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
              .enable(
                  YAMLGenerator.Feature
                      .ALWAYS_QUOTE_NUMBERS_AS_STRINGS) // a label value "1" must stay a string
              .disable(YAMLGenerator.Feature.SPLIT_LINES)
              .enable(YAMLGenerator.Feature.LITERAL_BLOCK_STYLE)
              .enable(YAMLGenerator.Feature.INDENT_ARRAYS_WITH_INDICATOR));

  private GenerateDeploy() {}

  public static void main(String[] args) throws IOException {
    Path root = Path.of(args.length > 0 ? args[0] : ".").toAbsolutePath().normalize();
    for (Map.Entry<String, String> file : generate(root).entrySet()) {
      Files.writeString(root.resolve(file.getKey()), file.getValue(), StandardCharsets.UTF_8);
      System.out.println("wrote " + file.getKey());
    }
  }

  /** Every generated file, by path from the repository root, with its content. */
  public static Map<String, String> generate(Path root) {
    return Map.of(
        PROMETHEUS_RULE, prometheusRule(root), DASHBOARD_CONFIG_MAP, dashboardConfigMap(root));
  }

  static String prometheusRule(Path root) {
    JsonNode rules = read(root.resolve(RULES), YAML);
    // The Prometheus operator loads PrometheusRules its ruleSelector matches
    // (kube-prometheus-stack: release=<name>).
    ObjectNode resource =
        resource(
            "monitoring.coreos.com/v1", "PrometheusRule", "streamlearn", "release", "prometheus");
    resource.putObject("spec").set("groups", rules.get("groups"));
    return header(RULES) + write(resource);
  }

  static String dashboardConfigMap(Path root) {
    String dashboard;
    try {
      dashboard = Files.readString(root.resolve(DASHBOARD), StandardCharsets.UTF_8);
      new ObjectMapper().readTree(dashboard); // refuse to package a dashboard that is not JSON
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + DASHBOARD, e);
    }
    // Grafana's sidecar (grafana and kube-prometheus-stack charts) loads ConfigMaps with this
    // label.
    ObjectNode resource =
        resource("v1", "ConfigMap", "streamlearn-grafana-dashboard", "grafana_dashboard", "1");
    resource.putObject("data").put("streamlearn.json", dashboard);
    return header(DASHBOARD) + write(resource);
  }

  /**
   * A resource's head: apiVersion, kind, and metadata with our namespace, our part-of label and one
   * label more.
   */
  private static ObjectNode resource(
      String apiVersion, String kind, String name, String label, String value) {
    ObjectNode resource = YAML.createObjectNode();
    resource.put("apiVersion", apiVersion);
    resource.put("kind", kind);
    ObjectNode metadata = resource.putObject("metadata");
    metadata.put("name", name);
    metadata.put("namespace", NAMESPACE);
    ObjectNode labels = metadata.putObject("labels");
    labels.put("app.kubernetes.io/part-of", "streamlearn");
    labels.put(label, value);
    return resource;
  }

  private static String header(String source) {
    return "# Generated from "
        + source
        + " by ./streamlearn generate-deploy: edit the source, then regenerate.\n";
  }

  private static JsonNode read(Path file, ObjectMapper mapper) {
    try {
      return mapper.readTree(file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }

  private static String write(JsonNode node) {
    try {
      return YAML.writeValueAsString(node);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
