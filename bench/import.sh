#!/usr/bin/env bash
# RDB import benchmark (issue 12): redis-server 7 makes an RDB of KEYS keys (80 % strings from
# DEBUG POPULATE, 5 % each hashes, lists, sets and sorted sets of 5 members, every tenth
# non-string key with a TTL), then
#   - redis-server loads it at start-up (time until it answers, RSS once loaded);
#   - `redyn import-rdb` loads it into an empty data directory (wall time, peak RSS);
#   - redyn starts on that directory (time until it answers, RSS, DBSIZE, spot checks).
# Not run in CI.
#
# Usage: bench/import.sh [keys]      (default 10000000)
# Environment: REDYN_BIN; RDB_CACHE=path keeps the RDB made there and reuses it when present.
set -euo pipefail
cd "$(dirname "$0")/.."
KEYS=${1:-10000000}
REDYN=${REDYN_BIN:-target/release/redyn}
[ -n "${REDYN_BIN:-}" ] || cargo build --release -q -p redyn-server
TMP=$(mktemp -d)
REDYN_PORT=${REDYN_PORT:-7694}
REDIS_PORT=${REDIS_PORT:-7695}
source bench/lib.sh
trap stop_all EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}'; }
rss_mb() { awk '/VmRSS/ {printf "%d", $2 / 1024}' "/proc/$1/status"; }

OTHER=$((KEYS / 20))
STRINGS=$((KEYS - 4 * OTHER))

# RESP commands for the non-string keys, for redis-cli --pipe.
typed_keys() {
  python3 - "$OTHER" <<'PY'
import sys
n = int(sys.argv[1]); out = sys.stdout.buffer
def cmd(*args):
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(parts)
for i in range(n):
    buf = [
        cmd("HSET", f"hash:{i}", *[x for f in range(5) for x in (f"f{f}", f"value-{i}-{f}")]),
        cmd("RPUSH", f"list:{i}", *[f"item-{i}-{e}" for e in range(5)]),
        cmd("SADD", f"set:{i}", *[f"member-{i}-{e}" for e in range(5)]),
        cmd("ZADD", f"zset:{i}", *[x for e in range(5) for x in (e * 1.5, f"m-{i}-{e}")]),
    ]
    if i % 10 == 0:
        for t in ("hash", "list", "set", "zset"):
            buf.append(cmd("EXPIRE", f"{t}:{i}", 86400))
    out.write(b"".join(buf))
PY
}

mkdir -p "$TMP/redis"
RDB="$TMP/redis/dump.rdb"
if [ -n "${RDB_CACHE:-}" ] && [ -f "$RDB_CACHE" ]; then
  echo "--- using the RDB made earlier: $RDB_CACHE"
  cp "$RDB_CACHE" "$RDB"
else
  echo "--- making the RDB with redis-server ($KEYS keys)"
  redis-server --port "$REDIS_PORT" --dir "$TMP/redis" --save '' --appendonly no \
    --enable-debug-command yes --daemonize yes --logfile "$TMP/redis.log"
  wait_ping "$REDIS_PORT"
  redis-cli -p "$REDIS_PORT" debug populate "$STRINGS" key 100 >/dev/null
  typed_keys | redis-cli -p "$REDIS_PORT" --pipe >/dev/null
  redis-cli -p "$REDIS_PORT" save >/dev/null
  stop_redis nosave
  # RDB_CACHE: keep the file for later runs (making it takes minutes).
  [ -z "${RDB_CACHE:-}" ] || cp "$RDB" "$RDB_CACHE"
fi
rdb_mb=$(du -m "$RDB" | cut -f1)

echo "--- redis-server loading it"
t0=$(now)
redis-server --port "$REDIS_PORT" --dir "$TMP/redis" --save '' --appendonly no \
  --daemonize yes --logfile "$TMP/redis.log"
until [ "$(redis-cli -p "$REDIS_PORT" info persistence 2>/dev/null | tr -d '\r' | awk -F: '/^loading:/ {print $2}')" = 0 ]; do sleep 0.05; done
redis_load=$(since "$t0")
redis_pid=$(redis-cli -p "$REDIS_PORT" info server | tr -d '\r' | awk -F: '/^process_id:/ {print $2}')
redis_rss=$(rss_mb "$redis_pid")
redis_keys=$(redis-cli -p "$REDIS_PORT" dbsize)
echo "redis-server: loaded $redis_keys keys in $redis_load s, RSS $redis_rss MB"

echo "--- redyn import-rdb"
t0=$(now)
/usr/bin/time -f "%M" -o "$TMP/import.rss" "$REDYN" import-rdb "$RDB" --dir "$TMP/redyn" \
  --metrics-addr off | tee "$TMP/import.out"
import_time=$(since "$t0")
import_rss=$(($(cat "$TMP/import.rss") / 1024))
import_mb=$(du -sm "$TMP/redyn" | cut -f1)
echo "redyn import-rdb: $import_time s, peak RSS $import_rss MB, $import_mb MB on disk"

echo "--- redyn starting on the imported directory"
t0=$(now)
start_redyn
# (wait_ping gives up after a minute; start-up on millions of keys may take longer)
until redis-cli -p "$REDYN_PORT" ping >/dev/null 2>&1; do
  kill -0 "$REDYN_PID" || { echo "redyn exited:"; tail "$TMP/redyn.log"; exit 1; }
  sleep 0.1
done
redyn_start=$(since "$t0")
redyn_keys=$(redis-cli -p "$REDYN_PORT" dbsize)
redyn_rss=$(rss_mb "$REDYN_PID")

# Spot checks: the same replies from both servers.
mismatch=0
for i in 0 7 $((OTHER / 2)) $((OTHER - 1)); do
  for cmd in "get key:$i" "hgetall hash:$i" "lrange list:$i 0 -1" "smembers set:$i" \
    "zrange zset:$i 0 -1 withscores" "expiretime hash:$i"; do
    # (md5: DEBUG POPULATE pads values with NUL bytes, which bash strings cannot hold)
    a=$(redis-cli -p "$REDYN_PORT" $cmd | sort | md5sum)
    b=$(redis-cli -p "$REDIS_PORT" $cmd | sort | md5sum)
    if [ "$a" != "$b" ]; then echo "MISMATCH: $cmd"; mismatch=$((mismatch + 1)); fi
  done
done

echo
echo "RDB import: $redis_keys keys ($STRINGS strings of 100 bytes, $OTHER each of hashes, lists, sets," \
  "sorted sets of 5 members), RDB file $rdb_mb MB"
echo
echo "| | redyn | redis-server 7.0.15 |"
echo "|---|---|---|"
echo "| load time (s) | $import_time (import-rdb) | $redis_load (start-up load) |"
echo "| peak RSS while loading (MB) | $import_rss | |"
echo "| keys after load | $redyn_keys | $redis_keys |"
echo "| RSS serving the data (MB) | $redyn_rss | $redis_rss |"
echo "| start-up time on the loaded data (s) | $redyn_start | $redis_load |"
echo "| data on disk (MB) | $import_mb | $rdb_mb (RDB) |"
echo "| spot-check mismatches | $mismatch | |"
