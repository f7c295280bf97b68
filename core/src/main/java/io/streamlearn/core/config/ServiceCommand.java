package io.streamlearn.core.config;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine;
import picocli.CommandLine.MissingParameterException;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * The command line of a service, generated from its {@link Setting}s: one {@code --name} option per
 * setting (a {@code --name}/{@code --no-name} pair for switches, a lone {@code --no-x} for a switch
 * named {@code no-x}), plus {@code --config FILE}, {@code --kafka KEY=VALUE} and {@code --help}.
 * Parsing yields a {@link Configuration}; help is printed and yields nothing.
 */
public final class ServiceCommand {
  private final CommandSpec spec;
  private final List<Setting<?>> settings;

  public ServiceCommand(String name, String description, List<Setting<?>> settings) {
    this.settings = List.copyOf(settings);
    this.spec = CommandSpec.create().name(name);
    spec.usageMessage().description(description).sortOptions(false).width(110);
    for (Setting<?> s : settings) {
      String help =
          s.description()
              + " (env "
              + s.environmentVariable()
              + (s.defaultValue() == null ? "" : ", default " + s.defaultValue())
              + ")";
      if (s.isSwitch()) {
        spec.addOption(
            OptionSpec.builder(s.flag()).arity("0").type(boolean.class).description(help).build());
        if (!s.name().startsWith("no-")) {
          spec.addOption(
              OptionSpec.builder(negated(s))
                  .arity("0")
                  .type(boolean.class)
                  .description("Turn " + s.flag() + " off.")
                  .build());
        }
      } else {
        spec.addOption(
            OptionSpec.builder(s.flag())
                .paramLabel("<" + s.name() + ">")
                .type(String.class)
                .description(help)
                .build());
      }
    }
    spec.addOption(
        OptionSpec.builder("--config")
            .paramLabel("<file>")
            .type(String.class)
            .description(
                "A properties file of settings (keys as the flags without --; kafka.<property> for Kafka"
                    + " client properties). Env STREAMLEARN_CONFIG.")
            .build());
    spec.addOption(
        OptionSpec.builder("--kafka")
            .paramLabel("<key=value>")
            .type(String[].class)
            .description(
                "A Kafka client property passed through untouched (repeatable), e.g. --kafka"
                    + " security.protocol=SSL. Env STREAMLEARN_KAFKA_<KEY>.")
            .build());
    spec.addOption(
        OptionSpec.builder("-h", "--help")
            .usageHelp(true)
            .description("Show this help and exit.")
            .build());
  }

  private static String negated(Setting<?> s) {
    return "--no-" + s.name();
  }

  public List<Setting<?>> settings() {
    return settings;
  }

