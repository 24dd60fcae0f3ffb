#!/usr/bin/env bash
# Stream benchmarks, redyn side by side with redis-server (AOF everysec) where Redis has the
# feature: XADD at pipeline 1 and 16 (redis-benchmark, 50 clients); 1 producer and 4
# consumers of one group (XREADGROUP + XACK), entries/s and end-to-end p99; then, redyn
# only, DDB.PUTITEM at full speed on a stream-enabled table while a 4-worker group drains
# __stream__:<table>: the group's lag (peak, when writes end, catch-up time). See
# bench/stream_bench.rs. Not run in CI.
#
# Usage: bench/stream.sh [xadds] [group entries] [puts]     (default 200000 100000 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
XADDS=${1:-200000}
ENTRIES=${2:-100000}
PUTS=${3:-100000}
cargo build --release -q --bin redyn --example stream_bench
REDYN_PORT=${REDYN_PORT:-7303}
REDIS_PORT=${REDIS_PORT:-7304}
TMP=$(mktemp -d)
source bench/lib.sh
start_both

# xadd_rps <port> <pipeline>: requests/s of XADD from redis-benchmark.
xadd_rps() {
  redis-cli -p "$1" del bench:xadd >/dev/null
  redis-benchmark -p "$1" -c 50 -n "$XADDS" -P "$2" --csv XADD bench:xadd '*' f v 2>/dev/null |
    tail -1 | cut -d, -f2 | tr -d '"'
}
# field <line> <key>: the value of key=value in a stream_bench result line.
field() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k {print $2}'; }
load() { awk '{print $1}' /proc/loadavg; }

echo "XADD (50 clients, $XADDS requests)"
echo
echo "| | redyn | redis-server (AOF everysec) | redyn vs redis |"
echo "|---|---|---|---|"
for p in 1 16; do
  x=$(xadd_rps "$REDYN_PORT" $p); y=$(xadd_rps "$REDIS_PORT" $p)
  echo "| XADD/s pipeline $p | $x | $y | $(awk "BEGIN {printf \"%.2fx\", $x / $y}") |"
done
echo
echo "Consumer group: 1 producer (XADD), 4 consumers (XREADGROUP COUNT 10 + XACK), $ENTRIES entries"
echo
a=$(target/release/examples/stream_bench group "127.0.0.1:$REDYN_PORT" "$ENTRIES" 4)
b=$(target/release/examples/stream_bench group "127.0.0.1:$REDIS_PORT" "$ENTRIES" 4)
echo "| | redyn | redis-server (AOF everysec) | redyn vs redis |"
echo "|---|---|---|---|"
for key in entries_per_s p50_us p99_us max_us; do
  x=$(field "$a" $key); y=$(field "$b" $key)
  [ $key == entries_per_s ] && ratio="$x / $y" || ratio="$y / $x"
  echo "| $key | $x | $y | $(awk "BEGIN {printf \"%.2fx\", $ratio}") |"
done
echo
echo "Change log: DDB.PUTITEM by 8 writers on a stream-enabled table, 4-worker group draining it (redyn only)"
echo
c=$(target/release/examples/stream_bench changelog "127.0.0.1:$REDYN_PORT" "$PUTS" 8 4)
echo "| puts | puts/s | peak group lag | lag when writes ended | catch-up s | final lag |"
echo "|---|---|---|---|---|---|"
echo "| $(field "$c" puts) | $(field "$c" puts_per_s) | $(field "$c" peak_lag) | $(field "$c" lag_when_writes_ended) | $(field "$c" catch_up_s) | $(field "$c" final_lag) |"
echo
echo "load average (1 min) at the end: $(load)"
