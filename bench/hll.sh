#!/usr/bin/env bash
# HyperLogLog benchmark (issue 12): PFADD of random elements into one HLL, PFCOUNT of one
# HLL (dense, cached cardinality), PFCOUNT of three HLLs (merged on every call) and PFMERGE,
# 50 clients at pipeline depth 1 and 16, against redyn and redis-server with AOF everysec.
# Not run in CI.
#
# Usage: bench/hll.sh [requests] [elements]     (default 200000 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
REQ=${1:-200000}
ELEMENTS=${2:-1000000}
[ -n "${REDYN_BIN:-}" ] || cargo build --release -q -p redyn-server
TMP=$(mktemp -d)
REDYN_PORT=${REDYN_PORT:-7692}
REDIS_PORT=${REDIS_PORT:-7693}
source bench/lib.sh
start_both

rps() { redis-benchmark -p "$1" -c 50 -n "$REQ" -r "$ELEMENTS" -P "$2" --csv "${@:3}" | awk -F'"' 'NR > 1 {print $4; exit}'; }

# Three dense HLLs of 20,000 elements each (dense past 3,000 with Redis's default
# hll-sparse-max-bytes), the same in both servers.
fill() {
  for h in h1 h2 h3; do
    seq 1 20000 | sed "s/^/$h-/" | xargs -n 1000 redis-cli -p "$1" pfadd "$h" >/dev/null
  done
}

declare -A result
ROWS=("PFADD hll" "PFCOUNT h1" "PFCOUNT h1 h2 h3" "PFMERGE dst h1 h2 h3")
for server in redyn redis; do
  if [ $server == redyn ]; then port=$REDYN_PORT; else port=$REDIS_PORT; fi
  fill "$port"
  result[$server,count]=$(redis-cli -p "$port" pfcount h1 h2 h3)
  for depth in 1 16; do
    result[$server,0,$depth]=$(rps "$port" "$depth" PFADD hll el:__rand_int__)
    result[$server,1,$depth]=$(rps "$port" "$depth" PFCOUNT h1)
    result[$server,2,$depth]=$(rps "$port" "$depth" PFCOUNT h1 h2 h3)
    result[$server,3,$depth]=$(rps "$port" "$depth" PFMERGE dst h1 h2 h3)
  done
  result[$server,hll]=$(redis-cli -p "$port" pfcount hll)
done

echo "HyperLogLog: 50 clients, $REQ requests per row, PFADD elements from $ELEMENTS random ones"
echo
echo "| command | pipeline | redyn req/s | redis-server req/s (AOF everysec) | ratio |"
echo "|---|---|---|---|---|"
for i in "${!ROWS[@]}"; do
  for depth in 1 16; do
    a=${result[redyn,$i,$depth]}; b=${result[redis,$i,$depth]}
    echo "| ${ROWS[$i]} | $depth | $a | $b | $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2fx", a / b}') |"
  done
done
echo
echo "PFCOUNT h1 h2 h3 (60,000 distinct): redyn ${result[redyn,count]}, redis ${result[redis,count]};" \
  "PFCOUNT hll after the PFADD rows: redyn ${result[redyn,hll]}, redis ${result[redis,hll]}"
