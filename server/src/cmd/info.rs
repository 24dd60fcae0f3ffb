//! INFO: sections and field names as Redis reports them, so tools that parse INFO work.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use super::introspection::subcommands_of;
use super::shared::Server;
use crate::REDIS_VERSION;

/// Every section in output order, and whether INFO without arguments includes it.
/// (Redis 7's order; `shards` is redyn's own.)
const SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("modules", true),
    ("shards", true),
    ("commandstats", false),
    ("errorstats", true),
    ("latencystats", false),
    ("cluster", true),
    ("keyspace", true),
];

/// Renders the requested INFO sections (`[]` = default set).
pub fn render(server: &Server, requested: &[String]) -> String {
    // Section names are case-insensitive (the caller lower-cases them); `default`,
    // `all` and `everything` select groups and may be mixed with single sections.
    let wants = |name: &str, default: bool| {
        if requested.is_empty() {
            return default;
        }
        requested.iter().any(|r| match r.as_str() {
            "default" => default,
            "all" | "everything" => true,
            other => other == name,
        })
    };
    let sections: Vec<&str> = SECTIONS
        .iter()
        .filter(|(name, default)| wants(name, *default))
        .map(|(name, _)| *name)
        .collect();
    let mut out = String::new();
    for (i, section) in sections.iter().enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        let _ = match *section {
            "server" => server_section(server, &mut out),
            "clients" => clients_section(server, &mut out),
            "memory" => memory_section(server, &mut out),
            "persistence" => persistence_section(server, &mut out),
            "stats" => stats_section(server, &mut out),
            "replication" => replication_section(server, &mut out),
            "cpu" => cpu_section(&mut out),
            "modules" => writeln!(out, "# Modules\r"),
            "commandstats" => commandstats_section(server, &mut out),
            "errorstats" => errorstats_section(server, &mut out),
            "cluster" => writeln!(out, "# Cluster\r\ncluster_enabled:0\r"),
            "latencystats" => latencystats_section(server, &mut out),
            "shards" => shards_section(server, &mut out),
            "keyspace" => keyspace_section(server, &mut out),
            _ => Ok(()),
        };
    }
    out
}

type Res = std::fmt::Result;

fn server_section(server: &Server, out: &mut String) -> Res {
    let config = server.config.read();
    writeln!(out, "# Server\r")?;
    writeln!(out, "redis_version:{REDIS_VERSION}\r")?;
    writeln!(out, "redyn_version:{}\r", env!("CARGO_PKG_VERSION"))?;
    writeln!(out, "redis_mode:standalone\r")?;
    writeln!(
        out,
        "os:{} {}\r",
        std::env::consts::OS,
        std::env::consts::ARCH
    )?;
    writeln!(out, "arch_bits:64\r")?;
    writeln!(out, "multiplexing_api:tokio\r")?;
    writeln!(out, "process_id:{}\r", std::process::id())?;
    writeln!(out, "run_id:{}\r", server.run_id)?;
    writeln!(out, "tcp_port:{}\r", server.addr.port())?;
    writeln!(out, "server_time_usec:{}\r", crate::engine::now_ms() * 1000)?;
    writeln!(out, "uptime_in_seconds:{}\r", server.uptime_secs())?;
    writeln!(out, "uptime_in_days:{}\r", server.uptime_secs() / 86400)?;
    writeln!(
        out,
        "executable:{}\r",
        std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    )?;
    writeln!(
        out,
        "config_file:{}\r",
        config
            .config_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    )?;
    Ok(())
}

fn clients_section(server: &Server, out: &mut String) -> Res {
    writeln!(out, "# Clients\r")?;
    writeln!(out, "connected_clients:{}\r", server.clients.len())?;
    writeln!(out, "cluster_connections:0\r")?;
    writeln!(out, "maxclients:{}\r", server.config.read().maxclients)?;
    writeln!(
        out,
        "blocked_clients:{}\r",
        server.stats.blocked_clients.load(Ordering::Relaxed)
    )?;
    writeln!(out, "tracking_clients:{}\r", server.tracking.stats().0)?;
    writeln!(out, "clients_in_timeout_table:0\r")?;
    Ok(())
}

/// Resident set size of this process in bytes (Linux), 0 elsewhere.
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

