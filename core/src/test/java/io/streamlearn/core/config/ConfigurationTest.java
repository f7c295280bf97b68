package io.streamlearn.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

class ConfigurationTest {
  enum Mode {
    TRAIN,
    EVENTS,
    DRY_RUN
  }

  static final Setting<Integer> RATE =
      Setting.integer("rate", "Records per second.", 100, 1, 10_000);
  static final Setting<String> TOPIC = Setting.text("topic", "Topic to write.", "mnist.train");
  static final Setting<String> BOOTSTRAP =
      Setting.text("bootstrap-servers", "Kafka bootstrap servers.", "localhost:9092");
  static final Setting<Double> RATIO = Setting.decimal("ratio", "A fraction.", 0.5, 0.0, 1.0);
  static final Setting<Mode> MODE = Setting.choice("mode", "What to do.", Mode.class, Mode.TRAIN);
  static final Setting<Boolean> SHUFFLE = Setting.onOff("shuffle", "Shuffle each epoch.", true);
  static final Setting<Path> IMAGES = Setting.path("images", "An IDX images file.", null);
  static final Setting<String> PASSWORD = Setting.text("password", "A secret.", null).secret();
  static final Setting<String> COMPRESSION =
      Setting.oneOf("compression", "Compression.", "lz4", List.of("none", "lz4", "zstd"));

  static final List<Setting<?>> SETTINGS =
      List.of(RATE, TOPIC, BOOTSTRAP, RATIO, MODE, SHUFFLE, IMAGES, PASSWORD, COMPRESSION);

  @TempDir Path dir;

  private final StringWriter out = new StringWriter();

  private ServiceCommand command() {
    return new ServiceCommand("streamlearn test", "A test service.", SETTINGS);
  }

  private Configuration parse(Map<String, String> env, String... args) {
    Optional<Configuration> config = command().parse(args, env, new PrintWriter(out));
    assertTrue(config.isPresent(), "no --help given, a configuration is expected");
    return config.get();
  }

  private Path file(String... lines) throws IOException {
    Path file = dir.resolve("service.properties");
    Files.write(file, List.of(lines));
    return file;
  }

  private static ConfigException assertConfigError(
      String key, Executable call, String... fragments) {
    ConfigException e = assertThrows(ConfigException.class, call);
    assertEquals(key, e.key(), e.getMessage());
    for (String fragment : fragments) {
      assertTrue(
          e.getMessage().contains(fragment),
          "message should contain '" + fragment + "': " + e.getMessage());
    }
    return e;
  }

  // --- precedence
  // -------------------------------------------------------------------------------------------------

  @Test
  void defaultsApplyWhenNothingIsGiven() {
    Configuration config = parse(Map.of());

    assertEquals(100, config.get(RATE));
    assertEquals("mnist.train", config.get(TOPIC));
    assertEquals(0.5, config.get(RATIO));
    assertEquals(Mode.TRAIN, config.get(MODE));
    assertEquals(true, config.get(SHUFFLE));
    assertEquals("lz4", config.get(COMPRESSION));
    assertNull(config.find(IMAGES));
    assertNull(config.find(PASSWORD));
    assertEquals(Map.of(), config.kafkaProperties());
  }

  @Test
  void fileOverridesDefault() throws IOException {
    Path file = file("rate=7", "topic=from-file");

    Configuration config = parse(Map.of(), "--config", file.toString());

    assertEquals(7, config.get(RATE));
    assertEquals("from-file", config.get(TOPIC));
    assertTrue(config.describe().contains("rate=7 (file " + file + ")"), config.describe());
  }

  @Test
  void environmentOverridesFile() throws IOException {
    Path file = file("rate=7", "topic=from-file");

    Configuration config = parse(Map.of("STREAMLEARN_RATE", "8"), "--config", file.toString());

    assertEquals(8, config.get(RATE));
    assertEquals("from-file", config.get(TOPIC));
    assertTrue(
        config.describe().contains("rate=8 (environment variable STREAMLEARN_RATE)"),
        config.describe());
  }

