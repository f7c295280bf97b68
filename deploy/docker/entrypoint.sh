#!/usr/bin/env bash
# The images' entrypoint: entrypoint.sh MAIN_CLASS [options...]. Runs MAIN_CLASS with the JVM settings of the
# ./streamlearn launcher plus a container's; the options go to the main class. Service configuration comes from
# STREAMLEARN_* variables (see README, Configuration). exec: the JVM replaces this shell and gets docker's and
# Kubernetes' SIGTERM itself.
#
# Variables read here (every one optional):
#   JAVA_OPTS            more JVM options, appended last, so they override the ones below (e.g. -Xmx1g)
#   MAX_RAM_PERCENTAGE   heap as a share of the container's memory limit, -XX:MaxRAMPercentage (default 40)
#   JAVACPP_MAX_BYTES    JavaCPP's cap on ND4J's off-heap memory, -Dorg.bytedeco.javacpp.maxbytes (default 512m;
#                        k/m/g suffixes). JavaCPP's physical-memory cap stays its default, maxbytes + 3 x max heap.
#   JAVACPP_CACHE_DIR    the unpacked native libraries (default /opt/streamlearn/javacpp, prepared at build time)
#   STREAMLEARN_LIB_DIR  the jars (default /opt/streamlearn/lib)
#   STREAMLEARN_DATA_DIR the data folder, -Dstreamlearn.data.dir (default /opt/streamlearn/data)
#   OMP_NUM_THREADS, OMP_WAIT_POLICY   ND4J's OpenMP threads (default 1, PASSIVE: see shared/FACTS.md, ND4J)
# Memory of a container: heap (MAX_RAM_PERCENTAGE of the limit) + ND4J off-heap (JAVACPP_MAX_BYTES) + the rest
# (RocksDB in the learner, metaspace, thread stacks, the native libraries, OpenBLAS buffers).
set -euo pipefail

main="${1:?usage: entrypoint.sh MAIN_CLASS [options...]}"
shift

# The launcher's ND4J threading defaults.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

lib="${STREAMLEARN_LIB_DIR:-/opt/streamlearn/lib}"
cache="${JAVACPP_CACHE_DIR:-/opt/streamlearn/javacpp}"
if [[ ! -d "$lib" ]]; then
  echo "entrypoint.sh: no library directory $lib (STREAMLEARN_LIB_DIR)" >&2
  exit 1
fi
if [[ -d "$cache" && ! -w "$cache" ]]; then
  # JavaCPP 1.5.7 uses a cache directory only if it may write to it; otherwise it unpacks every native library
  # again into ~/.javacpp/cache or <java.io.tmpdir>/.javacpp-<user>/cache. It still works, just slower.
  echo "entrypoint.sh: warning: native cache $cache is not writable by uid $(id -u): JavaCPP will ignore it and" \
    "unpack ND4J's libraries (~400 MiB) elsewhere at start (see deploy/docker/prepare-native-cache.sh)" >&2
fi

# JAVA_OPTS split on whitespace, without glob expansion.
read -r -a java_opts <<< "${JAVA_OPTS:-}"

exec "${JAVA_HOME:+$JAVA_HOME/bin/}java" \
  -XX:G1HeapRegionSize=8m \
  -XX:MaxRAMPercentage="${MAX_RAM_PERCENTAGE:-40}" \
  -XX:+ExitOnOutOfMemoryError \
  -Dorg.bytedeco.javacpp.cachedir="$cache" \
  -Dorg.bytedeco.javacpp.maxbytes="${JAVACPP_MAX_BYTES:-512m}" \
  -Dstreamlearn.data.dir="${STREAMLEARN_DATA_DIR:-/opt/streamlearn/data}" \
  ${java_opts[@]+"${java_opts[@]}"} \
  -cp "$lib/*" "$main" "$@"