fn human(bytes: u64) -> String {
    const UNITS: &[(&str, u64)] = &[("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)];
    for (unit, size) in UNITS {
        if bytes >= *size {
            return format!("{:.2}{unit}", bytes as f64 / *size as f64);
        }
    }
    format!("{bytes}B")
}

fn memory_section(server: &Server, out: &mut String) -> Res {
    let rss = rss_bytes();
    writeln!(out, "# Memory\r")?;
    writeln!(out, "used_memory:{rss}\r")?;
    writeln!(out, "used_memory_human:{}\r", human(rss))?;
    writeln!(out, "used_memory_rss:{rss}\r")?;
    writeln!(out, "used_memory_rss_human:{}\r", human(rss))?;
    writeln!(out, "used_memory_peak:{rss}\r")?;
    writeln!(out, "used_memory_lua:{}\r", server.scripting.lua_memory())?;
    writeln!(
        out,
        "number_of_cached_scripts:{}\r",
        server.scripting.cached_scripts()
    )?;
    writeln!(out, "used_memory_peak_human:{}\r", human(rss))?;
    writeln!(out, "mem_allocator:{}\r", crate::ALLOCATOR)?;
    let maxmemory = server.config.read().maxmemory;
    writeln!(out, "maxmemory:{maxmemory}\r")?;
    writeln!(out, "maxmemory_human:{}\r", human(maxmemory))?;
    // How the budget is split, as in force (the block cache is sized at start).
    let (block, meta, sub, memtable) = server.engine.memory_capacities();
    writeln!(out, "maxmemory_block_cache:{block}\r")?;
    writeln!(out, "maxmemory_meta_cache:{meta}\r")?;
    writeln!(out, "maxmemory_sub_cache:{sub}\r")?;
    writeln!(out, "maxmemory_memtable:{memtable}\r")?;
    // Memory Redis leaves out of maxmemory (AOF and replica buffers): redyn evicts nothing,
    // so nothing is set aside. Tools compute `used_memory - mem_not_counted_for_evict`.
    writeln!(out, "mem_not_counted_for_evict:0\r")?;
    writeln!(out, "maxmemory_policy:noeviction\r")?;
    writeln!(out, "disk_space_bytes:{}\r", server.engine.disk_space())?;
    // UNLINK and FLUSH* ASYNC delete in the command itself (a deletion writes tombstones;
    // the LSM tree reclaims the space in its own compactions), so no object ever waits
    // for a background free thread.
    writeln!(out, "lazyfree_pending_objects:0\r")?;
    writeln!(out, "lazyfreed_objects:0\r")?;
    Ok(())
}

fn persistence_section(server: &Server, out: &mut String) -> Res {
    writeln!(out, "# Persistence\r")?;
    writeln!(out, "loading:0\r")?;
    writeln!(
        out,
        "rdb_changes_since_last_save:{}\r",
        server.engine.changes.load(Ordering::Relaxed)
    )?;
    writeln!(out, "rdb_bgsave_in_progress:0\r")?;
    writeln!(
        out,
        "rdb_last_save_time:{}\r",
        server.last_save.load(Ordering::Relaxed)
    )?;
    writeln!(out, "rdb_last_bgsave_status:ok\r")?;
    writeln!(out, "aof_enabled:1\r")?;
    writeln!(out, "aof_rewrite_in_progress:0\r")?;
    writeln!(out, "aof_last_write_status:ok\r")?;
    writeln!(
        out,
        "appendfsync:{}\r",
        server.engine.durability.mode().as_str()
    )?;
    writeln!(out, "journal_bytes:{}\r", server.engine.journal_bytes())?;
    // Whether reads go to the disk now, and the rows read ahead of their commands because
    // of it (engine::disk_reads).
    let (read_nanos, read_ahead) = server.engine.stored_reads();
    writeln!(
        out,
        "stored_read_avg_us:{:.1}\r",
        read_nanos as f64 / 1000.0
    )?;
    writeln!(out, "stored_reads_ahead:{read_ahead}\r")?;
    // Time commits were slowed while flushes and compactions lagged (engine::throttle).
    writeln!(
        out,
        "write_throttle_ms:{}\r",
        server.engine.throttle.paused_ms()
    )?;
    Ok(())
}

fn stats_section(server: &Server, out: &mut String) -> Res {
    let s = &server.stats;
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    writeln!(out, "# Stats\r")?;
    writeln!(
        out,
        "total_connections_received:{}\r",
        load(&s.connections_received)
    )?;
    writeln!(
        out,
        "total_commands_processed:{}\r",
        load(&s.commands_processed)
    )?;
    writeln!(out, "total_net_input_bytes:{}\r", load(&s.net_input_bytes))?;
    writeln!(
        out,
        "total_net_output_bytes:{}\r",
        load(&s.net_output_bytes)
    )?;
    writeln!(
        out,
        "rejected_connections:{}\r",
        load(&s.rejected_connections)
    )?;
    writeln!(
        out,
        "expired_keys:{}\r",
        server.engine.expired_keys.load(Ordering::Relaxed)
    )?;
    writeln!(out, "evicted_keys:0\r")?;
    writeln!(out, "keyspace_hits:0\r")?;
    writeln!(out, "keyspace_misses:0\r")?;
    writeln!(
        out,
        "pubsub_channels:{}\r",
        server
            .pubsub
            .channel_names(crate::stream::pubsub::Kind::Channel, None)
            .len()
    )?;
    writeln!(out, "pubsub_patterns:{}\r", server.pubsub.pattern_count())?;
    // redyn has no MIGRATE, so it never caches a connection to another server.
    writeln!(out, "migrate_cached_sockets:0\r")?;
    writeln!(
        out,
        "pubsub_shardchannels:{}\r",
        server
            .pubsub
            .channel_names(crate::stream::pubsub::Kind::Shard, None)
            .len()
    )?;
    let (_, keys, items, prefixes) = server.tracking.stats();
    writeln!(out, "tracking_total_keys:{keys}\r")?;
    writeln!(out, "tracking_total_items:{items}\r")?;
    writeln!(out, "tracking_total_prefixes:{prefixes}\r")?;
    writeln!(out, "total_error_replies:{}\r", load(&s.error_replies))?;
    Ok(())
}

/// A lone master: no replicas, no backlog.
fn replication_section(server: &Server, out: &mut String) -> Res {
    writeln!(out, "# Replication\r")?;
    writeln!(out, "role:master\r")?;
    writeln!(out, "connected_slaves:0\r")?;
    writeln!(out, "master_failover_state:no-failover\r")?;
    writeln!(out, "master_replid:{}\r", server.run_id)?;
    writeln!(out, "master_replid2:{}\r", "0".repeat(40))?;
    writeln!(out, "master_repl_offset:0\r")?;
    writeln!(out, "second_repl_offset:-1\r")?;
    writeln!(out, "repl_backlog_active:0\r")?;
    writeln!(out, "repl_backlog_size:1048576\r")?;
    writeln!(out, "repl_backlog_first_byte_offset:0\r")?;
    writeln!(out, "repl_backlog_histlen:0\r")?;
    Ok(())
}

fn cpu_section(out: &mut String) -> Res {
    // getrusage is not exposed by std; /proc/self/stat has utime/stime in clock ticks.
    let (user, sys) = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let after = s.rsplit_once(')')?.1.to_string();
            let fields: Vec<&str> = after.split_whitespace().collect();
            let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
            Some((ticks(11)? / 100.0, ticks(12)? / 100.0))
        })
        .unwrap_or((0.0, 0.0));
    writeln!(out, "# CPU\r")?;
    writeln!(out, "used_cpu_sys:{sys:.6}\r")?;
    writeln!(out, "used_cpu_user:{user:.6}\r")?;
    // No child processes (no fork-based saves); every thread belongs to this process.
    writeln!(out, "used_cpu_sys_children:0.000000\r")?;
    writeln!(out, "used_cpu_user_children:0.000000\r")?;
    Ok(())
}