  @Test
  void flagOverridesEnvironmentAndFile() throws IOException {
    Path file = file("rate=7");

    Configuration config =
        parse(Map.of("STREAMLEARN_RATE", "8"), "--config", file.toString(), "--rate", "9");

    assertEquals(9, config.get(RATE));
    assertTrue(config.describe().contains("rate=9 (flag --rate)"), config.describe());
  }

  @Test
  void eachKeyResolvesFromItsOwnHighestSource() throws IOException {
    Path file = file("rate=7", "topic=file-topic", "ratio=0.25", "mode=events");
    Map<String, String> env = Map.of("STREAMLEARN_TOPIC", "env-topic", "STREAMLEARN_RATIO", "0.75");

    Configuration config = parse(env, "--config", file.toString(), "--ratio", "0.125");

    assertEquals(7, config.get(RATE)); // file only
    assertEquals("env-topic", config.get(TOPIC)); // env over file
    assertEquals(0.125, config.get(RATIO)); // flag over env and file
    assertEquals(Mode.EVENTS, config.get(MODE)); // file over default
    assertEquals("localhost:9092", config.get(BOOTSTRAP)); // default
    String d = config.describe();
    assertTrue(d.contains("bootstrap-servers=localhost:9092 (default)"), d);
    assertTrue(d.contains("topic=env-topic (environment variable STREAMLEARN_TOPIC)"), d);
    assertTrue(d.contains("ratio=0.125 (flag --ratio)"), d);
  }

  @Test
  void environmentVariableNamesUseUnderscoresForDashes() {
    Configuration config = parse(Map.of("STREAMLEARN_BOOTSTRAP_SERVERS", "broker:29092"));

    assertEquals("STREAMLEARN_BOOTSTRAP_SERVERS", BOOTSTRAP.environmentVariable());
    assertEquals("broker:29092", config.get(BOOTSTRAP));
  }

  @Test
  void configFileCanBeNamedByTheEnvironment() throws IOException {
    Path file = file("rate=11");

    Configuration config = parse(Map.of("STREAMLEARN_CONFIG", file.toString()));

    assertEquals(11, config.get(RATE));
  }

  @Test
  void configFlagOverridesConfigEnvironmentVariable() throws IOException {
    Path flagged = file("rate=12");
    Path other = dir.resolve("other.properties");
    Files.writeString(other, "rate=13\n");

    Configuration config =
        parse(Map.of("STREAMLEARN_CONFIG", other.toString()), "--config", flagged.toString());

    assertEquals(12, config.get(RATE));
  }

  @Test
  void choicesAcceptLowerCaseWithDashes() {
    assertEquals(Mode.DRY_RUN, parse(Map.of(), "--mode", "dry-run").get(MODE));
  }

  @Test
  void pathSettingsParseToPaths() {
    assertEquals(Path.of("/data/x.idx"), parse(Map.of(), "--images", "/data/x.idx").get(IMAGES));
  }

  // --- kafka pass-through
  // -----------------------------------------------------------------------------------------

  @Test
  void kafkaPropertiesPassThroughFromEverySource() throws IOException {
    Path file = file("kafka.acks=all", "kafka.linger.ms=5");
    Map<String, String> env = Map.of("STREAMLEARN_KAFKA_CLIENT_ID", "env-client");

    Configuration config =
        parse(
            env,
            "--config",
            file.toString(),
            "--kafka",
            "max.request.size=2097152",
            "--kafka",
            "x=a=b");

    assertEquals(
        Map.of(
            "acks", "all",
            "linger.ms", "5",
            "client.id", "env-client",
            "max.request.size", "2097152",
            "x", "a=b"),
        config.kafkaProperties());
  }

