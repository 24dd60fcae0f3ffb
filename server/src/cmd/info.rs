//! INFO: sections and field names as Redis reports them, so tools that parse INFO work.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use super::shared::Server;
use crate::REDIS_VERSION;

/// Every section in output order, and whether INFO without arguments includes it.
const SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("shards", true),
    ("commandstats", false),
    ("latencystats", false),
    ("keyspace", true),
];

/// Renders the requested INFO sections (`[]` = default set).
pub fn render(server: &Server, requested: &[String]) -> String {
    let wants = |name: &str, default: bool| {
        if requested.is_empty() || requested.iter().any(|r| r == "default") {
            default
        } else {
            requested
                .iter()
                .any(|r| r == "all" || r == "everything" || r == name)
        }
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
            "replication" => replication_section(&mut out),
            "cpu" => cpu_section(&mut out),
            "commandstats" => commandstats_section(server, &mut out),
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
    writeln!(out, "maxclients:{}\r", server.config.read().maxclients)?;
    writeln!(
        out,
        "blocked_clients:{}\r",
        server.stats.blocked_clients.load(Ordering::Relaxed)
    )?;
    writeln!(out, "tracking_clients:0\r")?;
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
    writeln!(out, "maxmemory:0\r")?;
    writeln!(out, "maxmemory_policy:noeviction\r")?;
    writeln!(out, "disk_space_bytes:{}\r", server.engine.disk_space())?;
    Ok(())
}

fn persistence_section(server: &Server, out: &mut String) -> Res {
    writeln!(out, "# Persistence\r")?;
    writeln!(out, "loading:0\r")?;
    writeln!(out, "rdb_changes_since_last_save:0\r")?;
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
    writeln!(
        out,
        "pubsub_shardchannels:{}\r",
        server
            .pubsub
            .channel_names(crate::stream::pubsub::Kind::Shard, None)
            .len()
    )?;
    writeln!(out, "total_error_replies:{}\r", load(&s.error_replies))?;
    Ok(())
}

fn replication_section(out: &mut String) -> Res {
    writeln!(out, "# Replication\r")?;
    writeln!(out, "role:master\r")?;
    writeln!(out, "connected_slaves:0\r")?;
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
    Ok(())
}

fn commandstats_section(server: &Server, out: &mut String) -> Res {
    writeln!(out, "# Commandstats\r")?;
    for entry in server.commands.all() {
        let calls = entry.stat.calls.load(Ordering::Relaxed);
        if calls == 0 {
            continue;
        }
        let usec = entry.stat.usec.load(Ordering::Relaxed);
        let failed = entry.stat.failed.load(Ordering::Relaxed);
        writeln!(
            out,
            "cmdstat_{}:calls={calls},usec={usec},usec_per_call={:.2},rejected_calls=0,failed_calls={failed}\r",
            entry.spec.name,
            usec as f64 / calls as f64
        )?;
    }
    Ok(())
}

fn latencystats_section(server: &Server, out: &mut String) -> Res {
    writeln!(out, "# Latencystats\r")?;
    for entry in server.commands.all() {
        let pct = |p| entry.stat.latency_percentile(p);
        if let (Some(p50), Some(p99), Some(p999)) = (pct(50.0), pct(99.0), pct(99.9)) {
            writeln!(
                out,
                "latency_percentiles_usec_{}:p50={p50:.3},p99={p99:.3},p99.9={p999:.3}\r",
                entry.spec.name
            )?;
        }
    }
    Ok(())
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