  /**
   * For a service's {@code main}: parses the process's arguments and environment and resolves them
   * with {@code resolve}, logging the configuration once (secrets masked). After --help the process
   * exits 0; on a bad configuration it prints {@code <tag>: <message naming the key>} to stderr and
   * exits 2.
   */
  public <C> C resolveOrExit(
      String[] args, String tag, java.util.function.Function<Configuration, C> resolve) {
    try {
      Optional<Configuration> parsed =
          parse(args, System.getenv(), new PrintWriter(System.out, true));
      if (parsed.isEmpty()) {
        System.exit(0);
      }
      C config = resolve.apply(parsed.get());
      org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ServiceCommand.class);
      log.info("{} config: {}", tag, parsed.get().describe());
      parsed.get().secretWarnings().forEach(w -> log.warn("{}: {}", tag, w));
      return config;
    } catch (ConfigException e) {
      System.err.println(tag + ": " + e.getMessage());
      System.exit(2);
      throw e; // not reached
    }
  }

  /**
   * For a service's {@code main}, when it failed: prints {@code <tag>: <message>} to {@code err}
   * and returns the exit code, 2 for a bad configuration (a setting of ours, or a Kafka client
   * property that Kafka refuses, whose message names the property and hides password values), 1 for
   * anything else (logged with its cause).
   */
  public static int reportFailure(String tag, RuntimeException e, java.io.PrintStream err) {
    if (e instanceof ConfigException
        || e instanceof org.apache.kafka.common.config.ConfigException) {
      err.println(
          tag
              + ": "
              + (e instanceof ConfigException ? "" : "invalid Kafka property: ")
              + e.getMessage());
      return 2;
    }
    org.slf4j.LoggerFactory.getLogger(ServiceCommand.class).error("{} failed", tag, e);
    err.println(tag + ": " + e.getMessage());
    return 1;
  }

  /** The usage text. */
  public String usage() {
    return new CommandLine(spec).getUsageMessage();
  }

  /**
   * The setting a parse error is about: its option, or the option missing its value; else
   * "arguments".
   */
  private static String keyOf(ParameterException e) {
    ArgSpec arg = e.getArgSpec();
    if (arg == null
        && e instanceof MissingParameterException missing
        && !missing.getMissing().isEmpty()) {
      arg = missing.getMissing().get(0);
    }
    return arg instanceof OptionSpec o ? o.longestName().replaceFirst("^--", "") : "arguments";
  }

  /**
   * Parses the arguments and resolves the configuration; prints usage to {@code out} and returns
   * empty on --help.
   *
   * @throws ConfigException on an unknown option or a bad value, naming the key
   */
  public Optional<Configuration> parse(String[] args, Map<String, String> env, PrintWriter out) {
    CommandLine cli = new CommandLine(spec);
    ParseResult result;
    try {
      result = cli.parseArgs(args);
    } catch (UnmatchedArgumentException e) {
      // picocli's message quotes every argument, and a value with spaces left unquoted
      // (sasl.jaas.config) is a
      // secret: name the unknown options, count the rest.
      List<String> options =
          e.getUnmatched().stream()
              .filter(a -> a.startsWith("-"))
              .map(a -> a.contains("=") ? a.substring(0, a.indexOf('=')) : a)
              .toList();
      long others = e.getUnmatched().size() - options.size();
      throw new ConfigException(
          "arguments",
          (options.isEmpty()
                  ? ""
                  : "unknown option " + String.join(", ", options) + (others > 0 ? "; " : ""))
              + (others > 0
                  ? others
                      + " unexpected argument(s) not shown (they may hold a secret): quote a value that"
                      + " contains spaces"
                  : "")
              + " (see --help)");
    } catch (ParameterException e) {
      throw new ConfigException(keyOf(e), e.getMessage() + " (see --help)");
    }
    if (cli.isUsageHelpRequested()) {
      cli.usage(out);
      out.flush();
      return Optional.empty();
    }
    Map<String, String> flags = new LinkedHashMap<>();
    for (Setting<?> s : settings) {
      if (s.isSwitch()) {
        boolean negatable = !s.name().startsWith("no-");
        if (negatable && result.hasMatchedOption(s.flag()) && result.hasMatchedOption(negated(s))) {
          throw new ConfigException(
              s.name(), s.flag() + " and " + negated(s) + " contradict each other");
        }
        if (result.hasMatchedOption(s.flag())) {
          flags.put(s.name(), "true");
        } else if (negatable && result.hasMatchedOption(negated(s))) {
          flags.put(s.name(), "false");
        }
      } else if (result.hasMatchedOption(s.flag())) {
        flags.put(s.name(), result.matchedOption(s.flag()).getValue());
      }
    }
    Map<String, String> kafka = new LinkedHashMap<>();
    if (result.hasMatchedOption("--kafka")) {
      for (String kv : (String[]) result.matchedOption("--kafka").getValue()) {
        int eq = kv.indexOf('=');
        if (eq <= 0) {
          throw new ConfigException(
              "kafka",
              "invalid --kafka argument of "
                  + kv.length()
                  + " characters (not shown: it may hold a secret): expected key=value");
        }
        kafka.put(kv.substring(0, eq), kv.substring(eq + 1));
      }
    }
    String configFile =
        result.hasMatchedOption("--config")
            ? result.matchedOption("--config").getValue()
            : env.get("STREAMLEARN_CONFIG");
    return Optional.of(
        Configuration.resolve(
            settings, flags, kafka, configFile == null ? null : Path.of(configFile), env));
  }
}