  @Test
  void kafkaFlagWinsOverEnvironmentWhichWinsOverFile() throws IOException {
    Path file = file("kafka.security.protocol=PLAINTEXT", "kafka.acks=1");
    Map<String, String> env =
        Map.of("STREAMLEARN_KAFKA_SECURITY_PROTOCOL", "SASL_SSL", "STREAMLEARN_KAFKA_ACKS", "all");

    Configuration config =
        parse(env, "--config", file.toString(), "--kafka", "security.protocol=SSL");

    assertEquals("SSL", config.kafkaProperties().get("security.protocol"));
    assertEquals("all", config.kafkaProperties().get("acks"));
    assertTrue(
        config.describe().contains("kafka.security.protocol=SSL (flag --kafka security.protocol)"),
        config.describe());
    assertTrue(
        config.describe().contains("kafka.acks=all (environment variable STREAMLEARN_KAFKA_ACKS)"),
        config.describe());
  }

  @Test
  void kafkaEnvironmentVariableBecomesLowerCaseDottedKey() {
    Configuration config = parse(Map.of("STREAMLEARN_KAFKA_SECURITY_PROTOCOL", "SASL_SSL"));

    assertEquals(Map.of("security.protocol", "SASL_SSL"), config.kafkaProperties());
  }

  @Test
  void bareKafkaPrefixInEnvironmentIsIgnored() {
    assertEquals(Map.of(), parse(Map.of("STREAMLEARN_KAFKA_", "x")).kafkaProperties());
  }

  @Test
  void rejectsKafkaFlagWithoutEquals() {
    assertConfigError(
        "kafka",
        () -> parse(Map.of(), "--kafka", "acks"),
        "invalid --kafka argument of 4 characters",
        "key=value");
  }

  @Test
  void rejectsKafkaFlagWithEmptyKey() {
    assertConfigError(
        "kafka",
        () -> parse(Map.of(), "--kafka", "=all"),
        "invalid --kafka argument of 4 characters");
  }

  @Test
  void anUnquotedJaasValueIsNotEchoedInTheError() {
    // what a shell makes of --kafka sasl.jaas.config=... password="s3cret"; without quotes
    ConfigException e =
        assertConfigError(
            "arguments",
            () ->
                parse(
                    Map.of(),
                    "--kafka",
                    "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule",
                    "required",
                    "username=\"u\"",
                    "password=\"s3cret\";"),
            "unexpected argument",
            "quote a value");
    assertFalse(e.getMessage().contains("s3cret"), e.getMessage());
  }

  @Test
  void aKafkaArgumentWithoutEqualsIsNotEchoed() {
    ConfigException e =
        assertThrows(ConfigException.class, () -> parse(Map.of(), "--kafka", "s3cret-token"));
    assertFalse(e.getMessage().contains("s3cret"), e.getMessage());
  }

  @Test
  void kafkaPropertiesAreACopy() {
    Configuration config = parse(Map.of(), "--kafka", "acks=all");
    config.kafkaProperties().put("acks", "0");

    assertEquals("all", config.kafkaProperties().get("acks"));
  }

  // --- invalid values
  // ---------------------------------------------------------------------------------------------

  @Test
  void invalidEnvironmentValueNamesKeyAndVariable() {
    assertConfigError(
        "rate",
        () -> parse(Map.of("STREAMLEARN_RATE", "fast")),
        "invalid value 'fast' for key 'rate'",
        "from environment variable STREAMLEARN_RATE",
        "must be an integer");
  }

  @Test
  void invalidFlagValueNamesKeyAndFlag() {
    assertConfigError(
        "rate",
        () -> parse(Map.of(), "--rate", "0"),
        "invalid value '0' for key 'rate'",
        "(from flag --rate)",
        "must be between 1 and 10000");
  }

  @Test
  void invalidFileValueNamesKeyAndFile() throws IOException {
    Path file = file("ratio=1.5");

    assertConfigError(
        "ratio",
        () -> parse(Map.of(), "--config", file.toString()),
        "invalid value '1.5' for key 'ratio'",
        "(from file " + file + ")",
        "must be between 0.0 and 1.0");
  }

