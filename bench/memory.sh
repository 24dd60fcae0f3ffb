#!/usr/bin/env bash
# The memory budget on a data set ten times larger (issue 15): starts redyn with
# `--maxmemory BUDGET` (default 256mb), loads KEYS keys with 1 KB values (default 2.6 M:
# ~2.7 GB of values, over ten times the budget) through redis-cli --pipe, then GETs random
# keys with redis-benchmark. RSS (/proc/PID/status VmRSS) is sampled every second
# throughout. Prints the RSS peak during the load and during the GETs against the goal
# (budget + 256 MB), and the GET latency percentiles (the goal: p99 under 2 ms).
#
# Usage: bench/memory.sh [budget] [keys]   (REDYN_BIN, REDYN_PORT as for the other scripts;
# SETTLE=seconds waits that long between the load and the GETs; takes several minutes and
# needs ~4 GB of disk in /tmp)
set -euo pipefail
cd "$(dirname "$0")/.."

BUDGET=${1:-256mb}
KEYS=${2:-2600000}
GETS=${GETS:-1000000}
REDYN_PORT=${REDYN_PORT:-7822}
# Not started here, but stop_all (bench/lib.sh) shuts down whatever answers on it.
REDIS_PORT=${REDIS_PORT:-7823}
TMP=$(mktemp -d /tmp/redyn-memory.XXXXXX)
. bench/lib.sh
trap stop_all EXIT

# The RESP stream of `SET key:%012d <1 KB value>` for every key (the key names
# redis-benchmark's -r uses). Values rotate over 64 random strings, so neighbouring rows
# differ and table blocks do not compress the data set away.
generate() {
  awk -v n="$KEYS" 'BEGIN {
    srand(15)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    for (v = 0; v < 64; v++) {
      s = ""
      for (j = 0; j < 1024; j++) s = s substr(alphabet, int(rand() * 64) + 1, 1)
      value[v] = s
    }
    for (i = 0; i < n; i++) {
      key = sprintf("key:%012d", i)
      printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1024\r\n%s\r\n", length(key), key, value[i % 64]
    }
  }'
}

rss_kb() { awk '/VmRSS/ { print $2 }' /proc/"$REDYN_PID"/status; }

# sample_rss FILE: one VmRSS figure (kB) a second until the file STOP exists.
sample_rss() {
  : >"$1"
  while [ ! -e "$TMP/STOP" ]; do rss_kb >>"$1"; sleep 1; done
}

peak_mb() { sort -n "$1" | tail -1 | awk '{ printf "%.0f", $1 / 1024 }'; }

start_redyn --maxmemory "$BUDGET"
wait_ping "$REDYN_PORT"
budget_bytes=$(redis-cli -p "$REDYN_PORT" config get maxmemory | tail -1)
limit_mb=$((budget_bytes / 1048576 + 256))

echo "== loading $KEYS keys x 1 KB into redyn --maxmemory $BUDGET"
sample_rss "$TMP/load.rss" &
sampler=$!
start=$(date +%s)
generate | redis-cli -p "$REDYN_PORT" --pipe | tail -2
echo "loaded in $(($(date +%s) - start)) s; dbsize $(redis-cli -p "$REDYN_PORT" dbsize);" \
  "disk $(du -sh "$TMP/redyn" | cut -f1)"
touch "$TMP/STOP"
wait "$sampler"
rm -f "$TMP/STOP"
if [ "${SETTLE:-0}" -gt 0 ]; then
  # Reads measured once the store has settled: right after a bulk load, compaction of the
  # loaded data competes with the reads for the CPU for a minute or more.
  echo "== waiting ${SETTLE} s for compactions to settle"
  sleep "$SETTLE"
fi

echo "== GET of random keys: redis-benchmark -t get -r $KEYS -n $GETS"
sample_rss "$TMP/get.rss" &
sampler=$!
redis-benchmark -p "$REDYN_PORT" -t get -r "$KEYS" -n "$GETS" --csv | tee "$TMP/get.csv"
touch "$TMP/STOP"
wait "$sampler"

p99=$(awk -F'"' 'NR == 2 { print $14 }' "$TMP/get.csv")
echo "== budget $BUDGET: RSS peak during load $(peak_mb "$TMP/load.rss") MB," \
  "during GETs $(peak_mb "$TMP/get.rss") MB, at the end $(($(rss_kb) / 1024)) MB" \
  "(goal: at most $limit_mb MB); GET p99 $p99 ms (goal: under 2 ms)"
