package io.streamlearn.architecture;

import static com.tngtech.archunit.core.domain.JavaCall.Predicates.target;
import static com.tngtech.archunit.core.domain.properties.HasName.Predicates.name;
import static com.tngtech.archunit.core.domain.properties.HasOwner.Predicates.With.owner;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The structure the build enforces: which module may use which (the math and the contract know
 * nothing of Kafka; the scorer never uses the learner), and one way to do each thing (one class
 * sets {@code bootstrap.servers}, one reads a topic to its end, one creates topics, one shuffles).
 * ArchUnit checks the compiled main classes of every module; the bootstrap rule scans the sources,
 * since the compiler inlines string constants. Each rule says why in its {@code because}.
 */
class ArchitectureTest {
  /** The modules that run as processes, and what runs them all. */
  private static final String SERVICES = "broker producer learner scorer demo bench";

  private static JavaClasses main;

  @BeforeAll
  static void importMainClasses() {
    main =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.streamlearn");
  }

  @Test
  void everyModuleIsImported() {
    for (String pkg :
        List.of(
            "contract",
            "contract.avro",
            "core",
            "core.kafka",
            "mnist",
            "model",
            "testkit",
            "broker",
            "producer",
            "learner",
            "scorer",
            "demo",
            "bench",
            "deploy")) {
      assertTrue(
          main.containPackage("io.streamlearn." + pkg),
          "no classes of io.streamlearn."
              + pkg
              + " on the class path: the rules would check nothing");
    }
  }

  @Test
  void theContractDependsOnAvroAlone() {
    check(
        classes()
            .that()
            .resideInAPackage("io.streamlearn.contract..")
            .should()
            .onlyDependOnClassesThat()
            .resideInAnyPackage(
                "io.streamlearn.contract..",
                "java..",
                "org.apache.avro..",
                "com.fasterxml.jackson..")
            .because("any client that speaks Avro must be able to use the contract, Kafka or not"));
  }

  @Test
  void theMathDependsOnTheContractOnly() {
    check(
        noClasses()
            .that()
            .resideInAPackage("io.streamlearn.model..")
            .should()
            .dependOnClassesThat()
            .resideInAnyPackage(packages("org.apache.kafka", "core", "mnist", "testkit", SERVICES))
            .because("the network math is tested and benchmarked without Kafka or a data set"));
  }

  @Test
  void dataSetReadersKnowNoKafkaAndNoModel() {
    check(
        noClasses()
            .that()
            .resideInAPackage("io.streamlearn.mnist..")
            .should()
            .dependOnClassesThat()
            .resideInAnyPackage(
                "org.apache.kafka..",
                "io.streamlearn.model..",
                "io.streamlearn.producer..",
                "io.streamlearn.learner..",
                "io.streamlearn.scorer..")
            .because("reading a data set file is the same whoever streams or trains on it"));
  }

  @Test
  void theSharedCoreUsesNoService() {
    check(
        noClasses()
            .that()
            .resideInAnyPackage("io.streamlearn.core..", "io.streamlearn.contract..")
            .should()
            .dependOnClassesThat()
            .resideInAnyPackage(packages("model", "mnist", "testkit", SERVICES, "deploy"))
            .because("core is what every service shares; it cannot know any of them"));
  }

  @Test
  void theServicesTalkOnlyThroughTopics() {
    check(
        noClasses()
            .that()
            .resideInAPackage("io.streamlearn.scorer..")
            .should()
            .dependOnClassesThat()
            .resideInAnyPackage("io.streamlearn.learner..", "io.streamlearn.producer..")
            .because("a scorer follows snapshots on a topic; it never runs learner code"));
    check(
        noClasses()
            .that()
            .resideInAPackage("io.streamlearn.learner..")
            .should()
            .dependOnClassesThat()
            .resideInAnyPackage("io.streamlearn.scorer..", "io.streamlearn.producer..")
            .because("the learner reads samples from a topic, whoever wrote them"));
    check(
        noClasses()
            .that()
            .resideInAPackage("io.streamlearn.producer..")
            .should()
            .dependOnClassesThat()
            .resideInAnyPackage(
                "io.streamlearn.model..", "io.streamlearn.learner..", "io.streamlearn.scorer..")
            .because("the producer writes records of the contract and needs no network"));
  }

  @Test
  void noMainCodeUsesTheTestKit() {
    check(
        noClasses()
            .that()
            .resideOutsideOfPackage("io.streamlearn.testkit..")
            .should()
            .dependOnClassesThat()
            .resideInAPackage("io.streamlearn.testkit..")
            .because(
                "the test kit starts brokers for tests; services and benchmarks run on real ones"));
  }

