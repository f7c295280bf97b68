#!/usr/bin/env bash
# prepare-native-cache.sh LIB_DIR CACHE_DIR [SERVICE_GID]
#
# Unpacks ND4J's native libraries (JavaCPP) into CACHE_DIR by loading them once (io.streamlearn.model.NativeLibraries
# runs one matrix product, the path training takes), then makes everything in the cache readable by all and writable
# by its owner only. The images run this at build time as root, so a service started as a non-root user unpacks
# nothing (~400 MiB) at start.
#
# SERVICE_GID: the group the services run with (the images pass 10001). JavaCPP 1.5.7 uses a cache directory only if
# the process can write to the directory itself (Loader.getCacheDir checks canRead, canWrite and canExecute); on a
# directory it cannot write it silently falls back to ~/.javacpp/cache, then to <java.io.tmpdir>/.javacpp-<user>/cache,
# and unpacks everything there at every start. So the cache directory itself goes to root:SERVICE_GID with mode
# 1775: the service may write it (and, as the libraries are already unpacked, writes nothing), the sticky bit stops it
# from renaming or deleting root's entries, and every file and directory inside stays root's and read-only for it.
# Without SERVICE_GID the whole cache is read-only for everyone but its owner, which JavaCPP 1.5.7 ignores.
set -euo pipefail

usage="usage: prepare-native-cache.sh LIB_DIR CACHE_DIR [SERVICE_GID]"
lib="${1:?$usage}"
cache="${2:?$usage}"
service_gid="${3:-}"

if [[ ! -d "$lib" ]]; then
  echo "prepare-native-cache.sh: no library directory $lib" >&2
  exit 1
fi
mkdir -p "$cache"

# One OpenMP thread, as every service runs (the launcher's setting).
OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE "${JAVA_HOME:+$JAVA_HOME/bin/}java" \
  -XX:G1HeapRegionSize=8m \
  -Dorg.bytedeco.javacpp.cachedir="$cache" \
  -cp "$lib/*" io.streamlearn.model.NativeLibraries

if [[ -z "$(find "$cache" -name 'libnd4jcpu*' -print -quit)" ]]; then
  echo "prepare-native-cache.sh: no libnd4jcpu was unpacked into $cache (did JavaCPP use another cache directory?)" >&2
  exit 1
fi
rm -f "$cache/.lock" # JavaCPP's extraction lock; it recreates it if it ever needs one

# Directories a+rx, files a+r, nothing writable by group or others (symbolic links are left as they are).
chmod -R a+rX,go-w "$cache"
if [[ -n "$service_gid" ]]; then
  chgrp "$service_gid" "$cache"
  chmod 1775 "$cache"
fi
echo "prepare-native-cache.sh: $(find "$cache" -type f | wc -l) files, $(du -sh "$cache" | cut -f1) in $cache"
