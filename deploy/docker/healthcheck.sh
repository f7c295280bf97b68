#!/usr/bin/env bash
# healthcheck.sh PORT PATH: exit 0 when GET http://127.0.0.1:PORT/PATH answers HTTP status 200, else 1 (also on a
# refused connection, a timeout or bad arguments: Docker reads any exit code but 0 as unhealthy and reserves 2).
# The images' HEALTHCHECK: the JRE image has neither curl nor wget, so this speaks HTTP/1.0 over bash's /dev/tcp,
# everything within 3 seconds.
set -uo pipefail

port="${1:-}"
path="${2:-}"
if [[ ! "$port" =~ ^[0-9]+$ || -z "$path" ]]; then
  echo "usage: healthcheck.sh PORT PATH" >&2
  exit 1
fi
[[ "$path" == /* ]] || path="/$path"

# The status line only, e.g. "HTTP/1.1 200 OK"; the server closes the connection after an HTTP/1.0 response.
line=$(timeout 3 bash -c '
  exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
  printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%s\r\nUser-Agent: streamlearn-healthcheck\r\nConnection: close\r\n\r\n" \
    "$2" "$1" >&3 || exit 1
  IFS= read -r status <&3 || [[ -n "$status" ]] || exit 1
  printf "%s" "$status"
' healthcheck "$port" "$path" 2>/dev/null) || exit 1

line="${line%$'\r'}"
read -r protocol code _ <<< "$line"
if [[ "$protocol" == HTTP/* && "$code" == "200" ]]; then
  exit 0
fi
exit 1