  @Test
  void invalidValueFromALowerSourceIsIgnoredWhenAHigherOneWins() throws IOException {
    Path file = file("rate=not-a-number");

    assertEquals(5, parse(Map.of("STREAMLEARN_RATE", "5"), "--config", file.toString()).get(RATE));
  }

  @Test
  void rejectsNotANumberDecimal() {
    assertConfigError("ratio", () -> parse(Map.of(), "--ratio", "NaN"), "must be between");
    assertConfigError("ratio", () -> parse(Map.of(), "--ratio", "half"), "must be a number");
  }

  @Test
  void rejectsUnknownChoiceListingTheAllowedOnes() {
    assertConfigError(
        "mode",
        () -> parse(Map.of("STREAMLEARN_MODE", "predict")),
        "invalid value 'predict'",
        "must be one of: train, events, dry_run");
  }

  @Test
  void rejectsValueOutsideOneOf() {
    assertConfigError(
        "compression",
        () -> parse(Map.of(), "--compression", "brotli"),
        "must be one of: none, lz4, zstd");
  }

  @Test
  void rejectsBlankText() {
    assertConfigError("topic", () -> parse(Map.of("STREAMLEARN_TOPIC", "  ")), "must not be empty");
  }

  @Test
  void rejectsSwitchValueOtherThanTrueOrFalse() {
    assertConfigError(
        "shuffle",
        () -> parse(Map.of("STREAMLEARN_SHUFFLE", "yes")),
        "from environment variable STREAMLEARN_SHUFFLE",
        "must be true or false");
  }

  @Test
  void rejectsUnknownKeyInFileNamingIt() throws IOException {
    Path file = file("rate=7", "colour=blue");

    assertConfigError(
        "colour",
        () -> parse(Map.of(), "--config", file.toString()),
        "unknown key 'colour' in file " + file,
        "rate",
        "kafka.<client property>");
  }

  @Test
  void rejectsMissingConfigFile() {
    Path missing = dir.resolve("nope.properties");

    assertConfigError(
        "config",
        () -> parse(Map.of(), "--config", missing.toString()),
        missing.toString(),
        "does not exist");
  }

  @Test
  void rejectsUnknownFlag() {
    ConfigException e =
        assertThrows(ConfigException.class, () -> parse(Map.of(), "--colour", "blue"));
    assertTrue(e.getMessage().contains("--colour"), e.getMessage());
    assertTrue(e.getMessage().endsWith("(see --help)"), e.getMessage());
  }

  @Test
  void rejectsFlagWithoutItsValueNamingTheFlag() {
    ConfigException e = assertThrows(ConfigException.class, () -> parse(Map.of(), "--rate"));
    assertEquals("rate", e.key());
    assertTrue(e.getMessage().contains("'--rate'"), e.getMessage());
    assertTrue(e.getMessage().endsWith("(see --help)"), e.getMessage());
  }

  @Test
  void requiredSettingWithoutValueIsReportedOnGet() {
    Configuration config = parse(Map.of());

    assertConfigError(
        "images",
        () -> config.get(IMAGES),
        "missing value for key 'images'",
        "--images",
        "STREAMLEARN_IMAGES");
  }

  @Test
  void settingNotDeclaredByTheServiceIsRefused() {
    Configuration config = parse(Map.of());
    Setting<Integer> other = Setting.integer("rate", "Same name, different setting.", 1, 1, 2);

    assertThrows(IllegalArgumentException.class, () -> config.find(other));
  }

  @Test
  void settingDeclaredTwiceIsRefused() {
    assertThrows(
        IllegalArgumentException.class,
        () -> Configuration.resolve(List.of(RATE, RATE), Map.of(), Map.of(), null, Map.of()));
  }

  // --- switches
  // ---------------------------------------------------------------------------------------------------

  @Test
  void switchFlagTurnsOn() {
    Setting<Boolean> verbose = Setting.onOff("verbose", "Talk more.", false);
    ServiceCommand cmd = new ServiceCommand("t", "t", List.of(verbose));

    assertEquals(
        true,
        cmd.parse(new String[] {"--verbose"}, Map.of(), new PrintWriter(out)).get().get(verbose));
    assertEquals(
        false, cmd.parse(new String[] {}, Map.of(), new PrintWriter(out)).get().get(verbose));
  }

