//! The settings table: one declaration per setting. Everything else — command-line flags,
//! the config file, CONFIG GET/SET/REWRITE and the defaults — is driven by it.

use std::path::PathBuf;

use super::values::{int, memory_in, non_negative, one_of, seconds, yes_no, Kind};
use super::Config;
use crate::acl::PubsubDefault;
use crate::engine::AppendFsync;
use crate::stream::notify;

/// One setting.
pub struct Setting {
    /// Canonical name: the flag is `--<name>`, the config-file directive and CONFIG name too.
    pub name: &'static str,
    /// Other accepted names (Redis's older names), everywhere the name is accepted.
    pub aliases: &'static [&'static str],
    /// The value before the config file and flags are applied, in CONFIG GET form.
    pub default: &'static str,
    /// Whether CONFIG SET may change it (Redis's rule: listeners, paths, thread and
    /// database counts are fixed once the server runs).
    pub mutable: bool,
    /// One line for `--help`.
    pub help: &'static str,
    pub access: Access,
}

/// How a setting's value is read from and written to [`Config`].
pub enum Access {
    /// A `Config` field with real effect: `set` validates and stores, `get` reports.
    Field {
        get: fn(&Config) -> String,
        set: fn(&mut Config, &str) -> Result<(), String>,
    },
    /// Accepted for compatibility with Redis clients, configs and test suites: validated
    /// as `Kind`, stored in `Config::compat` and reported, but without effect.
    Compat(Kind),
}

impl Setting {
    pub fn is_compat(&self) -> bool {
        matches!(self.access, Access::Compat(_))
    }

    /// Whether `name` (any case) is this setting's name or one of its aliases.
    pub fn answers_to(&self, name: &str) -> bool {
        self.names().any(|n| n.eq_ignore_ascii_case(name))
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.name).chain(self.aliases.iter().copied())
    }
}