fn commandstats_section(server: &Server, out: &mut String) -> Res {
    writeln!(out, "# Commandstats\r")?;
    let line = |name: &str, calls: u64, usec: u64, rejected: u64, failed: u64| {
        format!(
            "cmdstat_{name}:calls={calls},usec={usec},usec_per_call={:.2},rejected_calls={rejected},failed_calls={failed}\r\n",
            if calls == 0 { 0.0 } else { usec as f64 / calls as f64 }
        )
    };
    let mut lines: Vec<(String, String)> = Vec::new();
    for entry in server.commands.all() {
        // Container commands are reported per subcommand (`cmdstat_client|list`).
        if subcommands_of(entry.spec.name).is_some() {
            continue;
        }
        let calls = entry.stat.calls.load(Ordering::Relaxed);
        if calls == 0 {
            continue;
        }
        let usec = entry.stat.usec.load(Ordering::Relaxed);
        let failed = entry.stat.failed.load(Ordering::Relaxed);
        lines.push((
            entry.spec.name.to_string(),
            line(entry.spec.name, calls, usec, 0, failed),
        ));
    }
    lines.extend(server.introspection.subcommand_stats(|name, stat| {
        let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        (
            name.to_string(),
            line(
                name,
                load(&stat.calls),
                load(&stat.usec),
                load(&stat.rejected),
                load(&stat.failed),
            ),
        )
    }));
    lines.sort();
    for (_, text) in lines {
        out.push_str(&text);
    }
    Ok(())
}

