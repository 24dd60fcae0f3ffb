#!/usr/bin/env bash
# Leaderboard benchmark (issue 4): load N members into one sorted set (pipelined), then
# measure ZREVRANK of random members, ZRANGE key 0 9 WITHSCORES and ZINCRBY of random
# members with 50 clients, against redyn and against redis-server with AOF everysec.
# Also reports load time, RSS after load, and after a restart the time to the first
# ZREVRANK answer. Not run in CI.
#
# Usage: bench/leaderboard.sh [members] [requests]     (default 10000000 200000)
# REDYN_PORT / REDIS_PORT pick other ports; REDYN_BIN a prebuilt redyn (then nothing is built).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000000}
REQ=${2:-200000}
[ -n "${REDYN_BIN:-}" ] || cargo build --release -q
TMP=$(mktemp -d)
REDYN_PORT=${REDYN_PORT:-7480}
REDIS_PORT=${REDIS_PORT:-7481}
source bench/lib.sh
trap stop_all EXIT

rss_mb() { ps -o rss= -p "$1" | awk '{printf "%.0f", $1 / 1024}'; }
now() { date +%s.%N; }
rps() { redis-benchmark -p "$1" -c 50 -n "$REQ" -r "$N" --csv "${@:2}" | awk -F'"' 'NR > 1 {print $4; exit}'; }

declare -A result
for server in redyn redis; do
  if [ $server == redyn ]; then port=$REDYN_PORT; start_redyn; else port=$REDIS_PORT; start_redis; fi
  wait_ping "$port"
  t0=$(now)
  python3 bench/zadd_stream.py lb "$N" | redis-cli -p "$port" --pipe >/dev/null
  t1=$(now)
  pid=$(redis-cli -p "$port" info server | awk -F: '/^process_id/{print $2}' | tr -d '\r')
  result[$server,card]=$(redis-cli -p "$port" zcard lb)
  result[$server,load]=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
  result[$server,rss]=$(rss_mb "$pid")
  result[$server,zrevrank]=$(rps "$port" ZREVRANK lb member:__rand_int__)
  result[$server,top10]=$(rps "$port" ZRANGE lb 0 9 WITHSCORES)
  result[$server,zincrby]=$(rps "$port" ZINCRBY lb 1 member:__rand_int__)
  # Restart: time until the first ZREVRANK answers (includes recovery / index rebuild).
  if [ $server == redyn ]; then stop_redyn; else stop_redis save; fi
  sleep 1
  t0=$(now)
  if [ $server == redyn ]; then start_redyn; else start_redis; fi
  wait_ping "$port"
  until redis-cli -p "$port" zrevrank lb member:000000000007 2>/dev/null | grep -qE '^[0-9]+$'; do sleep 0.05; done
  t1=$(now)
  result[$server,restart]=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
  pid=$(redis-cli -p "$port" info server | awk -F: '/^process_id/{print $2}' | tr -d '\r')
  result[$server,rss2]=$(rss_mb "$pid")
  if [ $server == redyn ]; then stop_redyn; else stop_redis nosave; fi
done

echo "Leaderboard: $N members, 50 clients, $REQ requests per test"
echo
echo "| | redyn | redis-server (AOF everysec) | ratio |"
echo "|---|---|---|---|"
for metric in zrevrank top10 zincrby; do
  a=${result[redyn,$metric]}; b=${result[redis,$metric]}
  echo "| $metric req/s | $a | $b | $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2fx", a / b}') |"
done
echo "| members loaded | ${result[redyn,card]} | ${result[redis,card]} | |"
echo "| load time (s) | ${result[redyn,load]} | ${result[redis,load]} | |"
echo "| RSS after load (MB) | ${result[redyn,rss]} | ${result[redis,rss]} | |"
echo "| restart to first ZREVRANK (s) | ${result[redyn,restart]} | ${result[redis,restart]} | |"
echo "| RSS after restart + first ZREVRANK (MB) | ${result[redyn,rss2]} | ${result[redis,rss2]} | |"
