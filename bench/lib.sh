# Shared start/stop of the servers the benchmarks compare: redyn (release build) and
# redis-server with AOF (appendfsync everysec). Sourced by the bench/*.sh scripts, which set
# REDYN_PORT, REDIS_PORT and TMP (a scratch directory) first. REDYN_BIN picks another redyn
# binary (e.g. a copy of an earlier build, for before/after figures from one run);
# BASELINE_BIN puts a redyn binary in redis-server's place.

REDYN_PID=""

# launch_redyn <binary> <port> <name> [args...]: a redyn in the background on $TMP/<name>,
# logging to $TMP/<name>.log.
launch_redyn() {
  "$1" --port "$2" --dir "$TMP/$3" --appendfsync everysec --metrics-addr off "${@:4}" \
    >>"$TMP/$3.log" 2>&1 &
}

start_redyn() {
  launch_redyn "${REDYN_BIN:-target/release/redyn}" "$REDYN_PORT" redyn "$@"
  REDYN_PID=$!
}

stop_redyn() {
  [ -n "$REDYN_PID" ] && kill "$REDYN_PID" 2>/dev/null && wait "$REDYN_PID" 2>/dev/null
  REDYN_PID=""
}

# BASELINE_BIN: compare against another redyn binary (e.g. a build without a change, for the
# cost of that change) on REDIS_PORT instead of redis-server.
start_redis() {
  if [ -n "${BASELINE_BIN:-}" ]; then
    launch_redyn "$BASELINE_BIN" "$REDIS_PORT" baseline
    return
  fi
  mkdir -p "$TMP/redis"
  redis-server --port "$REDIS_PORT" --dir "$TMP/redis" --appendonly yes --appendfsync everysec \
    --save '' --daemonize yes --logfile "$TMP/redis.log"
}

# stop_redis [save|nosave]
stop_redis() { redis-cli -p "$REDIS_PORT" shutdown "${1:-nosave}" >/dev/null 2>&1 || true; }

wait_ping() { for _ in $(seq 600); do redis-cli -p "$1" ping >/dev/null 2>&1 && return; sleep 0.1; done; }

stop_all() {
  stop_redis nosave
  stop_redyn || true
  rm -rf "$TMP"
}

# start_both [redyn args...]: both servers up and answering; both are stopped (and TMP
# removed) when the script exits.
start_both() {
  trap stop_all EXIT
  start_redyn "$@"
  start_redis
  wait_ping "$REDYN_PORT"
  wait_ping "$REDIS_PORT"
}
