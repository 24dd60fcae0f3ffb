//! Server configuration: command-line flags (Redis-style names), an optional config file in
//! `redis.conf` syntax, and the CONFIG GET/SET parameter table.

use std::path::{Path, PathBuf};

use clap::Parser;
use redyn_protocol::glob::glob_match;
use redyn_protocol::request::split_args;

use crate::engine::autoscale::AutoscaleConfig;
use crate::engine::AppendFsync;
use crate::stream::notify;
use crate::stream::pubsub::OutputLimit;

/// Command-line interface of the `redyn` binary.
#[derive(Debug, Parser, Default)]
#[command(
    name = "redyn",
    version,
    about = "A Redis-protocol server on DynamoDB-style tables in fjall"
)]
pub struct Cli {
    /// Config file in redis.conf syntax (like `redis-server redis.conf`).
    pub config_file: Option<PathBuf>,
    /// TCP port (0 picks a free port and logs it).
    #[arg(long)]
    pub port: Option<u16>,
    /// Address to listen on.
    #[arg(long)]
    pub bind: Option<String>,
    /// Data directory.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// When to fsync the journal: always, everysec or no.
    #[arg(long)]
    pub appendfsync: Option<String>,
    /// Password required from clients (AUTH / HELLO AUTH).
    #[arg(long)]
    pub requirepass: Option<String>,
    /// Number of shards (slot ranges) to start with.
    #[arg(long)]
    pub shards: Option<usize>,
    /// Maximum number of connected clients.
    #[arg(long)]
    pub maxclients: Option<usize>,
    /// Keyspace notification classes (as Redis `notify-keyspace-events`).
    #[arg(long = "notify-keyspace-events")]
    pub notify_keyspace_events: Option<String>,
    /// Log level: debug, verbose, notice, warning.
    #[arg(long)]
    pub loglevel: Option<String>,
    /// Threads serving client connections (as Redis's io-threads; default 1).
    #[arg(long = "io-threads")]
    pub io_threads: Option<usize>,
    /// Address of the Prometheus /metrics endpoint ("off" disables it).
    #[arg(long = "metrics-addr")]
    pub metrics_addr: Option<String>,
    /// Split a shard whose ops/s stays above this (0 = no autoscaling).
    #[arg(long = "shard-split-ops")]
    pub shard_split_ops: Option<f64>,
    /// Merge neighbouring shards whose ops/s both stay below this.
    #[arg(long = "shard-merge-ops")]
    pub shard_merge_ops: Option<f64>,
    /// Seconds a load condition must hold before the autoscaler acts.
    #[arg(long = "shard-scale-window")]
    pub shard_scale_window: Option<f64>,
    /// Minimum seconds between two autoscaler changes (default: the window).
    #[arg(long = "shard-scale-cooldown")]
    pub shard_scale_cooldown: Option<f64>,
    /// Fewest shards the autoscaler merges down to.
    #[arg(long = "shards-min")]
    pub shards_min: Option<usize>,
    /// Most shards the autoscaler splits up to.
    #[arg(long = "shards-max")]
    pub shards_max: Option<usize>,
}

/// The effective configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub port: u16,
    pub bind: String,
    pub dir: PathBuf,
    pub appendfsync: AppendFsync,
    pub requirepass: Option<String>,
    pub shards: usize,
    pub maxclients: usize,
    pub proto_max_bulk_len: usize,
    pub notify_keyspace_events: String,
    /// `client-output-buffer-limit` for pub/sub clients.
    pub pubsub_output_limit: OutputLimit,
    /// How long change-log records are kept (`changelog-retention`, seconds; 0 = forever).
    pub changelog_retention_secs: u64,
    pub loglevel: String,
    pub timeout: u64,
    pub databases: u32,
    /// Tokio worker threads serving connections.
    pub io_threads: usize,
    /// `None` = metrics endpoint off.
    pub metrics_addr: Option<String>,
    pub autoscale: AutoscaleConfig,
    pub config_file: Option<PathBuf>,
    /// Accepted for compatibility (`save`, `appendonly` …): stored and reported, no effect.
    pub compat: Vec<(String, String)>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 6379,
            bind: "127.0.0.1".into(),
            dir: PathBuf::from("./redyn-data"),
            appendfsync: AppendFsync::EverySec,
            requirepass: None,
            shards: 4,
            maxclients: 10000,
            proto_max_bulk_len: redyn_protocol::request::DEFAULT_MAX_BULK_LEN,
            notify_keyspace_events: String::new(),
            pubsub_output_limit: OutputLimit::default(),
            changelog_retention_secs: 24 * 3600,
            loglevel: "notice".into(),
            timeout: 0,
            databases: 16,
            // One thread, like Redis: on small machines (and with the load generator on the
            // same host) it beats several threads that keep waking each other up.
            io_threads: 1,
            metrics_addr: Some("127.0.0.1:9121".into()),
            autoscale: AutoscaleConfig::default(),
            config_file: None,
            compat: vec![
                // Every write is journaled, so redyn always behaves like AOF is on, and it
                // has no RDB snapshots.
                ("appendonly".into(), "yes".into()),
                ("save".into(), String::new()),
                ("maxmemory".into(), "0".into()),
                ("maxmemory-policy".into(), "noeviction".into()),
                ("cluster-enabled".into(), "no".into()),
            ],
        }
    }
}

