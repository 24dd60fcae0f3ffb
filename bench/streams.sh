#!/usr/bin/env bash
# Change-stream benchmark: DDB.PUTITEM throughput at 50 clients on a table without and with
# a stream (NEW_AND_OLD_IMAGES), and the records/s delivered to 10 pub/sub subscribers of
# __stream__:<table> during the second run. Not run in CI.
#
# Usage: bench/streams.sh [requests]      (default 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
cargo build --release -q
PORT=${PORT:-7495}
TMP=$(mktemp -d)
target/release/redyn --port "$PORT" --dir "$TMP/data" --metrics-addr off >"$TMP/log" 2>&1 &
PID=$!
SUBS=()
trap 'kill "${SUBS[@]}" $PID 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
for table in Plain Streamed; do
  spec=""
  [ $table == Streamed ] && spec=',"StreamSpecification":{"StreamEnabled":true,"StreamViewType":"NEW_AND_OLD_IMAGES"}'
  redis-cli -p "$PORT" DDB.CREATETABLE "{\"TableName\":\"$table\",\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"}],\"AttributeDefinitions\":[{\"AttributeName\":\"pk\",\"AttributeType\":\"S\"}]$spec}" >/dev/null
done
put() {
  redis-benchmark -p "$PORT" -c 50 -n "$N" -r 1000000 --csv DDB.PUTITEM \
    "{\"TableName\":\"$1\",\"Item\":{\"pk\":{\"S\":\"k__rand_int__\"},\"v\":{\"N\":\"__rand_int__\"}}}" |
    awk -F, 'NR > 1 {gsub(/"/, "", $(NF-6)); print $(NF-6); exit}'
}
plain=$(put Plain)
alone=$(put Streamed)
for i in $(seq 10); do
  redis-cli -p "$PORT" subscribe __stream__:Streamed >"$TMP/sub$i" 2>/dev/null &
  SUBS+=($!)
done
sleep 1
start=$(date +%s.%N)
streamed=$(put Streamed)
sleep 1
end=$(date +%s.%N)
delivered=0
for i in $(seq 10); do
  n=$(grep -c '"eventName"' "$TMP/sub$i" || true)
  delivered=$((delivered + n))
done
echo "| | DDB.PUTITEM req/s (50 clients) |"
echo "|---|---|"
echo "| table without stream | $plain |"
echo "| table with stream, no subscriber | $alone |"
echo "| table with stream, 10 subscribers (on the same 2 cores) | $streamed |"
echo "| ratio with stream / without | $(awk -v a="$alone" -v b="$plain" 'BEGIN {printf "%.2f", a / b}') |"
echo "| records delivered to 10 subscribers | $delivered in $(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f", b - a}') s = $(awk -v n="$delivered" -v a="$start" -v b="$end" 'BEGIN {printf "%.0f", n / (b - a)}') records/s |"
echo "| change-log length | $(redis-cli -p "$PORT" xlen __stream__:Streamed) |"
