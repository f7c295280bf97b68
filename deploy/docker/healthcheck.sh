#!/usr/bin/env bash
# healthcheck.sh PORT PATH: exit 0 when GET http://127.0.0.1:PORT/PATH answers 200, else 1. The images'
# HEALTHCHECK; the JRE image has no curl or wget, so it speaks HTTP/1.0 over bash's /dev/tcp, within 3 seconds.
set -uo pipefail
port="${1:?usage: healthcheck.sh PORT PATH}"
path="${2:?usage: healthcheck.sh PORT PATH}"
status=$(timeout 3 bash -c '
  exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
  printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" "$1" >&3
  IFS=" " read -r _ code _ <&3
  echo "$code"
' "$port" "$path" 2>/dev/null)
[[ "$status" == "200" ]] && exit 0
exit 1
