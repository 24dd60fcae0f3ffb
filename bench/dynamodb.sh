#!/usr/bin/env bash
# DynamoDB API benchmark: PutItem, GetItem and Query (10 items per partition) with 50
# concurrent keep-alive clients (bench/dynamodb_bench.rs), against
#   1. redyn's DynamoDB HTTP API (--dynamodb-port),
#   2. the same operations as DDB.* commands over RESP, on the same server,
#   3. moto_server (PyPI moto[server]), the usual local DynamoDB mock, if installed.
# Requests/s and latency percentiles per operation. Not run in CI.
#
# Usage: bench/dynamodb.sh [requests per phase] [clients]   (default 20000 50)
set -euo pipefail
cd "$(dirname "$0")/.."
REQUESTS=${1:-20000}
CLIENTS=${2:-50}
RESP_PORT=${RESP_PORT:-7930}
HTTP_PORT=${HTTP_PORT:-7931}
MOTO_PORT=${MOTO_PORT:-7932}
cargo build --release -q --bin redyn --example dynamodb_bench
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
wait_port() { for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; }
bench() { target/release/examples/dynamodb_bench "$1" "127.0.0.1:$2" "$CLIENTS" "$REQUESTS"; }

# A fresh redyn per front end, so each starts from an empty table.
start_redyn() {
  target/release/redyn --port "$RESP_PORT" --dynamodb-port "$HTTP_PORT" --dir "$TMP/$1" \
    --appendfsync everysec --metrics-addr off >"$TMP/$1.log" 2>&1 &
  PIDS+=($!)
  wait_port "$RESP_PORT"; wait_port "$HTTP_PORT"
}
stop_last() { kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true; unset 'PIDS[-1]'; }

echo "DynamoDB API: $REQUESTS requests per operation, $CLIENTS keep-alive clients"
echo "== redyn, DynamoDB HTTP API"
start_redyn http; bench http "$HTTP_PORT"; stop_last
echo "== redyn, DDB.* over RESP"
start_redyn resp; bench resp "$RESP_PORT"; stop_last
if command -v moto_server >/dev/null; then
  echo "== moto_server"
  moto_server -p "$MOTO_PORT" >"$TMP/moto.log" 2>&1 &
  PIDS+=($!)
  wait_port "$MOTO_PORT"
  bench http "$MOTO_PORT"
else
  echo "== moto_server: not installed (pip install 'moto[server]')"
fi
