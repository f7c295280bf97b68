package io.streamlearn.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.openshift.api.model.monitoring.v1.PodMonitor;
import io.fabric8.openshift.api.model.monitoring.v1.PrometheusRule;
import io.streamlearn.core.config.ServiceCommand;
import io.streamlearn.core.config.Setting;
import io.streamlearn.learner.LearnerMain;
import io.streamlearn.learner.LearnerSettings;
import io.streamlearn.producer.ProducerMain;
import io.streamlearn.scorer.ScorerMain;
import io.streamlearn.scorer.ScorerSettings;
import io.strimzi.api.kafka.model.topic.KafkaTopic;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The deployment files, validated offline against the real tools and models, and against the code's
 * own defaults: every Kubernetes resource through fabric8's model (and Strimzi's for KafkaTopic)
 * with unknown fields as errors, the compose file through {@code docker-compose config}, the
 * Dockerfile's module paths through the Maven reactor, and every environment key, port and topic
 * through the services' settings.
 */
class DeployFilesTest {
  private static final ObjectMapper YAML =
      new ObjectMapper(new YAMLFactory()).enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
  private static final Path DEPLOY = Tools.ROOT.resolve("deploy");

  /** Variables the images' entrypoint reads (deploy/docker/entrypoint.sh), not service settings. */
  private static final Set<String> ENTRYPOINT_VARIABLES =
      Set.of(
          "JAVA_OPTS",
          "MAX_RAM_PERCENTAGE",
          "JAVACPP_MAX_BYTES",
          "JAVACPP_CACHE_DIR",
          "STREAMLEARN_LIB_DIR",
          "OMP_NUM_THREADS",
          "OMP_WAIT_POLICY");

  private static final Map<String, Class<?>> KINDS =
      Map.of(
          "v1/Namespace",
          Namespace.class,
          "v1/ConfigMap",
          ConfigMap.class,
          "v1/Secret",
          Secret.class,
          "v1/Service",
          Service.class,
          "apps/v1/StatefulSet",
          StatefulSet.class,
          "apps/v1/Deployment",
          Deployment.class,
          "batch/v1/Job",
          Job.class,
          "monitoring.coreos.com/v1/PodMonitor",
          PodMonitor.class,
          "monitoring.coreos.com/v1/PrometheusRule",
          PrometheusRule.class,
          "kafka.strimzi.io/v1/KafkaTopic",
          KafkaTopic.class);

  // --- Kubernetes ---

  @Test
  void everyKubernetesResourceLoadsIntoItsModelWithNoUnknownField() throws Exception {
    int resources = 0;
    for (Path file : k8sFiles()) {
      if (file.getFileName().toString().equals("kustomization.yaml")) {
        continue;
      }
      for (JsonNode doc : documents(file)) {
        String kind = doc.path("apiVersion").asText() + "/" + doc.path("kind").asText();
        Class<?> type = KINDS.get(kind);
        assertNotNull(type, file.getFileName() + ": no model for " + kind);
        Object resource = YAML.treeToValue(doc, type);
        List<String> unknown = new ArrayList<>();
        unknownFields(resource, doc.path("kind").asText(), unknown, new IdentityHashMap<>());
        assertEquals(
            List.of(),
            unknown,
            file.getFileName() + ": fields the " + kind + " model does not know");
        resources++;
      }
    }
    assertTrue(resources >= 15, "resources checked: " + resources);
  }

  /**
   * The check is real: a misspelled field is reported, where fabric8 alone would keep it silently.
   */
  @Test
  void aMisspelledKubernetesFieldIsReported() throws Exception {
    String text =
        Files.readString(DEPLOY.resolve("k8s/scorer.yaml"), StandardCharsets.UTF_8)
            .replaceFirst("terminationGracePeriodSeconds", "terminationGracePeriodSecond");
    List<String> unknown = new ArrayList<>();
    for (JsonNode doc : documents(text)) {
      Object resource =
          YAML.treeToValue(
              doc, KINDS.get(doc.path("apiVersion").asText() + "/" + doc.path("kind").asText()));
      unknownFields(resource, doc.path("kind").asText(), unknown, new IdentityHashMap<>());
    }
    assertEquals(1, unknown.size(), unknown.toString());
    assertTrue(unknown.get(0).contains("terminationGracePeriodSecond"), unknown.toString());
  }

