#!/usr/bin/env bash
# prepare-native-cache.sh LIB_DIR CACHE_DIR: unpacks ND4J's native libraries (JavaCPP) into CACHE_DIR by loading
# them once (io.streamlearn.model.NativeLibraries), then leaves the cache readable by all and writable by its owner
# only. The images run it at build time as root, so services start as a non-root user without unpacking ~400 MiB.
set -euo pipefail
lib="${1:?usage: prepare-native-cache.sh LIB_DIR CACHE_DIR}"
cache="${2:?usage: prepare-native-cache.sh LIB_DIR CACHE_DIR}"
mkdir -p "$cache"
OMP_NUM_THREADS=1 "${JAVA_HOME:+$JAVA_HOME/bin/}java" -Dorg.bytedeco.javacpp.cachedir="$cache" \
  -cp "$lib/*" io.streamlearn.model.NativeLibraries
chmod -R go-w,a+rX "$cache"
