#!/usr/bin/env bash
# DynamoDB interop: boto3, the dynamodbstreams client and the AWS CLI against
# target/release/redyn's DynamoDB port, with the data read back over RESP (redis-py).
# Starts two servers on free ports in a temporary directory: one open (any signature is
# accepted, as DynamoDB Local does) and one with `requirepass secret` (SigV4 verified).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN="$ROOT/target/release/redyn"
[ -x "$BIN" ] || (cd "$ROOT" && cargo build --release -q)
python3 -c 'import boto3, redis' 2>/dev/null || pip install -q boto3 redis 2>/dev/null \
  || pip install -q --break-system-packages boto3 redis
command -v aws >/dev/null || pip install -q awscli 2>/dev/null || pip install -q --break-system-packages awscli

TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start <name> <extra args...>: sets RESP and DDB to its ports once it listens (no
# subshell, so the cleanup knows every pid).
start() {
  local name=$1; shift
  RESP=$(free_port); DDB=$(free_port)
  local resp=$RESP ddb=$DDB
  "$BIN" --port "$resp" --bind 127.0.0.1 --dynamodb-port "$ddb" --dir "$TMP/$name" \
    --metrics-addr off "$@" >"$TMP/$name.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 200); do
    grep -q "ready to accept connections" "$TMP/$name.log" 2>/dev/null && break
    sleep 0.05
  done
}

start secure --requirepass secret
SECURE=$DDB
start open
python3 "$HERE/test_boto3.py" "$DDB" "$RESP" "$SECURE" || { tail -n 20 "$TMP"/*.log; exit 1; }