  @Test
  void kustomizationListsEveryManifest() throws Exception {
    JsonNode kustomization = YAML.readTree(DEPLOY.resolve("k8s/kustomization.yaml").toFile());
    Set<String> listed = new TreeSet<>();
    kustomization.get("resources").forEach(r -> listed.add(r.asText()));
    Set<String> present = new TreeSet<>();
    k8sFiles().forEach(f -> present.add(f.getFileName().toString()));
    present.remove("kustomization.yaml");
    assertEquals(present, listed);
  }

  @Test
  void generatedPrometheusRuleAndDashboardConfigMapAreUpToDate() throws Exception {
    for (Map.Entry<String, String> file : GenerateDeploy.generate(Tools.ROOT).entrySet()) {
      String committed =
          Files.readString(Tools.ROOT.resolve(file.getKey()), StandardCharsets.UTF_8);
      assertEquals(
          file.getValue(),
          committed,
          file.getKey()
              + " differs from what its source generates: run"
              + " ./streamlearn generate-deploy and commit the result");
    }
    // and the PrometheusRule holds exactly the alert file's groups
    JsonNode rule = YAML.readTree(Tools.ROOT.resolve(GenerateDeploy.PROMETHEUS_RULE).toFile());
    JsonNode source = YAML.readTree(Tools.ROOT.resolve(GenerateDeploy.RULES).toFile());
    assertEquals(source.get("groups"), rule.path("spec").get("groups"));
  }

  @Test
  void podsRunAsNonRootWithProbesOnTheServicePorts() throws Exception {
    Map<String, Integer> defaults =
        Map.of(
            "learner",
            learnerDefaults().metrics().port(),
            "scorer",
            scorerDefaults().http().port(),
            "producer",
            producerMetricsPort());
    for (Path file : k8sFiles()) {
      for (JsonNode doc : documents(file)) {
        JsonNode pod = doc.path("spec").path("template").path("spec");
        if (!pod.has("containers")) {
          continue;
        }
        PodSpec spec = YAML.treeToValue(pod, PodSpec.class);
        assertTrue(
            Boolean.TRUE.equals(spec.getSecurityContext().getRunAsNonRoot()),
            file + ": runAsNonRoot");
        for (Container c : spec.getContainers()) {
          int port = c.getPorts().get(0).getContainerPort();
          assertEquals(
              defaults.get(c.getName()),
              port,
              file + ": " + c.getName() + "'s port vs the code's default");
          assertTrue(c.getResources().getLimits().containsKey("memory"), file + ": memory limit");
          assertTrue(
              c.getResources().getRequests().containsKey("memory"), file + ": memory request");
          if (!c.getName().equals("producer")) {
            assertEquals(
                "/health/live", c.getLivenessProbe().getHttpGet().getPath(), file + ": liveness");
            assertEquals(
                "/health/ready",
                c.getReadinessProbe().getHttpGet().getPath(),
                file + ": readiness");
          }
          checkEnvironment(c.getName(), environmentOf(doc, c), file.toString());
        }
      }
    }
  }

  @Test
  void strimziTopicsAreTheServicesTopicsWithTheirConfigs() throws Exception {
    Map<String, Topic> strimzi = new TreeMap<>();
    for (JsonNode doc : documents(DEPLOY.resolve("k8s/topics.yaml"))) {
      KafkaTopic topic = YAML.treeToValue(doc, KafkaTopic.class);
      Map<String, String> configs = new TreeMap<>();
      topic.getSpec().getConfig().forEach((k, v) -> configs.put(k, String.valueOf(v)));
      configs.remove("min.insync.replicas"); // a replication choice of the cluster, not of the code
      strimzi.put(
          topic.getSpec().getTopicName(), new Topic(topic.getSpec().getPartitions(), configs));
    }
    assertEquals(expectedTopics(), strimzi);
  }

  // --- compose ---

  @Test
  void composeFilePassesDockerComposeConfig() throws Exception {
    String compose = Tools.require("docker-compose", "docker-compose");
    Tools.Run run =
        Tools.run(
            List.of(compose, "-f", DEPLOY.resolve("compose.yaml").toString(), "config", "-q"));
    assertEquals(0, run.exitCode(), "docker-compose config:\n" + run.output());
  }