  @Test
  void negatedSwitchFlagTurnsOff() {
    assertEquals(false, parse(Map.of(), "--no-shuffle").get(SHUFFLE));
    assertEquals(true, parse(Map.of(), "--shuffle").get(SHUFFLE));
  }

  @Test
  void switchFlagOverridesEnvironment() {
    assertEquals(true, parse(Map.of("STREAMLEARN_SHUFFLE", "false"), "--shuffle").get(SHUFFLE));
    assertEquals(false, parse(Map.of("STREAMLEARN_SHUFFLE", "TRUE"), "--no-shuffle").get(SHUFFLE));
    assertEquals(false, parse(Map.of("STREAMLEARN_SHUFFLE", "false")).get(SHUFFLE));
  }

  @Test
  void rejectsSwitchAndItsNegationTogether() {
    assertConfigError(
        "shuffle", () -> parse(Map.of(), "--shuffle", "--no-shuffle"), "contradict each other");
  }

  @Test
  void switchNamedNoLabelsHasOnlyTheNoLabelsFlag() {
    Setting<Boolean> noLabels = Setting.onOff("no-labels", "Leave labels out.", false);
    ServiceCommand cmd = new ServiceCommand("t", "t", List.of(noLabels));

    assertEquals(
        true,
        cmd.parse(new String[] {"--no-labels"}, Map.of(), new PrintWriter(out))
            .get()
            .get(noLabels));
    assertEquals(
        false, cmd.parse(new String[] {}, Map.of(), new PrintWriter(out)).get().get(noLabels));
    assertEquals(
        true,
        cmd.parse(new String[] {}, Map.of("STREAMLEARN_NO_LABELS", "true"), new PrintWriter(out))
            .get()
            .get(noLabels));
    assertThrows(
        ConfigException.class,
        () -> cmd.parse(new String[] {"--no-no-labels"}, Map.of(), new PrintWriter(out)));
    assertThrows(
        ConfigException.class,
        () -> cmd.parse(new String[] {"--labels"}, Map.of(), new PrintWriter(out)));
    String usage = cmd.usage();
    assertTrue(usage.contains("--no-labels"), usage);
    assertFalse(usage.contains("--no-no-labels"), usage);
  }

  // --- describe
  // ---------------------------------------------------------------------------------------------------

  @Test
  void describeMasksSecretKafkaProperties() throws IOException {
    Path file = file("kafka.ssl.keystore.password=keystore-pw");
    Configuration config =
        parse(
            Map.of("STREAMLEARN_KAFKA_SSL_KEY_PASSWORD", "key-pw"),
            "--config",
            file.toString(),
            "--kafka",
            "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required"
                + " username=\"u\" password=\"jaas-pw\";",
            "--kafka",
            "security.protocol=SASL_SSL",
            "--kafka",
            "sasl.oauthbearer.client.credentials.client.secret=oauth-secret",
            "--kafka",
            "ssl.keystore.key=pem-key");

    String d = config.describe();

    assertTrue(d.contains("kafka.sasl.jaas.config=**** (flag --kafka sasl.jaas.config)"), d);
    assertTrue(d.contains("kafka.ssl.keystore.password=**** (file " + file + ")"), d);
    assertTrue(
        d.contains(
            "kafka.ssl.key.password=**** (environment variable STREAMLEARN_KAFKA_SSL_KEY_PASSWORD)"),
        d);
    assertTrue(d.contains("kafka.sasl.oauthbearer.client.credentials.client.secret=****"), d);
    assertTrue(d.contains("kafka.ssl.keystore.key=****"), d);
    assertTrue(d.contains("kafka.security.protocol=SASL_SSL (flag --kafka security.protocol)"), d);
    for (String secret :
        List.of(
            "jaas-pw", "keystore-pw", "key-pw", "oauth-secret", "pem-key", "PlainLoginModule")) {
      assertFalse(d.contains(secret), "describe() leaks " + secret + ": " + d);
    }
    // the real values still reach the Kafka client
    assertEquals("keystore-pw", config.kafkaProperties().get("ssl.keystore.password"));
  }