impl Config {
    /// Builds the configuration: defaults, then the config file, then command-line flags.
    pub fn from_cli(cli: Cli) -> Result<Config, String> {
        let mut config = Config::default();
        if let Some(path) = &cli.config_file {
            config.load_file(path)?;
            config.config_file = Some(path.clone());
        }
        let mut apply = |name: &str, value: Option<String>| -> Result<(), String> {
            match value {
                Some(v) => config.set(name, &v),
                None => Ok(()),
            }
        };
        apply("port", cli.port.map(|p| p.to_string()))?;
        apply("bind", cli.bind)?;
        apply("dir", cli.dir.map(|d| d.display().to_string()))?;
        apply("appendfsync", cli.appendfsync)?;
        apply("requirepass", cli.requirepass)?;
        apply("shards", cli.shards.map(|s| s.to_string()))?;
        apply("maxclients", cli.maxclients.map(|s| s.to_string()))?;
        apply("notify-keyspace-events", cli.notify_keyspace_events)?;
        apply("loglevel", cli.loglevel)?;
        apply("metrics-addr", cli.metrics_addr)?;
        apply("io-threads", cli.io_threads.map(|v| v.to_string()))?;
        apply(
            "shard-split-ops",
            cli.shard_split_ops.map(|v| v.to_string()),
        )?;
        apply(
            "shard-merge-ops",
            cli.shard_merge_ops.map(|v| v.to_string()),
        )?;
        apply(
            "shard-scale-window",
            cli.shard_scale_window.map(|v| v.to_string()),
        )?;
        apply(
            "shard-scale-cooldown",
            cli.shard_scale_cooldown.map(|v| v.to_string()),
        )?;
        apply("shards-min", cli.shards_min.map(|v| v.to_string()))?;
        apply("shards-max", cli.shards_max.map(|v| v.to_string()))?;
        Ok(config)
    }

