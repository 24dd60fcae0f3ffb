#!/usr/bin/env bash
# Load tool for native tables: DDB.PUTITEM, DDB.GETITEM and DDB.QUERY (partitions of 10
# items) at 50 clients, driven by redis-benchmark's custom-command mode (__rand_int__ picks
# random keys). Not run in CI.
#
# Usage: bench/ddb_load.sh [requests] [partitions]     (default 100000 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
P=${2:-10000}
cargo build --release -q
PORT=${PORT:-7490}
TMP=$(mktemp -d)
target/release/redyn --port "$PORT" --dir "$TMP/data" --metrics-addr off >"$TMP/log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

redis-cli -p "$PORT" DDB.CREATETABLE '{"TableName":"Orders","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"}]}' >/dev/null
# Ten items in each of P partitions, for GETITEM and QUERY to find.
python3 - "$P" <<'PY' | redis-cli -p "$PORT" --pipe >/dev/null
import json, sys
p = int(sys.argv[1])
out = sys.stdout.buffer
for part in range(p):
    for sk in range(10):
        body = json.dumps({"TableName": "Orders", "Item": {"pk": {"S": "p%012d" % part}, "sk": {"N": str(sk)},
                           "total": {"N": "%d.99" % sk}, "status": {"S": "shipped"}}}).encode()
        out.write(b"*2\r\n$11\r\nDDB.PUTITEM\r\n$%d\r\n%s\r\n" % (len(body), body))
PY

# The CSV test name contains the JSON (quotes, commas): read rps counting from the end.
rps() { redis-benchmark -p "$PORT" -c 50 -n "$N" -r "$P" --csv "$@" | awk -F, 'NR > 1 {gsub(/"/, "", $(NF-6)); print $(NF-6); exit}'; }
put=$(rps DDB.PUTITEM '{"TableName":"Orders","Item":{"pk":{"S":"p__rand_int__"},"sk":{"N":"11"},"total":{"N":"1.5"}}}')
get=$(rps DDB.GETITEM '{"TableName":"Orders","Key":{"pk":{"S":"p__rand_int__"},"sk":{"N":"3"}}}')
query=$(rps DDB.QUERY '{"TableName":"Orders","KeyConditionExpression":"pk = :p AND sk < :ten","ExpressionAttributeValues":{":p":{"S":"p__rand_int__"},":ten":{"N":"10"}}}')
echo "| operation (50 clients) | req/s |"
echo "|---|---|"
echo "| DDB.PUTITEM | $put |"
echo "| DDB.GETITEM | $get |"
echo "| DDB.QUERY (10 items) | $query |"