  @Test
  void noMainCodeNamesALoggingBackend() {
    check(
        noClasses()
            .should()
            .dependOnClassesThat()
            .resideInAnyPackage("org.apache.logging.log4j..", "ch.qos.logback..")
            .because("code logs through SLF4J; the backend is the application's choice"));
  }

  @Test
  void oneClassReadsATopicToItsEnd() {
    check(
        noClasses()
            .that()
            .doNotHaveFullyQualifiedName("io.streamlearn.core.kafka.TopicReader")
            .and()
            .doNotHaveFullyQualifiedName("io.streamlearn.core.kafka.TopicReader$End")
            .should()
            .callMethodWhere(
                target(name("endOffsets"))
                    .and(target(owner(assignableTo("org.apache.kafka.clients.consumer.Consumer")))))
            .because(
                "TopicReader is the one read-to-end (end offsets taken once, positions polled)"));
  }

  @Test
  void oneClassCreatesTopics() {
    check(
        noClasses()
            .that()
            .doNotHaveFullyQualifiedName("io.streamlearn.core.kafka.TopicAdmin")
            // The benchmark of KAFKA-15591 repeats the old way (create, then only wait for
            // metadata) on purpose, beside TopicAdmin's.
            .and()
            .doNotHaveFullyQualifiedName("io.streamlearn.bench.PrefillLoop")
            .should()
            .callMethodWhere(
                target(name("createTopics"))
                    .and(target(owner(assignableTo("org.apache.kafka.clients.admin.Admin")))))
            .because("TopicAdmin creates a topic and waits until every partition is served"));
  }

  @Test
  void oneShuffle() {
    check(
        noClasses()
            .that()
            .doNotHaveFullyQualifiedName("io.streamlearn.core.Shuffle")
            .should()
            .callMethodWhere(
                target(name("shuffle")).and(target(owner(name("java.util.Collections")))))
            .because("core.Shuffle is the one shuffle (seeded, repeatable)"));
  }

  @Test
  void oneClassSetsBootstrapServers() throws IOException {
    Pattern setting = Pattern.compile("BOOTSTRAP_SERVERS_CONFIG|\"bootstrap\\.servers\"");
    List<String> offenders = new ArrayList<>();
    int scanned = 0;
    for (Path file : javaSources()) {
      if (file.endsWith(Path.of("io/streamlearn/core/kafka/KafkaClients.java"))
          || file.endsWith(Path.of("io/streamlearn/architecture/ArchitectureTest.java"))) {
        continue; // the one place, and this rule's own pattern
      }
      scanned++;
      List<String> lines = Files.readAllLines(file);
      for (int i = 0; i < lines.size(); i++) {
        if (setting.matcher(lines.get(i)).find()) {
          offenders.add(root().relativize(file) + ":" + (i + 1));
        }
      }
    }
    assertTrue(scanned > 100, "scanned only " + scanned + " source files under " + root());
    assertEquals(
        List.of(),
        offenders,
        "only core/kafka/KafkaClients sets bootstrap.servers (main and test code alike)");
  }

  private static DescribedPredicate<JavaClass> assignableTo(String type) {
    return new DescribedPredicate<>("assignable to " + type) {
      @Override
      public boolean test(JavaClass c) {
        return c.isAssignableTo(type);
      }
    };
  }

  /**
   * Package patterns: each word a module of {@code io.streamlearn} (a dotted name is taken as it
   * is), with its subpackages.
   */
  private static String[] packages(String... words) {
    return java.util.Arrays.stream(words)
        .flatMap(w -> java.util.Arrays.stream(w.split(" ")))
        .map(w -> (w.contains(".") ? w : "io.streamlearn." + w) + "..")
        .toArray(String[]::new);
  }

  private static void check(ArchRule rule) {
    rule.check(main);
  }

  /** The repository root: this module's parent. */
  private static Path root() {
    return Path.of("").toAbsolutePath().getParent();
  }

  /** Every Java source of every module, main and test, generated code excluded. */
  private static List<Path> javaSources() throws IOException {
    try (Stream<Path> files = Files.walk(root())) {
      return files
          .filter(p -> p.toString().endsWith(".java"))
          .filter(p -> p.toString().contains("/src/"))
          .filter(p -> !p.toString().contains("/target/"))
          .filter(p -> !p.toString().contains("/.git/"))
          .toList();
    }
  }
}