    /// Reads `name value...` lines (comments with `#`, quoting as in redis.conf).
    pub fn load_file(&mut self, path: &Path) -> Result<(), String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
        for (lineno, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let args = split_args(line.as_bytes())
                .ok_or_else(|| format!("line {}: unbalanced quotes", lineno + 1))?;
            let (name, values) = args.split_first().expect("non-empty line");
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            let value = values
                .iter()
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .collect::<Vec<_>>()
                .join(" ");
            self.set(&name, &value)
                .map_err(|e| format!("line {}: '{name}': {e}", lineno + 1))?;
        }
        Ok(())
    }

    /// Names of all parameters CONFIG GET knows.
    fn param_names(&self) -> Vec<String> {
        let mut names: Vec<String> = PARAMS.iter().map(|s| s.to_string()).collect();
        names.extend(self.compat.iter().map(|(k, _)| k.clone()));
        names
    }

    /// Value of one parameter as CONFIG GET reports it.
    pub fn get(&self, name: &str) -> Option<String> {
        Some(match name {
            "port" => self.port.to_string(),
            "bind" => self.bind.clone(),
            "dir" => std::path::absolute(&self.dir)
                .unwrap_or_else(|_| self.dir.clone())
                .display()
                .to_string(),
            "appendfsync" => self.appendfsync.as_str().into(),
            "requirepass" => self.requirepass.clone().unwrap_or_default(),
            "shards" => self.shards.to_string(),
            "maxclients" => self.maxclients.to_string(),
            "proto-max-bulk-len" => self.proto_max_bulk_len.to_string(),
            "notify-keyspace-events" => self.notify_keyspace_events.clone(),
            "changelog-retention" => self.changelog_retention_secs.to_string(),
            "client-output-buffer-limit" => format!(
                "normal 0 0 0 slave 268435456 67108864 60 pubsub {} {} {}",
                self.pubsub_output_limit.hard_bytes,
                self.pubsub_output_limit.soft_bytes,
                self.pubsub_output_limit.soft_seconds
            ),
            "loglevel" => self.loglevel.clone(),
            "timeout" => self.timeout.to_string(),
            "databases" => self.databases.to_string(),
            "metrics-addr" => self.metrics_addr.clone().unwrap_or_else(|| "off".into()),
            "io-threads" => self.io_threads.to_string(),
            "shard-split-ops" => self.autoscale.split_ops.to_string(),
            "shard-merge-ops" => self.autoscale.merge_ops.to_string(),
            "shard-scale-window" => self.autoscale.window.as_secs_f64().to_string(),
            "shard-scale-cooldown" => self.autoscale.cooldown.as_secs_f64().to_string(),
            "shards-min" => self.autoscale.min_shards.to_string(),
            "shards-max" => self.autoscale.max_shards.to_string(),
            other => {
                return self
                    .compat
                    .iter()
                    .find(|(k, _)| k == other)
                    .map(|(_, v)| v.clone())
            }
        })
    }

    /// All `(name, value)` pairs whose name matches the glob `pattern` (CONFIG GET).
    pub fn get_matching(&self, pattern: &str) -> Vec<(String, String)> {
        self.param_names()
            .into_iter()
            .filter(|n| glob_match(pattern.as_bytes(), n.as_bytes(), true))
            .filter_map(|n| self.get(&n).map(|v| (n, v)))
            .collect()
    }

    /// Sets one parameter (config file, flags, CONFIG SET). Errors are the reason text.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        fn num<T: std::str::FromStr>(v: &str) -> Result<T, String> {
            v.parse()
                .map_err(|_| "argument couldn't be parsed into an integer".to_string())
        }
        match name {
            "port" => self.port = num(value)?,
            "bind" => {
                // redis.conf allows several addresses; redyn listens on the first.
                self.bind = value
                    .split_whitespace()
                    .next()
                    .unwrap_or("127.0.0.1")
                    .trim_start_matches('-')
                    .to_string()
            }
            "dir" => self.dir = PathBuf::from(value),
            "appendfsync" => {
                self.appendfsync = AppendFsync::parse(value)
                    .ok_or("argument(s) must be one of the following: always, everysec, no")?
            }
            "requirepass" => self.requirepass = (!value.is_empty()).then(|| value.to_string()),
            "shards" => {
                let n: usize = num(value)?;
                if !(1..=1024).contains(&n) {
                    return Err("argument must be between 1 and 1024 inclusive".into());
                }
                self.shards = n
            }
            "maxclients" => self.maxclients = num(value)?,
            "proto-max-bulk-len" => self.proto_max_bulk_len = parse_memory(value)?,
            "notify-keyspace-events" => {
                let flags = notify::parse_flags(value)
                    .ok_or("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")?;
                self.notify_keyspace_events = notify::flags_to_string(flags)
            }
            "client-output-buffer-limit" => {
                self.pubsub_output_limit = parse_output_limits(value, self.pubsub_output_limit)?
            }
            "loglevel" => {
                if !["debug", "verbose", "notice", "warning", "nothing"].contains(&value) {
                    return Err("argument(s) must be one of the following: debug, verbose, notice, warning, nothing".into());
                }
                self.loglevel = value.to_string()
            }
            "timeout" => self.timeout = num(value)?,
            "metrics-addr" => {
                self.metrics_addr = match value {
                    "" | "off" | "no" => None,
                    addr => {
                        addr.parse::<std::net::SocketAddr>().map_err(|_| {
                            "argument must be an address like 127.0.0.1:9121, or off"
                        })?;
                        Some(addr.to_string())
                    }
                }
            }
            "io-threads" => {
                let n: usize = num(value)?;
                if !(1..=128).contains(&n) {
                    return Err("argument must be between 1 and 128 inclusive".into());
                }
                self.io_threads = n
            }
            "shard-split-ops" => self.autoscale.split_ops = non_negative(value)?,
            "shard-merge-ops" => self.autoscale.merge_ops = non_negative(value)?,
            "shard-scale-window" => self.autoscale.window = seconds(value)?,
            "shard-scale-cooldown" => self.autoscale.cooldown = seconds(value)?,
            "shards-min" => self.autoscale.min_shards = num::<usize>(value)?.max(1),
            "shards-max" => self.autoscale.max_shards = num::<usize>(value)?.max(1),
            "databases" => {
                let n: u32 = num(value)?;
                if n != 16 {
                    return Err("redyn always has 16 databases".into());
                }
            }
            other => match self.compat.iter_mut().find(|(k, _)| k == other) {
                Some(entry) => entry.1 = value.to_string(),
                None if IGNORED_FILE_PARAMS.contains(&other) => {}
                None => return Err("Unknown option or number of arguments for CONFIG SET".into()),
            },
        }
        Ok(())
    }
}

fn non_negative(value: &str) -> Result<f64, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| "argument must be a non-negative number".to_string())
}

fn seconds(value: &str) -> Result<std::time::Duration, String> {
    non_negative(value).map(std::time::Duration::from_secs_f64)
}

