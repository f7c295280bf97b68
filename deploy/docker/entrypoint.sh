#!/usr/bin/env bash
# The images' entrypoint: entrypoint.sh MAIN_CLASS [options...]. The JVM settings of the ./streamlearn launcher,
# plus a container's: heap as a share of the container's memory, ND4J's off-heap cap, the read-only native cache.
# JAVA_OPTS is appended last, so it overrides any of these. Configuration comes from STREAMLEARN_* variables.
set -euo pipefail

main="${1:?usage: entrypoint.sh MAIN_CLASS [options...]}"
shift

export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
lib="${STREAMLEARN_LIB_DIR:-/opt/streamlearn/lib}"
cache="${JAVACPP_CACHE_DIR:-/opt/streamlearn/javacpp}"

# Memory budget of a container: heap MaxRAMPercentage (default 40%) + ND4J off-heap (JavaCPP maxbytes, default
# 512m; maxphysicalbytes bounds heap plus off-heap) + RocksDB and the JVM's own (the rest).
# shellcheck disable=SC2086
exec "${JAVA_HOME:+$JAVA_HOME/bin/}java" \
  -XX:G1HeapRegionSize=8m \
  -XX:MaxRAMPercentage="${MAX_RAM_PERCENTAGE:-40}" \
  -XX:+ExitOnOutOfMemoryError \
  -Dorg.bytedeco.javacpp.cachedir="$cache" \
  -Dorg.bytedeco.javacpp.maxbytes="${JAVACPP_MAX_BYTES:-512m}" \
  -Dstreamlearn.data.dir="${STREAMLEARN_DATA_DIR:-/opt/streamlearn/data}" \
  ${JAVA_OPTS:-} \
  -cp "$lib/*" "$main" "$@"
