//! Redis 7 settings redyn accepts for compatibility but that have no effect on it: encoding
//! thresholds (redyn has no ziplist/listpack encodings), RDB/AOF and replication knobs,
//! eviction and process settings. Clients, `redis.conf` files and Redis's own test suite
//! set these; CONFIG SET validates them with Redis's type and range and CONFIG GET returns
//! what was set. Defaults are Redis 7's, except where redyn's real behaviour differs
//! (`appendonly yes`: every write is journaled; `save ""`: there are no RDB snapshots).

use super::table::{Access, Setting};
use super::values::Kind;

const HELP: &str = "accepted for compatibility (no effect)";

const fn setting(
    name: &'static str,
    aliases: &'static [&'static str],
    default: &'static str,
    mutable: bool,
    kind: Kind,
) -> Setting {
    Setting {
        name,
        aliases,
        default,
        mutable,
        help: HELP,
        access: Access::Compat(kind),
    }
}

const MUTABLE: bool = true;
const FIXED: bool = false;

const BOOL: Kind = Kind::Bool;
const TEXT: Kind = Kind::Text;
const INT_MAX: i64 = i32::MAX as i64;
const LONG_MAX: i64 = i64::MAX;

const fn int(min: i64, max: i64) -> Kind {
    Kind::Int { min, max }
}

const fn mem(min: u64) -> Kind {
    Kind::Memory {
        min,
        max: i64::MAX as u64,
    }
}

