#!/usr/bin/env bash
# The cost of TLS: redis-benchmark GET and SET at pipeline 1 and 16 over plaintext and over
# TLS (rustls in redyn, OpenSSL in redis-server; TLS 1.3, no client certificates), against
# redyn and redis-server (AOF everysec) side by side; 50 clients. Prints a markdown table.
# Needs redis-benchmark and redis-server built with TLS (Debian's are) and openssl.
# Not run in CI.
#
# Usage: bench/tls.sh [requests]      (default 200000)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200000}
[ -n "${REDYN_BIN:-}" ] || cargo build --release -q -p redyn-server
REDYN_PORT=${REDYN_PORT:-7490}
REDIS_PORT=${REDIS_PORT:-7491}
REDYN_TLS_PORT=${REDYN_TLS_PORT:-7492}
REDIS_TLS_PORT=${REDIS_TLS_PORT:-7493}
TMP=$(mktemp -d)
source bench/lib.sh

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/server.key" -out "$TMP/server.crt" \
  -days 2 -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
TLS=(--tls-cert-file "$TMP/server.crt" --tls-key-file "$TMP/server.key" --tls-auth-clients no)

trap stop_all EXIT
start_redyn --tls-port "$REDYN_TLS_PORT" "${TLS[@]}"
# lib.sh's start_redis, with the TLS listener added.
mkdir -p "$TMP/redis"
redis-server --port "$REDIS_PORT" --tls-port "$REDIS_TLS_PORT" "${TLS[@]}" --dir "$TMP/redis" \
  --appendonly yes --appendfsync everysec --save '' --daemonize yes --logfile "$TMP/redis.log"
wait_ping "$REDYN_PORT"
wait_ping "$REDIS_PORT"

rps() {
  local port=$1 pipe=$2 test=$3; shift 3
  redis-benchmark -p "$port" -c 50 -n "$N" -P "$pipe" -r 100000 -t "$test" --csv "$@" 2>/dev/null |
    awk -F'"' 'NR > 1 {print $4; exit}'
}

echo "| test | pipeline | redyn plain | redyn TLS | redis plain | redis TLS |"
echo "|---|---|---|---|---|---|"
for test in set get; do
  for pipe in 1 16; do
    a=$(rps "$REDYN_PORT" "$pipe" "$test")
    b=$(rps "$REDYN_TLS_PORT" "$pipe" "$test" --tls --cacert "$TMP/server.crt")
    c=$(rps "$REDIS_PORT" "$pipe" "$test")
    d=$(rps "$REDIS_TLS_PORT" "$pipe" "$test" --tls --cacert "$TMP/server.crt")
    echo "| $test | $pipe | $a | $b | $c | $d |"
  done
done