  @Test
  void composeServicesUseTheCodesSettingsPortsAndTopics() throws Exception {
    JsonNode services = YAML.readTree(DEPLOY.resolve("compose.yaml").toFile()).get("services");
    Map<String, String> components =
        Map.of(
            "learner",
            "learner",
            "scorer",
            "scorer",
            "producer-train",
            "producer",
            "producer-events",
            "producer");
    components.forEach(
        (service, component) -> {
          Map<String, String> env = new TreeMap<>();
          services
              .path(service)
              .path("environment")
              .fields()
              .forEachRemaining(e -> env.put(e.getKey(), e.getValue().asText()));
          assertFalse(env.isEmpty(), service + " has no environment map");
          checkEnvironment(component, env, "compose service " + service);
          String port =
              env.get(
                  component.equals("scorer")
                      ? "STREAMLEARN_HTTP_PORT"
                      : "STREAMLEARN_METRICS_PORT");
          assertNotNull(port, service + " sets no port");
          services
              .path(service)
              .path("ports")
              .forEach(
                  p ->
                      assertEquals(
                          port + ":" + port,
                          p.asText(),
                          service + " publishes a port it does not listen on"));
        });
    assertEquals(
        Integer.toString(learnerDefaults().metrics().port()),
        services.path("learner").path("environment").path("STREAMLEARN_METRICS_PORT").asText());
    assertEquals(
        Integer.toString(scorerDefaults().http().port()),
        services.path("scorer").path("environment").path("STREAMLEARN_HTTP_PORT").asText());

    // topic-init creates the services' topics with the configs the code would give them
    String script = services.path("topic-init").path("command").get(0).asText();
    Map<String, Topic> created = new TreeMap<>();
    Matcher line = Pattern.compile("--create .*").matcher(script);
    while (line.find()) {
      String create = line.group();
      Matcher topic = Pattern.compile("--topic (\\S+)").matcher(create);
      Matcher partitions = Pattern.compile("--partitions (\\d+)").matcher(create);
      assertTrue(topic.find() && partitions.find(), create);
      Map<String, String> configs = new TreeMap<>();
      Matcher config = Pattern.compile("--config ([^=\\s]+)=(\\S+)").matcher(create);
      while (config.find()) {
        configs.put(config.group(1), config.group(2));
      }
      configs.remove("min.insync.replicas");
      created.put(topic.group(1), new Topic(Integer.parseInt(partitions.group(1)), configs));
    }
    assertEquals(expectedTopics(), created);

    // Prometheus scrapes each service's compose name and port
    JsonNode scrape = YAML.readTree(DEPLOY.resolve("prometheus/prometheus.yml").toFile());
    Set<String> targets = new TreeSet<>();
    scrape
        .get("scrape_configs")
        .forEach(
            job ->
                job.get("static_configs")
                    .forEach(s -> s.get("targets").forEach(t -> targets.add(t.asText()))));
    Set<String> expected = new TreeSet<>();
    components
        .keySet()
        .forEach(
            service -> {
              JsonNode env = services.path(service).path("environment");
              expected.add(
                  service
                      + ":"
                      + env.path(
                              service.equals("scorer")
                                  ? "STREAMLEARN_HTTP_PORT"
                                  : "STREAMLEARN_METRICS_PORT")
                          .asText());
            });
    assertEquals(expected, targets);
  }

  @Test
  void grafanaProvisioningPinsTheDashboardsDatasource() throws Exception {
    JsonNode datasources =
        YAML.readTree(DEPLOY.resolve("grafana/provisioning/datasources/prometheus.yml").toFile());
    String uid = datasources.get("datasources").get(0).get("uid").asText();
    JsonNode dashboard =
        new ObjectMapper().readTree(DEPLOY.resolve("grafana/dashboards/streamlearn.json").toFile());
    assertFalse(dashboard.has("__inputs"), "file provisioning does not resolve __inputs");
    assertTrue(dashboard.path("schemaVersion").asInt() > 0, "schemaVersion");
    JsonNode variable = null;
    for (JsonNode v : dashboard.path("templating").path("list")) {
      if (v.path("type").asText().equals("datasource")) {
        variable = v;
      }
    }
    assertNotNull(variable, "no datasource template variable");
    assertEquals(
        uid, variable.path("current").path("value").asText(), "the variable's default datasource");
    String text = dashboard.toString();
    assertFalse(text.contains("${DS_"), "unresolved ${DS_...} placeholders");
    List<JsonNode> panels = new ArrayList<>();
    dashboard.get("panels").forEach(panels::add);
    for (JsonNode panel : panels) {
      if (panel.path("type").asText().equals("row")) {
        continue;
      }
      assertEquals(
          "${" + variable.get("name").asText() + "}",
          panel.path("datasource").path("uid").asText(),
          panel.path("title") + ": datasource");
      assertFalse(
          panel.path("fieldConfig").path("defaults").path("unit").asText().isEmpty(),
          panel.path("title") + ": no unit");
      panel
          .path("targets")
          .forEach(
              t -> {
                String expr = t.path("expr").asText();
                if (expr.contains("rate(") || expr.contains("increase(")) {
                  assertTrue(
                      expr.contains("[$__rate_interval]"), panel.path("title") + ": " + expr);
                }
              });
    }
    JsonNode provider =
        YAML.readTree(DEPLOY.resolve("grafana/provisioning/dashboards/streamlearn.yml").toFile());
    assertEquals(
        "/var/lib/grafana/dashboards",
        provider.get("providers").get(0).path("options").path("path").asText());
    JsonNode grafana =
        YAML.readTree(DEPLOY.resolve("compose.yaml").toFile()).path("services").path("grafana");
    assertTrue(
        grafana
            .path("volumes")
            .toString()
            .contains("./grafana/dashboards:/var/lib/grafana/dashboards"),
        "compose mounts the dashboards where the provider reads them");
  }