/// Parameters fixed at start-up: CONFIG SET refuses them.
pub const IMMUTABLE: &[&str] = &[
    "port",
    "bind",
    "dir",
    "shards",
    "databases",
    "metrics-addr",
    "io-threads",
    "shard-split-ops",
    "shard-merge-ops",
    "shard-scale-window",
    "shard-scale-cooldown",
    "shards-min",
    "shards-max",
];

/// Parameters with real effect, for CONFIG GET pattern matching.
const PARAMS: &[&str] = &[
    "port",
    "bind",
    "dir",
    "appendfsync",
    "requirepass",
    "shards",
    "maxclients",
    "proto-max-bulk-len",
    "notify-keyspace-events",
    "client-output-buffer-limit",
    "changelog-retention",
    "loglevel",
    "timeout",
    "databases",
    "metrics-addr",
    "io-threads",
    "shard-split-ops",
    "shard-merge-ops",
    "shard-scale-window",
    "shard-scale-cooldown",
    "shards-min",
    "shards-max",
];

/// redis.conf directives accepted in a config file and ignored (so an existing redis.conf
/// can be reused), because they have no meaning for redyn.
const IGNORED_FILE_PARAMS: &[&str] = &[
    "daemonize",
    "pidfile",
    "logfile",
    "protected-mode",
    "tcp-backlog",
    "tcp-keepalive",
    "supervised",
    "always-show-logo",
    "dbfilename",
    "appendfilename",
    "rdbcompression",
    "rdbchecksum",
    "stop-writes-on-bgsave-error",
];

/// Parses sizes like `512mb`, `1gb`, `1024`.
pub fn parse_memory(value: &str) -> Result<usize, String> {
    let lower = value.to_ascii_lowercase();
    let (digits, mult) = [
        ("gb", 1usize << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
        ("g", 1_000_000_000),
        ("m", 1_000_000),
        ("k", 1000),
        ("b", 1),
    ]
    .iter()
    .find_map(|(suffix, mult)| lower.strip_suffix(suffix).map(|d| (d.to_string(), *mult)))
    .unwrap_or((lower.clone(), 1));
    digits
        .parse::<usize>()
        .map(|n| n * mult)
        .map_err(|_| "argument must be a memory value".to_string())
}

/// Parses `client-output-buffer-limit` (`<class> <hard> <soft> <seconds>` groups); only the
/// `pubsub` class applies to redyn, the others are accepted for compatibility.
fn parse_output_limits(value: &str, current: OutputLimit) -> Result<OutputLimit, String> {
    let words: Vec<&str> = value.split_whitespace().collect();
    if words.is_empty() || !words.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut limit = current;
    for group in words.chunks(4) {
        let class = group[0].to_ascii_lowercase();
        if !["normal", "slave", "replica", "pubsub"].contains(&class.as_str()) {
            return Err("Invalid client class specified in buffer limit configuration.".into());
        }
        let hard = parse_memory(group[1])?;
        let soft = parse_memory(group[2])?;
        let secs: u64 = group[3].parse().map_err(|_| {
            "Error in hard, soft or soft_seconds setting in buffer limit configuration."
        })?;
        if class == "pubsub" {
            limit = OutputLimit {
                hard_bytes: hard,
                soft_bytes: soft,
                soft_seconds: secs,
            };
        }
    }
    Ok(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_file_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("redis.conf");
        std::fs::write(
            &path,
            "# comment\nport 7000\nappendfsync always\nrequirepass \"s3 cret\"\nsave 900 1\ndaemonize no\n",
        )
        .unwrap();
        let cli = Cli {
            config_file: Some(path),
            port: Some(7001),
            ..Default::default()
        };
        let c = Config::from_cli(cli).unwrap();
        assert_eq!(c.port, 7001);
        assert_eq!(c.appendfsync, AppendFsync::Always);
        assert_eq!(c.requirepass.as_deref(), Some("s3 cret"));
        assert_eq!(c.get("save").unwrap(), "900 1");
    }

    #[test]
    fn unknown_and_bad_values_are_rejected() {
        let mut c = Config::default();
        assert!(c.set("no-such-thing", "1").is_err());
        assert!(c.set("appendfsync", "sometimes").is_err());
        assert!(c.set("port", "x").is_err());
        assert_eq!(parse_memory("512mb").unwrap(), 512 << 20);
    }

    #[test]
    fn get_matching_uses_globs() {
        let c = Config::default();
        let got = c.get_matching("append*");
        let names: Vec<_> = got.iter().map(|(k, _)| k.as_str()).collect();
        assert!(names.contains(&"appendfsync"));
        assert!(names.contains(&"appendonly"));
    }
}