/// Every setting with real effect; `super::compat::COMPAT` lists the compatibility ones.
pub static SETTINGS: &[Setting] = &[
    Setting {
        name: "port",
        aliases: &[],
        default: "6379",
        // CONFIG SET binds the new port before the old listener closes (cmd::server).
        mutable: true,
        help: "TCP port (0 picks a free port and logs it)",
        access: Access::Field {
            get: |c| c.port.to_string(),
            set: |c, v| {
                c.port = int(v, 0, 65535)? as u16;
                Ok(())
            },
        },
    },
    Setting {
        name: "bind",
        aliases: &[],
        default: "127.0.0.1",
        // CONFIG SET listens on the new address before closing the old (cmd::server).
        mutable: true,
        help: "Address to listen on",
        access: Access::Field {
            get: |c| c.bind.clone(),
            set: |c, v| {
                // redis.conf allows several addresses (and `-` for optional ones); redyn
                // listens on the first.
                let first = v.split_whitespace().next().ok_or("Failed to bind")?;
                c.bind = first.trim_start_matches('-').to_string();
                Ok(())
            },
        },
    },
    Setting {
        name: "dir",
        aliases: &[],
        default: "./redyn-data",
        mutable: false,
        help: "Data directory",
        access: Access::Field {
            get: |c| {
                std::path::absolute(&c.dir)
                    .unwrap_or_else(|_| c.dir.clone())
                    .display()
                    .to_string()
            },
            set: |c, v| {
                if v.is_empty() {
                    return Err("No such file or directory".into());
                }
                c.dir = PathBuf::from(v);
                Ok(())
            },
        },
    },
    Setting {
        name: "appendfsync",
        aliases: &[],
        default: "everysec",
        mutable: true,
        help: "When to fsync the journal: always, everysec or no",
        access: Access::Field {
            get: |c| c.appendfsync.as_str().into(),
            set: |c, v| {
                let word = one_of(v, &["always", "everysec", "no"])?;
                c.appendfsync = AppendFsync::parse(word).expect("listed mode");
                Ok(())
            },
        },
    },
    Setting {
        name: "requirepass",
        aliases: &[],
        default: "",
        mutable: true,
        help: "Password required from clients (AUTH / HELLO AUTH); empty = none",
        access: Access::Field {
            get: |c| c.requirepass.clone().unwrap_or_default(),
            set: |c, v| {
                c.requirepass = (!v.is_empty()).then(|| v.to_string());
                Ok(())
            },
        },
    },
    Setting {
        name: "aclfile",
        aliases: &[],
        default: "",
        mutable: false,
        help: "ACL users file (ACL LOAD/SAVE); overrides requirepass",
        access: Access::Field {
            get: |c| {
                c.aclfile
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            },
            set: |c, v| {
                c.aclfile = (!v.is_empty()).then(|| PathBuf::from(v));
                Ok(())
            },
        },
    },
    Setting {
        name: "acl-pubsub-default",
        aliases: &[],
        default: "resetchannels",
        mutable: true,
        help: "Channels a new ACL user starts with: allchannels or resetchannels",
        access: Access::Field {
            get: |c| c.acl_pubsub_default.as_str().into(),
            set: |c, v| {
                let word = one_of(v, PubsubDefault::WORDS)?;
                c.acl_pubsub_default = PubsubDefault::parse(word).expect("listed word");
                Ok(())
            },
        },
    },
    Setting {
        name: "shards",
        aliases: &[],
        default: "4",
        mutable: false,
        help: "Number of shards (slot ranges) to start with",
        access: Access::Field {
            get: |c| c.shards.to_string(),
            set: |c, v| {
                c.shards = int(v, 1, 1024)? as usize;
                Ok(())
            },
        },
    },
    Setting {
        name: "maxclients",
        aliases: &[],
        default: "10000",
        mutable: true,
        help: "Maximum number of connected clients",
        access: Access::Field {
            get: |c| c.maxclients.to_string(),
            set: |c, v| {
                c.maxclients = int(v, 1, i64::MAX)? as usize;
                Ok(())
            },
        },
    },
    Setting {
        name: "protected-mode",
        aliases: &[],
        default: "yes",
        mutable: true,
        help: "Without a password for the default user, accept clients only on loopback",
        access: Access::Field {
            get: |c| if c.protected_mode { "yes" } else { "no" }.into(),
            set: |c, v| {
                c.protected_mode = yes_no(v)?;
                Ok(())
            },
        },
    },
    Setting {
        name: "proto-max-bulk-len",
        aliases: &[],
        default: "512mb",
        mutable: true,
        help: "Largest bulk string a request may carry (and a string may grow to)",
        access: Access::Field {
            get: |c| c.proto_max_bulk_len.to_string(),
            set: |c, v| {
                c.proto_max_bulk_len = memory_in(v, 1 << 20, i64::MAX as u64)? as usize;
                Ok(())
            },
        },
    },
    Setting {
        name: "disk-reserve",
        aliases: &[],
        // Room for fjall's memtable flushes and compactions once writes stop.
        default: "128mb",
        mutable: true,
        help:
            "Refuse writes (MISCONF) while the data directory's disk has less free space than this",
        access: Access::Field {
            get: |c| c.disk_reserve.to_string(),
            set: |c, v| {
                c.disk_reserve = memory_in(v, 0, i64::MAX as u64)?;
                Ok(())
            },
        },
    },
    Setting {
        name: "maxmemory",
        aliases: &[],
        // redyn's memory budget for caches and write buffers, never a limit on the data:
        // redyn keeps every key on disk, evicts nothing and never refuses a write for
        // memory (`maxmemory-policy` is accepted and ignored). The budget is split 40 %
        // fjall block cache, 20 % metadata-row cache, 10 % sub-row cache (hash fields, zset
        // members) and 30 % memtables (see `engine::budget`); RSS is the budget plus what
        // connections, sorted-set indexes and Lua take. 0 (Redis's "no limit") means the
        // default, 512 MB; budgets under 32 MB count as 32 MB. CONFIG SET resizes the row
        // caches and the memtable size at once; the block cache keeps its size until restart.
        default: "512mb",
        mutable: true,
        help: "Memory budget for caches and memtables (0 = 512mb); redyn never evicts data",
        access: Access::Field {
            get: |c| c.maxmemory.to_string(),
            set: |c, v| {
                // As Redis, an empty value is 0.
                c.maxmemory = if v.is_empty() {
                    0
                } else {
                    memory_in(v, 0, u64::MAX)?
                };
                Ok(())
            },
        },
    },
    Setting {
        name: "disk-read-threshold-us",
        aliases: &[],
        // See `engine::disk_reads`: while fjall's point reads average this long or longer
        // (they go to the disk rather than the OS page cache), a read command's keys are
        // read on a blocking thread before it runs, so that the network thread serves other
        // clients meanwhile. 0 reads every read command's stored rows ahead.
        default: "20",
        mutable: true,
        help: "Average stored-read time (µs) from which read commands read their keys off the network thread first",
        access: Access::Field {
            get: |c| c.disk_read_threshold_us.to_string(),
            set: |c, v| {
                c.disk_read_threshold_us = int(v, 0, 1_000_000_000)? as u64;
                Ok(())
            },
        },
    },
    Setting {
        name: "notify-keyspace-events",
        aliases: &[],
        default: "",
        mutable: true,
        help: "Keyspace notification classes, as Redis (KEA, Ex, ...)",
        access: Access::Field {
            get: |c| c.notify_keyspace_events.clone(),
            set: |c, v| {
                let flags = notify::parse_flags(v)
                    .ok_or("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")?;
                c.notify_keyspace_events = notify::flags_to_string(flags);
                Ok(())
            },
        },
    },
    Setting {
        name: "client-output-buffer-limit",
        aliases: &[],
        default: "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        mutable: true,
        help: "<class> <hard> <soft> <seconds> groups; the pubsub class is enforced",
        access: Access::Field {
            get: |c| c.output_limits.to_redis_string(),
            set: |c, v| {
                c.output_limits = c.output_limits.with_groups(v)?;
                Ok(())
            },
        },
    },
    Setting {
        name: "changelog-retention",
        aliases: &[],
        default: "86400",
        mutable: true,
        help: "Seconds change-log (table stream) records are kept; 0 = forever",
        access: Access::Field {
            get: |c| c.changelog_retention_secs.to_string(),
            set: |c, v| {
                // Bounded so the millisecond value the change log works with cannot overflow.
                c.changelog_retention_secs = int(v, 0, i64::MAX / 1000)? as u64;
                Ok(())
            },
        },
    },
    Setting {
        name: "loglevel",
        aliases: &[],
        default: "notice",
        mutable: true,
        help: "Log level: debug, verbose, notice, warning, nothing",
        access: Access::Field {
            get: |c| c.loglevel.clone(),
            set: |c, v| {
                let levels = &["debug", "verbose", "notice", "warning", "nothing"];
                c.loglevel = one_of(v, levels)?.to_string();
                Ok(())
            },
        },
    },
    Setting {
        name: "timeout",
        aliases: &[],
        default: "0",
        mutable: true,
        help: "Close a connection after this many idle seconds (0 = never)",
        access: Access::Field {
            get: |c| c.timeout.to_string(),
            set: |c, v| {
                c.timeout = int(v, 0, i32::MAX as i64)? as u64;
                Ok(())
            },
        },
    },
    Setting {
        name: "databases",
        aliases: &[],
        default: "16",
        mutable: false,
        help: "Number of logical databases (redyn always has 16)",
        access: Access::Field {
            get: |c| c.databases.to_string(),
            set: |c, v| {
                c.databases = int(v, 16, 16)? as u32;
                Ok(())
            },
        },
    },
    Setting {
        name: "io-threads",
        aliases: &[],
        default: "1",
        mutable: false,
        // One thread, like Redis: on small machines (and with a load generator on the same
        // host) it beats several threads that keep waking each other up.
        help: "Threads serving client connections",
        access: Access::Field {
            get: |c| c.io_threads.to_string(),
            set: |c, v| {
                c.io_threads = int(v, 1, 128)? as usize;
                Ok(())
            },
        },
    },
    Setting {
        name: "metrics-addr",
        aliases: &[],
        default: "127.0.0.1:9121",
        mutable: false,
        help: "Address of the Prometheus /metrics endpoint (off disables it)",
        access: Access::Field {
            get: |c| c.metrics_addr.clone().unwrap_or_else(|| "off".into()),
            set: |c, v| {
                c.metrics_addr = match v {
                    "" | "off" | "no" => None,
                    addr => {
                        addr.parse::<std::net::SocketAddr>().map_err(|_| {
                            "argument must be an address like 127.0.0.1:9121, or off"
                        })?;
                        Some(addr.to_string())
                    }
                };
                Ok(())
            },
        },
    },
    Setting {
        name: "shard-split-ops",
        aliases: &[],
        default: "0",
        mutable: true,
        help: "Split a shard whose ops/s stays above this (0 = no autoscaling)",
        access: Access::Field {
            get: |c| c.autoscale.split_ops.to_string(),
            set: |c, v| {
                c.autoscale.split_ops = non_negative(v)?;
                Ok(())
            },
        },
    },
    Setting {
        name: "shard-merge-ops",
        aliases: &[],
        default: "0",
        mutable: true,
        help: "Merge neighbouring shards whose ops/s both stay below this",
        access: Access::Field {
            get: |c| c.autoscale.merge_ops.to_string(),
            set: |c, v| {
                c.autoscale.merge_ops = non_negative(v)?;
                Ok(())
            },
        },
    },
    Setting {
        name: "shard-scale-window",
        aliases: &[],
        default: "10",
        mutable: true,
        help: "Seconds a load condition must hold before the autoscaler acts",
        access: Access::Field {
            get: |c| c.autoscale.window.as_secs_f64().to_string(),
            set: |c, v| {
                c.autoscale.window = seconds(v)?;
                Ok(())
            },
        },
    },
    Setting {
        name: "shard-scale-cooldown",
        aliases: &[],
        default: "10",
        mutable: true,
        help: "Minimum seconds between two autoscaler changes",
        access: Access::Field {
            get: |c| c.autoscale.cooldown.as_secs_f64().to_string(),
            set: |c, v| {
                c.autoscale.cooldown = seconds(v)?;
                Ok(())
            },
        },
    },
    Setting {
        name: "shards-min",
        aliases: &[],
        default: "1",
        mutable: true,
        help: "Fewest shards the autoscaler merges down to",
        access: Access::Field {
            get: |c| c.autoscale.min_shards.to_string(),
            set: |c, v| {
                c.autoscale.min_shards = int(v, 1, 1024)? as usize;
                Ok(())
            },
        },
    },
    Setting {
        name: "shards-max",
        aliases: &[],
        default: "64",
        mutable: true,
        help: "Most shards the autoscaler splits up to",
        access: Access::Field {
            get: |c| c.autoscale.max_shards.to_string(),
            set: |c, v| {
                c.autoscale.max_shards = int(v, 1, 1024)? as usize;
                Ok(())
            },
        },
    },
    Setting {
        name: "dynamodb-port",
        aliases: &[],
        default: "8000",
        mutable: false,
        help:
            "Port of the DynamoDB HTTP API on the bind address (0 = a free port, off disables it)",
        access: Access::Field {
            get: |c| {
                c.dynamodb_port
                    .map_or_else(|| "off".into(), |p| p.to_string())
            },
            set: |c, v| {
                c.dynamodb_port = match v {
                    "" | "off" | "no" => None,
                    port => Some(port.parse::<u16>().map_err(|_| {
                        "argument must be a port number (0-65535), or off".to_string()
                    })?),
                };
                Ok(())
            },
        },
    },
];