  // --- Dockerfile ---

  @Test
  void dockerfileCopiesEveryReactorModuleTheServicesNeed() throws Exception {
    String dockerfile =
        Files.readString(DEPLOY.resolve("docker/Dockerfile"), StandardCharsets.UTF_8);
    Set<String> reactor = reactorModules();
    Set<String> copiedPoms = new TreeSet<>();
    Set<String> copiedSources = new TreeSet<>();
    Matcher copy = Pattern.compile("(?m)^COPY (?!--from)(.+)$").matcher(dockerfile);
    while (copy.find()) {
      String[] parts = copy.group(1).trim().split("\\s+");
      for (int i = 0; i < parts.length - 1; i++) {
        String source = parts[i];
        assertTrue(
            Files.exists(Tools.ROOT.resolve(source)),
            "the Dockerfile copies " + source + ", which is not in the repository");
        String first = source.split("/")[0];
        if (source.endsWith("/pom.xml")) {
          copiedPoms.add(first);
        } else if (source.startsWith(first + "/src")) {
          copiedSources.add(first);
        }
      }
    }
    assertEquals(reactor, copiedPoms, "Maven reads every module's pom of the reactor");
    Matcher pl = Pattern.compile("-pl (\\S+)").matcher(dockerfile);
    assertTrue(pl.find(), "no -pl in the Dockerfile");
    Set<String> built = new TreeSet<>(List.of(pl.group(1).split(",")));
    assertEquals(Set.of("learner", "scorer", "producer"), built);
    assertTrue(reactor.containsAll(built), "modules built: " + built + ", reactor: " + reactor);
    Set<String> needed = new TreeSet<>();
    built.forEach(m -> closure(m, needed));
    assertEquals(
        needed, copiedSources, "sources copied vs the modules the services need (with -am)");
    for (String target : List.of("learner", "scorer", "producer")) {
      assertTrue(dockerfile.contains("FROM runtime AS " + target), "no target " + target);
    }
    Matcher main =
        Pattern.compile("entrypoint.sh\", \"(io\\.streamlearn\\.[\\w.]+)\"").matcher(dockerfile);
    Set<String> mains = new TreeSet<>();
    while (main.find()) {
      mains.add(main.group(1));
    }
    assertEquals(
        new TreeSet<>(
            List.of(
                LearnerMain.class.getName(),
                ScorerMain.class.getName(),
                ProducerMain.class.getName())),
        mains);
    Matcher expose = Pattern.compile("(?m)^EXPOSE (\\d+)$").matcher(dockerfile);
    Set<Integer> ports = new TreeSet<>();
    while (expose.find()) {
      ports.add(Integer.parseInt(expose.group(1)));
    }
    assertEquals(
        new TreeSet<>(
            List.of(
                learnerDefaults().metrics().port(),
                scorerDefaults().http().port(),
                producerMetricsPort())),
        ports);
  }