fn errorstats_section(server: &Server, out: &mut String) -> Res {
    writeln!(out, "# Errorstats\r")?;
    for (code, count) in server.introspection.error_counts() {
        writeln!(out, "errorstat_{code}:count={count}\r")?;
    }
    Ok(())
}

fn latencystats_section(server: &Server, out: &mut String) -> Res {
    writeln!(out, "# Latencystats\r")?;
    let mut rows: Vec<(String, Vec<u64>)> = server
        .commands
        .all()
        .filter(|e| subcommands_of(e.spec.name).is_none())
        .map(|e| (e.spec.name.to_string(), e.stat.latency_buckets()))
        .collect();
    rows.extend(
        server
            .introspection
            .subcommand_stats(|name, stat| (name.to_string(), stat.bucket_counts())),
    );
    rows.sort();
    for (name, buckets) in rows {
        let pct = |p| percentile(&buckets, p);
        if let (Some(p50), Some(p99), Some(p999)) = (pct(50.0), pct(99.0), pct(99.9)) {
            writeln!(
                out,
                "latency_percentiles_usec_{name}:p50={p50:.3},p99={p99:.3},p99.9={p999:.3}\r",
            )?;
        }
    }
    Ok(())
}

/// Approximate latency percentile in µs: the upper bound of the bucket holding it.
fn percentile(buckets: &[u64], p: f64) -> Option<f64> {
    let total: u64 = buckets.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((p / 100.0) * total as f64).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (i, count) in buckets.iter().enumerate() {
        seen += count;
        if seen >= rank {
            return Some((1u64 << i) as f64);
        }
    }
    None
}

/// Shard layout and load: one line per shard with its slot range and smoothed rates.
fn shards_section(server: &Server, out: &mut String) -> Res {
    let shards = server.engine.shards.shards();
    writeln!(out, "# Shards\r")?;
    writeln!(out, "shard_count:{}\r", shards.len())?;
    writeln!(
        out,
        "shard_splits:{}\r",
        server.engine.shards.splits.load(Ordering::Relaxed)
    )?;
    writeln!(
        out,
        "shard_merges:{}\r",
        server.engine.shards.merges.load(Ordering::Relaxed)
    )?;
    for shard in shards {
        writeln!(
            out,
            "shard{}:slots={}-{},ops={},bytes={},ops_per_sec={:.1},bytes_per_sec={:.1}\r",
            shard.id,
            shard.start,
            shard.end - 1,
            shard.ops.load(Ordering::Relaxed),
            shard.bytes.load(Ordering::Relaxed),
            shard.ops_per_sec(),
            shard.bytes_per_sec()
        )?;
    }
    Ok(())
}

fn keyspace_section(server: &Server, out: &mut String) -> Res {
    writeln!(out, "# Keyspace\r")?;
    for (space, keys) in server.engine.spaces_with_keys() {
        if space < crate::engine::REDIS_DBS {
            writeln!(out, "db{space}:keys={keys},expires=0,avg_ttl=0\r")?;
        }
    }
    Ok(())
}