  @Test
  void describeMasksAPrivateKeyPassphrase() {
    Configuration config =
        parse(Map.of(), "--kafka", "sasl.oauthbearer.assertion.private.key.passphrase=pp-42");
    assertFalse(config.describe().contains("pp-42"), config.describe());
  }

  @Test
  void aSecretOnTheCommandLineIsWarnedAboutNamingTheSaferPlaces() {
    Configuration config = parse(Map.of(), "--kafka", "sasl.jaas.config=x", "--kafka", "acks=all");
    List<String> warnings = config.secretWarnings();
    assertEquals(1, warnings.size(), warnings.toString());
    assertTrue(
        warnings.get(0).contains("kafka.sasl.jaas.config")
            && warnings.get(0).contains("/proc")
            && warnings.get(0).contains("STREAMLEARN_KAFKA_SASL_JAAS_CONFIG"),
        warnings.get(0));
    assertFalse(warnings.get(0).contains("=x"), "the warning never holds the value");
  }

  @Test
  void aConfigFileWithSecretsReadableByOthersIsWarnedAboutAndAPrivateOneIsNot() throws IOException {
    Path file = file("kafka.ssl.keystore.password=pw");
    Files.setPosixFilePermissions(
        file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
    List<String> warnings = parse(Map.of(), "--config", file.toString()).secretWarnings();
    assertEquals(1, warnings.size(), warnings.toString());
    assertTrue(warnings.get(0).contains("chmod 600"), warnings.get(0));

    Files.setPosixFilePermissions(
        file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    assertEquals(List.of(), parse(Map.of(), "--config", file.toString()).secretWarnings());
  }

  @Test
  void describeMasksSecretSettings() {
    Configuration config = parse(Map.of("STREAMLEARN_PASSWORD", "hunter2"));

    String d = config.describe();
    assertTrue(d.contains("password=**** (environment variable STREAMLEARN_PASSWORD)"), d);
    assertFalse(d.contains("hunter2"), d);
    assertEquals("hunter2", config.get(PASSWORD));
  }

  @Test
  void describeListsEverySetValueOnce() {
    String d = parse(Map.of()).describe();

    assertEquals(
        "rate=100 (default), topic=mnist.train (default), bootstrap-servers=localhost:9092 (default),"
            + " ratio=0.5 (default), mode=train (default), shuffle=true (default), compression=lz4 (default)",
        d);
  }

  // --- help
  // -------------------------------------------------------------------------------------------------------

  @Test
  void helpPrintsUsageAndYieldsNoConfiguration() {
    Optional<Configuration> config =
        command().parse(new String[] {"--help"}, Map.of(), new PrintWriter(out));

    assertEquals(Optional.empty(), config);
    String usage = out.toString();
    assertTrue(usage.contains("streamlearn test"), usage);
    assertTrue(usage.contains("A test service."), usage);
    assertTrue(usage.contains("--rate=<rate>"), usage);
    assertTrue(usage.contains("env STREAMLEARN_RATE, default 100"), usage);
    assertTrue(usage.contains("--no-shuffle"), usage);
    assertTrue(usage.contains("--config"), usage);
    assertTrue(usage.contains("--kafka"), usage);
    assertEquals(command().usage(), usage);
  }

  @Test
  void shortHelpFlagWorksAndSkipsValidation() {
    // -h wins even when the environment holds a bad value: nothing is resolved
    Optional<Configuration> config =
        command()
            .parse(new String[] {"-h"}, Map.of("STREAMLEARN_RATE", "fast"), new PrintWriter(out));

    assertEquals(Optional.empty(), config);
    assertFalse(out.toString().isEmpty());
  }
}