  @Test
  void entrypointUsesTheLaunchersJvmSettings() throws Exception {
    String launcher = Files.readString(Tools.ROOT.resolve("streamlearn"), StandardCharsets.UTF_8);
    String entrypoint =
        Files.readString(DEPLOY.resolve("docker/entrypoint.sh"), StandardCharsets.UTF_8);
    for (String setting :
        List.of(
            "-XX:G1HeapRegionSize=8m",
            "OMP_NUM_THREADS=\"${OMP_NUM_THREADS:-1}\"",
            "OMP_WAIT_POLICY=\"${OMP_WAIT_POLICY:-PASSIVE}\"",
            "-Dstreamlearn.data.dir=")) {
      assertTrue(
          launcher.contains(setting),
          "the launcher no longer has " + setting + ": update this test");
      assertTrue(entrypoint.contains(setting), "the entrypoint lacks the launcher's " + setting);
    }
  }

  // --- helpers ---

  record Topic(int partitions, Map<String, String> configs) {}

  /** The topics and configs the services create when they are missing (the code's defaults). */
  private static Map<String, Topic> expectedTopics() {
    LearnerSettings.Config learner = learnerDefaults();
    ScorerSettings.Config scorer = scorerDefaults();
    Map<String, Topic> topics = new TreeMap<>();
    topics.put(learner.trainingTopic(), new Topic(learner.partitions(), Map.of()));
    topics.put(learner.deadLetterTopic(), new Topic(1, Map.of()));
    topics.put(
        learner.snapshotTopic(),
        new Topic(1, new TreeMap<>(LearnerMain.snapshotTopicConfigs(learner))));
    topics.put(scorer.imagesTopic(), new Topic(scorer.partitions(), Map.of()));
    topics.put(scorer.predictionsTopic(), new Topic(scorer.partitions(), Map.of()));
    assertEquals(learner.deadLetterTopic(), scorer.deadLetterTopic());
    return topics;
  }

  private static int producerMetricsPort() {
    return ProducerMain.COMMAND.settings().stream()
        .filter(s -> s.name().equals("metrics-port"))
        .findFirst()
        .map(s -> Integer.parseInt(s.defaultValue()))
        .orElseThrow();
  }

  private static LearnerSettings.Config learnerDefaults() {
    return LearnerSettings.resolve(parse(LearnerMain.COMMAND, Map.of()));
  }

  private static ScorerSettings.Config scorerDefaults() {
    return ScorerSettings.resolve(parse(ScorerMain.COMMAND, Map.of()));
  }

  private static io.streamlearn.core.config.Configuration parse(
      ServiceCommand command, Map<String, String> env) {
    return command.parse(new String[0], env, new PrintWriter(new StringWriter())).orElseThrow();
  }

  /**
   * Each key is a setting of the component (or a Kafka pass-through or an entrypoint variable), and
   * resolves.
   */
  private static void checkEnvironment(String component, Map<String, String> env, String where) {
    ServiceCommand command =
        switch (component) {
          case "learner" -> LearnerMain.COMMAND;
          case "scorer" -> ScorerMain.COMMAND;
          case "producer" -> ProducerMain.COMMAND;
          default -> throw new AssertionError("unknown component " + component + " in " + where);
        };
    Set<String> known = new TreeSet<>(ENTRYPOINT_VARIABLES);
    for (Setting<?> s : command.settings()) {
      known.add(s.environmentVariable());
    }
    for (String key : env.keySet()) {
      assertTrue(
          known.contains(key) || key.startsWith("STREAMLEARN_KAFKA_"),
          where + ": " + key + " is not a setting of the " + component + " (known: " + known + ")");
    }
    Map<String, String> settingsOnly = new TreeMap<>(env);
    settingsOnly.keySet().removeAll(ENTRYPOINT_VARIABLES);
    io.streamlearn.core.config.Configuration parsed =
        parse(command, settingsOnly); // throws naming a bad value
    switch (component) {
      case "learner" -> LearnerSettings.resolve(parsed);
      case "scorer" -> ScorerSettings.resolve(parsed);
      default -> {}
    }
  }

  private static Map<String, String> environmentOf(JsonNode doc, Container c) throws IOException {
    Map<String, String> env = new LinkedHashMap<>();
    if (c.getEnv() != null) {
      c.getEnv().forEach(e -> env.put(e.getName(), e.getValue()));
    }
    if (c.getEnvFrom() != null) {
      for (var from : c.getEnvFrom()) {
        if (from.getConfigMapRef() != null) {
          env.putAll(configMap(from.getConfigMapRef().getName()));
        }
        if (from.getSecretRef() != null) {
          env.putAll(secret(from.getSecretRef().getName()));
        }
      }
    }
    return env;
  }

