package io.streamlearn.deploy;

import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The little PromQL handling the deploy tests need: the metric names an expression reads, and the
 * same expression with every comparison made a {@code bool} comparison (so an alert that is not
 * firing still returns its 0/1 series, which shows that every metric and every join in it has
 * data).
 */
final class PromQl {
  private static final Set<String> KEYWORDS =
      Set.of(
          "by",
          "without",
          "on",
          "ignoring",
          "group_left",
          "group_right",
          "bool",
          "and",
          "or",
          "unless",
          "offset",
          "inf",
          "nan",
          "atan2");
  private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_:][A-Za-z0-9_:]*");
  private static final Pattern GROUPING =
      Pattern.compile("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)");

  private PromQl() {}

  /** Metric names (and recording-rule names) the expression selects. */
  static Set<String> metricNames(String expr) {
    String bare = GROUPING.matcher(strip(expr)).replaceAll(" ");
    Set<String> names = new LinkedHashSet<>();
    Matcher m = IDENTIFIER.matcher(bare);
    while (m.find()) {
      String name = m.group();
      int after = m.end();
      while (after < bare.length() && bare.charAt(after) == ' ') {
        after++;
      }
      boolean function = after < bare.length() && bare.charAt(after) == '(';
      boolean variable = m.start() > 0 && bare.charAt(m.start() - 1) == '$';
      if (!function && !variable && !KEYWORDS.contains(name.toLowerCase())) {
        names.add(name);
      }
    }
    return names;
  }

  /**
   * The expression with {@code bool} after every comparison operator outside selectors and strings.
   */
  static String withBoolComparisons(String expr) {
    StringBuilder out = new StringBuilder();
    int depth = 0; // inside {...} or [...]
    char quote = 0;
    for (int i = 0; i < expr.length(); i++) {
      char c = expr.charAt(i);
      out.append(c);
      if (quote != 0) {
        if (c == '\\' && i + 1 < expr.length()) {
          out.append(expr.charAt(++i));
        } else if (c == quote) {
          quote = 0;
        }
        continue;
      }
      if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '{' || c == '[') {
        depth++;
      } else if (c == '}' || c == ']') {
        depth--;
      } else if (depth == 0 && (c == '>' || c == '<' || c == '=' || c == '!')) {
        char next = i + 1 < expr.length() ? expr.charAt(i + 1) : ' ';
        boolean twoChar = next == '=';
        if (c == '!' && !twoChar || c == '=' && !twoChar) {
          continue; // not a comparison ('=' alone is not PromQL outside selectors; '!' alone
          // neither)
        }
        if (twoChar) {
          out.append(next);
          i++;
        }
        out.append(" bool");
      }
    }
    return out.toString();
  }

  /** The expression without strings, selectors' label matchers and range/offset brackets. */
  private static String strip(String expr) {
    StringBuilder out = new StringBuilder();
    int depth = 0;
    char quote = 0;
    for (int i = 0; i < expr.length(); i++) {
      char c = expr.charAt(i);
      if (quote != 0) {
        if (c == '\\') {
          i++;
        } else if (c == quote) {
          quote = 0;
        }
        continue;
      }
      if (c == '"' || c == '\'') {
        quote = c;
        out.append(' ');
      } else if (c == '{' || c == '[') {
        depth++;
        out.append(' ');
      } else if (c == '}' || c == ']') {
        depth--;
      } else if (depth == 0) {
        out.append(c == '\n' ? ' ' : c);
      }
    }
    return out.toString();
  }
}
