package io.streamlearn.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * CPU time per live thread of this JVM, to say where a measured interval's CPU went (JFR's samples
 * cover only a few threads per period, so shares cannot be read off their counts). Threads of the
 * same name are summed.
 */
final class ThreadCpu {
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  private ThreadCpu() {}

  /**
   * CPU nanoseconds so far by thread name (digits and ids folded so the same role in two learners
   * differs).
   */
  static Map<String, Long> snapshot() {
    Map<String, Long> cpu = new HashMap<>();
    for (ThreadInfo info : THREADS.getThreadInfo(THREADS.getAllThreadIds())) {
      if (info == null) {
        continue;
      }
      long nanos = THREADS.getThreadCpuTime(info.getThreadId());
      if (nanos > 0) {
        cpu.merge(info.getThreadName(), nanos, Long::sum);
      }
    }
    return cpu;
  }

  /**
   * The {@code top} threads by CPU between two snapshots, each as a share of the wall time between
   * them.
   */
  static String busiest(
      Map<String, Long> before, Map<String, Long> after, long wallNanos, int top) {
    Map<String, Long> used = new HashMap<>();
    after.forEach((name, nanos) -> used.put(name, nanos - before.getOrDefault(name, 0L)));
    long total = used.values().stream().mapToLong(Long::longValue).sum();
    return String.format("all threads %.2f cores; ", (double) total / wallNanos)
        + used.entrySet().stream()
            .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
            .limit(top)
            .map(
                e ->
                    String.format(
                        "%s %.2f", shorten(e.getKey()), (double) e.getValue() / wallNanos))
            .collect(Collectors.joining(", "));
  }

  private static String shorten(String name) {
    return name.replaceAll("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "*");
  }
}