#[rustfmt::skip]
pub static COMPAT: &[Setting] = &[
    // Data-type encodings.
    setting("hash-max-listpack-entries", &["hash-max-ziplist-entries"], "128", MUTABLE, int(0, LONG_MAX)),
    setting("hash-max-listpack-value", &["hash-max-ziplist-value"], "64", MUTABLE, mem(0)),
    setting("zset-max-listpack-entries", &["zset-max-ziplist-entries"], "128", MUTABLE, int(0, LONG_MAX)),
    setting("zset-max-listpack-value", &["zset-max-ziplist-value"], "64", MUTABLE, mem(0)),
    setting("list-max-listpack-size", &["list-max-ziplist-size"], "-2", MUTABLE, int(i32::MIN as i64, INT_MAX)),
    setting("list-compress-depth", &[], "0", MUTABLE, int(0, INT_MAX)),
    setting("set-max-intset-entries", &[], "512", MUTABLE, int(0, LONG_MAX)),
    setting("set-max-listpack-entries", &[], "128", MUTABLE, int(0, LONG_MAX)),
    setting("set-max-listpack-value", &[], "64", MUTABLE, mem(0)),
    setting("stream-node-max-bytes", &[], "4096", MUTABLE, mem(0)),
    setting("stream-node-max-entries", &[], "100", MUTABLE, int(0, LONG_MAX)),
    setting("hll-sparse-max-bytes", &[], "3000", MUTABLE, mem(0)),
    setting("activerehashing", &[], "yes", MUTABLE, BOOL),
    // Persistence: redyn journals every write and has no RDB snapshots.
    setting("appendonly", &[], "yes", MUTABLE, BOOL),
    setting("save", &[], "", MUTABLE, Kind::SaveParams),
    setting("appendfilename", &[], "appendonly.aof", FIXED, TEXT),
    setting("appenddirname", &[], "appendonlydir", FIXED, TEXT),
    setting("aof-use-rdb-preamble", &[], "yes", MUTABLE, BOOL),
    setting("aof-load-truncated", &[], "yes", MUTABLE, BOOL),
    setting("aof-timestamp-enabled", &[], "no", MUTABLE, BOOL),
    setting("aof-rewrite-incremental-fsync", &[], "yes", MUTABLE, BOOL),
    setting("auto-aof-rewrite-percentage", &[], "100", MUTABLE, int(0, INT_MAX)),
    setting("auto-aof-rewrite-min-size", &[], "67108864", MUTABLE, mem(0)),
    setting("no-appendfsync-on-rewrite", &[], "no", MUTABLE, BOOL),
    setting("dbfilename", &[], "dump.rdb", MUTABLE, TEXT),
    setting("rdbcompression", &[], "yes", MUTABLE, BOOL),
    setting("rdbchecksum", &[], "yes", FIXED, BOOL),
    setting("rdb-save-incremental-fsync", &[], "yes", MUTABLE, BOOL),
    setting("rdb-del-sync-files", &[], "no", MUTABLE, BOOL),
    setting("rdb-key-save-delay", &[], "0", MUTABLE, int(i32::MIN as i64, INT_MAX)),
    setting("key-load-delay", &[], "0", MUTABLE, int(i32::MIN as i64, INT_MAX)),
    setting("stop-writes-on-bgsave-error", &[], "yes", MUTABLE, BOOL),
    // Eviction: redyn keeps data on disk and evicts nothing (`maxmemory`, its memory
    // budget for caches, is a setting with effect: see `table::SETTINGS`).
    setting("maxmemory-policy", &[], "noeviction", MUTABLE, Kind::Enum(&[
        "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
        "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction",
    ])),
    setting("maxmemory-samples", &[], "5", MUTABLE, int(1, 64)),
    setting("maxmemory-eviction-tenacity", &[], "10", MUTABLE, int(0, 100)),
    setting("lfu-log-factor", &[], "10", MUTABLE, int(0, INT_MAX)),
    setting("lfu-decay-time", &[], "1", MUTABLE, int(0, INT_MAX)),
    setting("lazyfree-lazy-eviction", &[], "no", MUTABLE, BOOL),
    setting("lazyfree-lazy-expire", &[], "no", MUTABLE, BOOL),
    setting("lazyfree-lazy-server-del", &[], "no", MUTABLE, BOOL),
    setting("lazyfree-lazy-user-del", &[], "no", MUTABLE, BOOL),
    setting("lazyfree-lazy-user-flush", &[], "no", MUTABLE, BOOL),
    setting("activedefrag", &[], "no", MUTABLE, BOOL),
    setting("active-expire-effort", &[], "1", MUTABLE, int(1, 10)),
    setting("hz", &[], "10", MUTABLE, int(0, INT_MAX)),
    setting("dynamic-hz", &[], "yes", MUTABLE, BOOL),
    setting("jemalloc-bg-thread", &[], "yes", MUTABLE, BOOL),
    setting("client-query-buffer-limit", &[], "1073741824", MUTABLE, mem(1 << 20)),
    setting("maxmemory-clients", &[], "0", MUTABLE, Kind::MemoryOrPercent),
    // Diagnostics.
    setting("slowlog-log-slower-than", &[], "10000", MUTABLE, int(-1, LONG_MAX)),
    setting("slowlog-max-len", &[], "128", MUTABLE, int(0, LONG_MAX)),
    setting("latency-monitor-threshold", &[], "0", MUTABLE, int(0, LONG_MAX)),
    setting("latency-tracking", &[], "yes", MUTABLE, BOOL),
    setting("busy-reply-threshold", &["lua-time-limit"], "5000", MUTABLE, int(0, LONG_MAX)),
    setting("acllog-max-len", &[], "128", MUTABLE, int(0, LONG_MAX)),
    setting("tracking-table-max-keys", &[], "1000000", MUTABLE, int(0, LONG_MAX)),
    setting("crash-log-enabled", &[], "yes", MUTABLE, BOOL),
    setting("crash-memcheck-enabled", &[], "yes", MUTABLE, BOOL),
    setting("sanitize-dump-payload", &[], "no", MUTABLE, Kind::Enum(&["no", "yes", "clients"])),
    setting("enable-debug-command", &[], "no", FIXED, Kind::Enum(&["no", "yes", "local"])),
    // Replication and cluster: redyn is a standalone server.
    setting("cluster-enabled", &[], "no", FIXED, BOOL),
    setting("replica-read-only", &["slave-read-only"], "yes", MUTABLE, BOOL),
    setting("replica-serve-stale-data", &["slave-serve-stale-data"], "yes", MUTABLE, BOOL),
    setting("replica-lazy-flush", &["slave-lazy-flush"], "no", MUTABLE, BOOL),
    setting("replica-priority", &["slave-priority"], "100", MUTABLE, int(0, INT_MAX)),
    setting("repl-diskless-sync", &[], "yes", MUTABLE, BOOL),
    setting("repl-diskless-sync-delay", &[], "5", MUTABLE, int(0, INT_MAX)),
    setting("repl-backlog-size", &[], "1048576", MUTABLE, mem(1)),
    setting("repl-timeout", &[], "60", MUTABLE, int(1, INT_MAX)),
    setting("repl-ping-replica-period", &["repl-ping-slave-period"], "10", MUTABLE, int(1, INT_MAX)),
    setting("min-replicas-to-write", &["min-slaves-to-write"], "0", MUTABLE, int(0, INT_MAX)),
    setting("min-replicas-max-lag", &["min-slaves-max-lag"], "10", MUTABLE, int(0, INT_MAX)),
    setting("masterauth", &[], "", MUTABLE, TEXT),
    setting("masteruser", &[], "", MUTABLE, TEXT),
    // Replication is never configured: CONFIG GET reports no master.
    setting("replicaof", &["slaveof"], "", FIXED, TEXT),
    // Process and network.
    setting("daemonize", &[], "no", FIXED, BOOL),
    setting("supervised", &[], "no", FIXED, Kind::Enum(&["upstart", "systemd", "auto", "no"])),
    setting("pidfile", &[], "", FIXED, TEXT),
    setting("logfile", &[], "", FIXED, TEXT),
    setting("always-show-logo", &[], "no", FIXED, BOOL),
    setting("set-proc-title", &[], "yes", FIXED, BOOL),
    setting("tcp-backlog", &[], "511", FIXED, int(0, INT_MAX)),
    setting("tcp-keepalive", &[], "300", MUTABLE, int(0, INT_MAX)),
    setting("unixsocket", &[], "", FIXED, TEXT),
    setting("io-threads-do-reads", &[], "no", FIXED, BOOL),
    setting("oom-score-adj", &[], "no", MUTABLE, Kind::Enum(&["no", "yes", "relative", "absolute"])),
];