  private static Map<String, String> configMap(String name) throws IOException {
    return find("ConfigMap", name, ConfigMap.class).getData();
  }

  private static Map<String, String> secret(String name) throws IOException {
    return find("Secret", name, Secret.class).getStringData();
  }

  /** The resource of that kind and name in deploy/k8s, loaded into its model. */
  private static <T> T find(String kind, String name, Class<T> type) throws IOException {
    for (Path file : k8sFiles()) {
      for (JsonNode doc : documents(file)) {
        if (doc.path("kind").asText().equals(kind)
            && doc.path("metadata").path("name").asText().equals(name)) {
          return YAML.treeToValue(doc, type);
        }
      }
    }
    throw new AssertionError("no " + kind + " " + name + " in deploy/k8s");
  }

  private static List<Path> k8sFiles() throws IOException {
    try (Stream<Path> files = Files.list(DEPLOY.resolve("k8s"))) {
      return files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList();
    }
  }

  private static List<JsonNode> documents(Path file) throws IOException {
    return documents(Files.readString(file, StandardCharsets.UTF_8));
  }

  private static List<JsonNode> documents(String text) throws IOException {
    List<JsonNode> docs = new ArrayList<>();
    try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(text)) {
      while (it.hasNext()) {
        JsonNode doc = it.next();
        if (doc != null && !doc.isNull() && !doc.isEmpty()) {
          docs.add(doc);
        }
      }
    }
    return docs;
  }

  /**
   * fabric8's and Strimzi's models keep any field they do not know in {@code additionalProperties},
   * silently: walk the loaded object and report every such field with its path.
   */
  private static void unknownFields(
      Object node, String path, List<String> unknown, Map<Object, Boolean> seen) {
    if (node == null || seen.put(node, true) != null) {
      return;
    }
    if (node instanceof Collection<?> list) {
      int i = 0;
      for (Object item : list) {
        unknownFields(item, path + "[" + i++ + "]", unknown, seen);
      }
      return;
    }
    if (node instanceof Map<?, ?> map) {
      map.forEach((k, v) -> unknownFields(v, path + "." + k, unknown, seen));
      return;
    }
    String pkg = node.getClass().getPackageName();
    if (!pkg.startsWith("io.fabric8") && !pkg.startsWith("io.strimzi")) {
      return;
    }
    for (Method m : node.getClass().getMethods()) {
      if (m.getParameterCount() != 0
          || Modifier.isStatic(m.getModifiers())
          || !m.getName().startsWith("get")
          || m.getDeclaringClass() == Object.class) {
        continue;
      }
      Object value;
      try {
        value = m.invoke(node);
      } catch (ReflectiveOperationException | RuntimeException e) {
        continue;
      }
      if (m.getName().equals("getAdditionalProperties")) {
        if (value instanceof Map<?, ?> extra && !extra.isEmpty()) {
          extra.keySet().forEach(k -> unknown.add(path + "." + k));
        }
      } else if (!m.getName().equals("getClass")) {
        unknownFields(value, path + "." + decapitalize(m.getName().substring(3)), unknown, seen);
      }
    }
  }

  private static String decapitalize(String name) {
    return name.isEmpty() ? name : Character.toLowerCase(name.charAt(0)) + name.substring(1);
  }

  private static Set<String> reactorModules() throws IOException {
    String pom = Files.readString(Tools.ROOT.resolve("pom.xml"), StandardCharsets.UTF_8);
    Set<String> modules = new TreeSet<>();
    Matcher m = Pattern.compile("<module>([^<]+)</module>").matcher(pom);
    while (m.find()) {
      modules.add(m.group(1));
    }
    return modules;
  }

  /**
   * The module and the reactor modules it depends on, in any scope (Maven's -am builds them all).
   */
  private static void closure(String module, Set<String> into) {
    if (!into.add(module)) {
      return;
    }
    try {
      String pom =
          Files.readString(Tools.ROOT.resolve(module).resolve("pom.xml"), StandardCharsets.UTF_8);
      String dependencies =
          pom.contains("<dependencies>") ? pom.substring(pom.indexOf("<dependencies>")) : "";
      Matcher m =
          Pattern.compile("<artifactId>streamlearn-([a-z]+)</artifactId>").matcher(dependencies);
      while (m.find()) {
        closure(m.group(1), into);
      }
    } catch (IOException e) {
      throw new AssertionError("module " + module + " has no pom.xml", e);
    }
  }
}
