#!/usr/bin/env bash
# Geo benchmark (issue 12): GEOADD N points (uniform over Europe, 1000 per command,
# pipelined) into one geo set, then GEOSEARCH BYRADIUS around random members with 50
# clients at pipeline depth 1 and 16, against redyn and redis-server with AOF everysec.
# Members are named like redis-benchmark's __rand_int__ (p:%012d) so FROMMEMBER hits one.
# Not run in CI.
#
# Usage: bench/geo.sh [points] [requests] [radius_km]     (default 1000000 200000 10)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
REQ=${2:-200000}
RADIUS=${3:-10}
[ -n "${REDYN_BIN:-}" ] || cargo build --release -q -p redyn-server
TMP=$(mktemp -d)
REDYN_PORT=${REDYN_PORT:-7690}
REDIS_PORT=${REDIS_PORT:-7691}
source bench/lib.sh
start_both

now() { date +%s.%N; }
rps() { redis-benchmark -p "$1" -c 50 -n "$REQ" -r "$N" -P "$2" --csv "${@:3}" | awk -F'"' 'NR > 1 {print $4; exit}'; }

# RESP GEOADD commands for redis-cli --pipe (fixed seed: both servers get the same points).
geoadd_stream() {
  python3 - "$N" <<'EOF'
import random, sys
n = int(sys.argv[1]); out = sys.stdout.buffer; rng = random.Random(42); BATCH = 1000
for start in range(0, n, BATCH):
    count = min(BATCH, n - start)
    parts = [b"*%d\r\n$6\r\nGEOADD\r\n$3\r\npts\r\n" % (2 + 3 * count)]
    for i in range(start, start + count):
        for arg in (b"%.6f" % rng.uniform(-10, 30), b"%.6f" % rng.uniform(35, 60), b"p:%012d" % i):
            parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    out.write(b"".join(parts))
EOF
}

declare -A result
for server in redyn redis; do
  if [ $server == redyn ]; then port=$REDYN_PORT; else port=$REDIS_PORT; fi
  t0=$(now)
  geoadd_stream | redis-cli -p "$port" --pipe >/dev/null
  t1=$(now)
  result[$server,card]=$(redis-cli -p "$port" zcard pts)
  result[$server,load]=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
  result[$server,hits]=$(redis-cli -p "$port" geosearch pts frommember p:000000000007 byradius "$RADIUS" km | wc -l)
  for depth in 1 16; do
    result[$server,p$depth]=$(rps "$port" "$depth" GEOSEARCH pts FROMMEMBER p:__rand_int__ BYRADIUS "$RADIUS" km ASC)
  done
done

echo "Geo: $N points, GEOSEARCH BYRADIUS $RADIUS km around a random member, 50 clients, $REQ requests"
echo
echo "| | redyn | redis-server (AOF everysec) | ratio |"
echo "|---|---|---|---|"
for metric in p1 p16; do
  a=${result[redyn,$metric]}; b=${result[redis,$metric]}
  echo "| GEOSEARCH req/s, pipeline ${metric#p} | $a | $b | $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2fx", a / b}') |"
done
echo "| points loaded | ${result[redyn,card]} | ${result[redis,card]} | |"
echo "| GEOADD load time (s) | ${result[redyn,load]} | ${result[redis,load]} | |"
echo "| points within $RADIUS km of p:000000000007 | ${result[redyn,hits]} | ${result[redis,hits]} | |"
