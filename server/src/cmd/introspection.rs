//! What the server records about the commands it runs, for SLOWLOG, LATENCY and the
//! per-subcommand and per-error parts of INFO: the slow log, latency events, statistics
//! of container subcommands (`client|list`), and error counts by error code.
//!
//! [`Introspection`] lives in the shared server state; the dispatcher feeds it after every
//! command, and the SLOWLOG/LATENCY commands (in this file) read it.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use bytes::Bytes;
use dashmap::DashMap;
use parking_lot::Mutex;
use redyn_protocol::args::eq_ignore_case;
use redyn_protocol::Reply;

use super::client::ClientInfo;
use super::errors::{self, CmdError};
use super::{CmdResult, CommandSpec, Ctx, Flag, NO_KEYS};
use crate::config::Config;
use Flag::*;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "slowlog",
        -2,
        &[Admin, Loading, Stale],
        NO_KEYS,
        "server",
        "2.2.12",
        "A container for slow log commands.",
        slowlog,
    ),
    CommandSpec::new(
        "latency",
        -2,
        &[Admin, NoScript, Loading, Stale],
        NO_KEYS,
        "server",
        "2.8.13",
        "A container for latency diagnostics commands.",
        latency,
    ),
];

/// Container commands and their subcommands, as Redis 7 names them (`cmd=client|list` in
/// CLIENT LIST, `cmdstat_client|list` in INFO, COMMAND LIST).
pub const SUBCOMMANDS: &[(&str, &[&str])] = &[
    (
        "client",
        &[
            "caching",
            "getname",
            "getredir",
            "help",
            "id",
            "info",
            "kill",
            "list",
            "no-evict",
            "no-touch",
            "pause",
            "reply",
            "setinfo",
            "setname",
            "tracking",
            "trackinginfo",
            "unblock",
            "unpause",
        ],
    ),
    (
        "cluster",
        &[
            "addslots",
            "addslotsrange",
            "bumpepoch",
            "count-failure-reports",
            "countkeysinslot",
            "delslots",
            "delslotsrange",
            "failover",
            "flushslots",
            "forget",
            "getkeysinslot",
            "help",
            "info",
            "keyslot",
            "links",
            "meet",
            "myid",
            "nodes",
            "replicas",
            "replicate",
            "reset",
            "saveconfig",
            "set-config-epoch",
            "setslot",
            "shards",
            "slaves",
            "slots",
        ],
    ),
    (
        "command",
        &[
            "count",
            "docs",
            "getkeys",
            "getkeysandflags",
            "help",
            "info",
            "list",
        ],
    ),
    ("config", &["get", "help", "resetstat", "rewrite", "set"]),
    (
        "latency",
        &[
            "doctor",
            "graph",
            "help",
            "histogram",
            "history",
            "latest",
            "reset",
        ],
    ),
    (
        "memory",
        &["doctor", "help", "malloc-stats", "purge", "stats", "usage"],
    ),
    (
        "object",
        &["encoding", "freq", "help", "idletime", "refcount"],
    ),
    (
        "pubsub",
        &[
            "channels",
            "help",
            "numpat",
            "numsub",
            "shardchannels",
            "shardnumsub",
        ],
    ),
    ("slowlog", &["get", "help", "len", "reset"]),
    ("xinfo", &["help", "stream"]),
];

/// The subcommands of `command` if it is a container.
pub fn subcommands_of(command: &str) -> Option<&'static [&'static str]> {
    // Asked for every command run (statistics per subcommand): a hash lookup instead of a
    // walk comparing names.
    static BY_NAME: std::sync::OnceLock<foldhash::HashMap<&str, &[&str]>> =
        std::sync::OnceLock::new();
    BY_NAME
        .get_or_init(|| SUBCOMMANDS.iter().copied().collect())
        .get(command)
        .copied()
}

/// The subcommand among `subs` (a container command's) that `args[1]` names.
pub fn subcommand_in(subs: &'static [&'static str], args: &[Bytes]) -> Option<&'static str> {
    let arg = args.get(1)?;
    subs.iter().copied().find(|sub| eq_ignore_case(arg, sub))
}

/// Number of latency buckets: bucket `i` counts calls that took < 2^i µs.
const BUCKETS: usize = 32;

/// Calls of one subcommand (INFO commandstats/latencystats, LATENCY HISTOGRAM).
#[derive(Default)]
pub struct SubcommandStat {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    pub failed: AtomicU64,
    pub rejected: AtomicU64,
    pub buckets: [AtomicU64; BUCKETS],
}

impl SubcommandStat {
    fn record(&self, usec: u64, failed: bool) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.usec.fetch_add(usec, Ordering::Relaxed);
        if failed {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        self.buckets[bucket_of(usec)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn bucket_counts(&self) -> Vec<u64> {
        self.buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect()
    }
}

/// The histogram bucket of a call that took `usec`.
pub fn bucket_of(usec: u64) -> usize {
    ((u64::BITS - usec.leading_zeros()) as usize).min(BUCKETS - 1)
}

/// One slow log entry.
struct SlowEntry {
    id: u64,
    unix_secs: u64,
    usec: u64,
    args: Vec<Bytes>,
    addr: String,
    name: String,
}

/// Arguments beyond this many are summarised (Redis's `SLOWLOG_ENTRY_MAX_ARGC`).
const SLOWLOG_MAX_ARGC: usize = 32;
/// Bytes of an argument beyond this are summarised (`SLOWLOG_ENTRY_MAX_STRING`).
const SLOWLOG_MAX_STRING: usize = 128;

/// Samples kept per latency event (Redis's `LATENCY_TS_LEN`).
const LATENCY_SAMPLES: usize = 160;

/// One latency event series: its samples (Unix seconds, milliseconds) and all-time max.
#[derive(Default)]
struct LatencySeries {
    samples: VecDeque<(u64, u64)>,
    max: u64,
}

/// Everything recorded about commands beyond the per-command counters of the table.
pub struct Introspection {
    slowlog: Mutex<VecDeque<SlowEntry>>,
    next_slow_id: AtomicU64,
    /// `slowlog-log-slower-than` (µs; negative = off) and `slowlog-max-len`, cached from
    /// the configuration so the dispatcher never parses settings.
    slower_than: AtomicI64,
    slowlog_max_len: AtomicU64,
    /// `latency-monitor-threshold` (ms; 0 = off).
    latency_threshold: AtomicU64,
    latency: Mutex<BTreeMap<&'static str, LatencySeries>>,
    subcommands: DashMap<String, SubcommandStat>,
    errors: Mutex<BTreeMap<String, u64>>,
}

impl Introspection {
    pub fn new(config: &Config) -> Introspection {
        let introspection = Introspection {
            slowlog: Mutex::new(VecDeque::new()),
            next_slow_id: AtomicU64::new(0),
            slower_than: AtomicI64::new(10_000),
            slowlog_max_len: AtomicU64::new(128),
            latency_threshold: AtomicU64::new(0),
            latency: Mutex::new(BTreeMap::new()),
            subcommands: DashMap::new(),
            errors: Mutex::new(BTreeMap::new()),
        };
        introspection.configure(config);
        introspection
    }

    /// Takes the settings this module caches (at start and after CONFIG SET).
    pub fn configure(&self, config: &Config) {
        let int = |name: &str| config.get(name).and_then(|v| v.parse::<i64>().ok());
        if let Some(v) = int("slowlog-log-slower-than") {
            self.slower_than.store(v, Ordering::Relaxed);
        }
        if let Some(v) = int("slowlog-max-len") {
            self.slowlog_max_len
                .store(v.max(0) as u64, Ordering::Relaxed);
            self.trim_slowlog(&mut self.slowlog.lock());
        }
        if let Some(v) = int("latency-monitor-threshold") {
            self.latency_threshold
                .store(v.max(0) as u64, Ordering::Relaxed);
        }
    }

    /// Records one finished command: the subcommand statistics, the slow log and the
    /// latency monitor.
    pub fn record_call(
        &self,
        full_name: Option<&str>,
        args: &[Bytes],
        usec: u64,
        failed: bool,
        client: &ClientInfo,
    ) {
        if let Some(name) = full_name {
            self.subcommands
                .entry(name.to_string())
                .or_default()
                .record(usec, failed);
        }
        let slower_than = self.slower_than.load(Ordering::Relaxed);
        if !args.is_empty() && slower_than >= 0 && usec >= slower_than as u64 {
            self.log_slow(args, usec, client);
        }
        let threshold = self.latency_threshold.load(Ordering::Relaxed);
        if threshold > 0 && usec / 1000 >= threshold {
            self.add_latency_sample("command", usec / 1000);
        }
    }

    /// Counts a command refused before running (arity…) against its subcommand.
    pub fn record_rejected(&self, full_name: &str) {
        self.subcommands
            .entry(full_name.to_string())
            .or_default()
            .rejected
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an error reply under its code (`ERR`, `WRONGTYPE`…) for INFO errorstats.
    pub fn record_error(&self, text: &str) {
        let code = text.split(' ').next().unwrap_or("ERR");
        *self.errors.lock().entry(code.to_string()).or_default() += 1;
    }

    pub fn error_counts(&self) -> Vec<(String, u64)> {
        self.errors
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    /// Subcommand statistics with calls, sorted by name.
    pub fn subcommand_stats<T>(&self, mut f: impl FnMut(&str, &SubcommandStat) -> T) -> Vec<T> {
        let mut names: Vec<String> = self
            .subcommands
            .iter()
            .filter(|e| {
                e.value().calls.load(Ordering::Relaxed) + e.value().rejected.load(Ordering::Relaxed)
                    > 0
            })
            .map(|e| e.key().clone())
            .collect();
        names.sort();
        names
            .iter()
            .filter_map(|name| self.subcommands.get(name).map(|stat| f(name, &stat)))
            .collect()
    }

    /// CONFIG RESETSTAT: subcommand and error statistics start over.
    pub fn reset_stats(&self) {
        self.subcommands.clear();
        self.errors.lock().clear();
    }

    fn log_slow(&self, args: &[Bytes], usec: u64, client: &ClientInfo) {
        if self.slowlog_max_len.load(Ordering::Relaxed) == 0 {
            return;
        }
        let entry = SlowEntry {
            id: self.next_slow_id.fetch_add(1, Ordering::Relaxed),
            unix_secs: crate::engine::now_ms() / 1000,
            usec,
            args: slowlog_args(args),
            addr: client.addr.to_string(),
            name: client.name.lock().clone().unwrap_or_default(),
        };
        let mut log = self.slowlog.lock();
        log.push_front(entry);
        self.trim_slowlog(&mut log);
    }

    fn trim_slowlog(&self, log: &mut VecDeque<SlowEntry>) {
        let max = self.slowlog_max_len.load(Ordering::Relaxed) as usize;
        log.truncate(max);
    }

    /// Adds a latency sample to `event` (one per second: a later one in the same second
    /// keeps the larger latency, as Redis does).
    pub fn add_latency_sample(&self, event: &'static str, ms: u64) {
        let now = crate::engine::now_ms() / 1000;
        let mut events = self.latency.lock();
        let series = events.entry(event).or_default();
        series.max = series.max.max(ms);
        match series.samples.back_mut() {
            Some((at, latency)) if *at == now => *latency = (*latency).max(ms),
            _ => {
                series.samples.push_back((now, ms));
                if series.samples.len() > LATENCY_SAMPLES {
                    series.samples.pop_front();
                }
            }
        }
    }
}

/// The arguments a slow log entry keeps: secrets redacted, long lists and long strings
/// summarised.
fn slowlog_args(args: &[Bytes]) -> Vec<Bytes> {
    let redacted = redacted_positions(args);
    let keep = args.len().min(SLOWLOG_MAX_ARGC);
    let mut out = Vec::with_capacity(keep);
    for (i, arg) in args.iter().enumerate().take(keep) {
        if keep < args.len() && i == keep - 1 {
            out.push(Bytes::from(format!(
                "... ({} more arguments)",
                args.len() - keep + 1
            )));
        } else if redacted.contains(&i) {
            out.push(Bytes::from_static(b"(redacted)"));
        } else if arg.len() > SLOWLOG_MAX_STRING {
            let mut text = arg[..SLOWLOG_MAX_STRING].to_vec();
            text.extend_from_slice(
                format!("... ({} more bytes)", arg.len() - SLOWLOG_MAX_STRING).as_bytes(),
            );
            out.push(Bytes::from(text));
        } else {
            out.push(arg.clone());
        }
    }
    out
}

/// Positions of arguments that carry secrets (passwords), which Redis never shows: the
/// slow log and MONITOR both redact them.
pub(super) fn redacted_positions(args: &[Bytes]) -> Vec<usize> {
    let is = |i: usize, word: &str| args.get(i).is_some_and(|a| eq_ignore_case(a, word));
    if is(0, "auth") {
        return (1..args.len()).collect();
    }
    if is(0, "hello") {
        return (2..args.len())
            .filter(|&i| is(i - 1, "auth") || (i >= 3 && is(i - 2, "auth")))
            .collect();
    }
    if is(0, "migrate") {
        return (6..args.len())
            .filter(|&i| is(i - 1, "auth") || is(i - 1, "auth2") || (i >= 7 && is(i - 2, "auth2")))
            .collect();
    }
    if is(0, "config") && is(1, "set") {
        return (3..args.len())
            .step_by(2)
            .filter(|&i| is(i - 1, "masterauth") || is(i - 1, "requirepass"))
            .collect();
    }
    Vec::new()
}

fn sub_arity_error(command: &str, sub: &[u8]) -> CmdError {
    errors::wrong_arity(&format!(
        "{command}|{}",
        String::from_utf8_lossy(sub).to_ascii_lowercase()
    ))
}

fn slowlog(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = args[1].to_ascii_lowercase();
    let introspection = &ctx.server.introspection;
    match (sub.as_slice(), args.len()) {
        (b"get", 2 | 3) => {
            let count = match args.get(2) {
                None => 10,
                Some(arg) => {
                    let n = redyn_protocol::args::parse_i64_strict(arg)
                        .filter(|n| *n >= -1)
                        .ok_or_else(|| {
                            CmdError::new("ERR count should be greater than or equal to -1")
                        })?;
                    if n == -1 {
                        usize::MAX
                    } else {
                        n as usize
                    }
                }
            };
            let log = introspection.slowlog.lock();
            Ok(Reply::Array(
                log.iter().take(count).map(slow_entry_reply).collect(),
            ))
        }
        (b"len", 2) => Ok(Reply::Int(introspection.slowlog.lock().len() as i64)),
        (b"reset", 2) => {
            introspection.slowlog.lock().clear();
            Ok(Reply::ok())
        }
        (b"help", 2) => Ok(Reply::status_lines(&[
            "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
            "HELP",
            "    Print this help.",
        ])),
        (b"get" | b"len" | b"reset" | b"help", _) => Err(sub_arity_error("slowlog", &sub)),
        _ => Err(errors::unknown_subcommand("slowlog", &args[1])),
    }
}

fn slow_entry_reply(entry: &SlowEntry) -> Reply {
    Reply::Array(vec![
        Reply::Int(entry.id as i64),
        Reply::Int(entry.unix_secs as i64),
        Reply::Int(entry.usec as i64),
        Reply::Array(entry.args.iter().cloned().map(Reply::Bulk).collect()),
        Reply::text(entry.addr.clone()),
        Reply::text(entry.name.clone()),
    ])
}

fn latency(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = args[1].to_ascii_lowercase();
    let introspection = &ctx.server.introspection;
    match (sub.as_slice(), args.len()) {
        (b"latest", 2) => {
            let events = introspection.latency.lock();
            Ok(Reply::Array(
                events
                    .iter()
                    .filter_map(|(name, series)| {
                        let (at, ms) = *series.samples.back()?;
                        Some(Reply::Array(vec![
                            Reply::text(*name),
                            Reply::Int(at as i64),
                            Reply::Int(ms as i64),
                            Reply::Int(series.max as i64),
                        ]))
                    })
                    .collect(),
            ))
        }
        (b"history", 3) => {
            let events = introspection.latency.lock();
            let event = String::from_utf8_lossy(&args[2]);
            let samples = events
                .get(event.as_ref())
                .map(|s| s.samples.iter().copied().collect::<Vec<_>>())
                .unwrap_or_default();
            Ok(Reply::Array(
                samples
                    .into_iter()
                    .map(|(at, ms)| Reply::Array(vec![Reply::Int(at as i64), Reply::Int(ms as i64)]))
                    .collect(),
            ))
        }
        (b"reset", _) => {
            let mut events = introspection.latency.lock();
            let reset = if args.len() == 2 {
                let n = events.len();
                events.clear();
                n
            } else {
                args[2..]
                    .iter()
                    .filter(|name| {
                        events
                            .remove(String::from_utf8_lossy(name).as_ref())
                            .is_some()
                    })
                    .count()
            };
            Ok(Reply::Int(reset as i64))
        }
        (b"doctor", 2) => Ok(Reply::Verbatim(latency_doctor(introspection))),
        (b"graph", 3) => {
            let events = introspection.latency.lock();
            let event = String::from_utf8_lossy(&args[2]).into_owned();
            match events.get(event.as_str()) {
                Some(series) => Ok(Reply::Verbatim(latency_graph(&event, series))),
                None => Err(CmdError::new(format!(
                    "ERR No samples available for event '{event}'"
                ))),
            }
        }
        (b"histogram", _) => Ok(latency_histogram(ctx, &args[2..])),
        (b"help", 2) => Ok(Reply::status_lines(&[
            "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "GRAPH <event>",
            "    Return an ASCII latency graph for the <event> class.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
            "HELP",
            "    Prints this help.",
        ])),
        (b"latest" | b"history" | b"doctor" | b"graph" | b"help", _) => {
            Err(sub_arity_error("latency", &sub))
        }
        _ => Err(errors::unknown_subcommand("latency", &args[1])),
    }
}

/// LATENCY DOCTOR: a short human report over the recorded events.
fn latency_doctor(introspection: &Introspection) -> String {
    let events = introspection.latency.lock();
    if events.is_empty() {
        return "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sleep tonight.\n".to_string();
    }
    let mut out = String::from("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
    for (i, (name, series)) in events.iter().enumerate() {
        let total: u64 = series.samples.iter().map(|(_, ms)| ms).sum();
        let avg = total / series.samples.len().max(1) as u64;
        out.push_str(&format!(
            "{}. {name}: {} latency spikes (average {avg}ms, mean deviation 0ms, period 0 sec). Worst all time event {}ms.\n",
            i + 1,
            series.samples.len(),
            series.max
        ));
    }
    out.push_str("\nI have a few advices for you:\n\n- Check your system for other processes competing for CPU time.\n");
    out
}

/// LATENCY GRAPH: the event's samples as rows of `time latency` (newest last).
fn latency_graph(event: &str, series: &LatencySeries) -> String {
    let mut out = format!(
        "{event} - high {} ms, low {} ms (all time high {} ms)\n",
        series.samples.iter().map(|s| s.1).max().unwrap_or(0),
        series.samples.iter().map(|s| s.1).min().unwrap_or(0),
        series.max
    );
    out.push_str(&"-".repeat(80));
    out.push('\n');
    for (at, ms) in &series.samples {
        out.push_str(&format!(
            "{at} {ms}ms {}\n",
            "#".repeat((*ms).min(60) as usize)
        ));
    }
    out
}

/// LATENCY HISTOGRAM [command...]: per command, its calls and the cumulative count of
/// calls at each power-of-two microsecond bound.
fn latency_histogram(ctx: &Ctx, names: &[Bytes]) -> Reply {
    let mut rows: Vec<(String, u64, Vec<u64>)> = Vec::new();
    let introspection = &ctx.server.introspection;
    let subcommand_rows = |prefix: Option<&str>, rows: &mut Vec<(String, u64, Vec<u64>)>| {
        rows.extend(
            introspection
                .subcommand_stats(|name, stat| {
                    (
                        name.to_string(),
                        stat.calls.load(Ordering::Relaxed),
                        stat.bucket_counts(),
                    )
                })
                .into_iter()
                .filter(|(name, calls, _)| {
                    *calls > 0
                        && prefix.is_none_or(|p| {
                            name.as_str() == p || name.starts_with(&format!("{p}|"))
                        })
                }),
        );
    };
    let command_row = |entry: &super::table::Entry| {
        let calls = entry.stat.calls.load(Ordering::Relaxed);
        (calls > 0).then(|| {
            (
                entry.spec.name.to_string(),
                calls,
                entry.stat.latency_buckets(),
            )
        })
    };
    if names.is_empty() {
        for entry in ctx.server.commands.all() {
            if subcommands_of(entry.spec.name).is_none() {
                rows.extend(command_row(entry));
            }
        }
        subcommand_rows(None, &mut rows);
    } else {
        for name in names {
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            if rows.iter().any(|(seen, _, _)| *seen == name) {
                continue;
            }
            if name.contains('|') || subcommands_of(&name).is_some() {
                subcommand_rows(Some(&name), &mut rows);
            } else if let Some(entry) = ctx.server.commands.get(name.as_bytes()) {
                rows.extend(command_row(entry));
            }
        }
    }
    Reply::Map(
        rows.into_iter()
            .map(|(name, calls, buckets)| {
                (
                    Reply::text(name),
                    Reply::Map(vec![
                        (Reply::text("calls"), Reply::Int(calls as i64)),
                        (
                            Reply::text("histogram_usec"),
                            cumulative_histogram(&buckets),
                        ),
                    ]),
                )
            })
            .collect(),
    )
}

/// Bucket counts as a map of upper bound (µs) to the calls at or under it.
fn cumulative_histogram(buckets: &[u64]) -> Reply {
    let mut seen = 0;
    let mut out = Vec::new();
    for (i, count) in buckets.iter().enumerate() {
        if *count == 0 {
            continue;
        }
        seen += count;
        out.push((Reply::Int(1i64 << i), Reply::Int(seen as i64)));
    }
    Reply::Map(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slowlog_arguments_are_trimmed_and_redacted() {
        let args: Vec<Bytes> = (0..40).map(|i| Bytes::from(i.to_string())).collect();
        let kept = slowlog_args(&args);
        assert_eq!(kept.len(), 32);
        assert_eq!(kept[31], Bytes::from("... (9 more arguments)"));
        let long = vec![Bytes::from("set"), Bytes::from(vec![b'A'; 130])];
        let kept = slowlog_args(&long);
        assert!(kept[1].ends_with(b"... (2 more bytes)"));
        assert_eq!(kept[1].len(), 128 + "... (2 more bytes)".len());
        let auth = vec![Bytes::from("AUTH"), Bytes::from("user"), Bytes::from("pw")];
        assert_eq!(slowlog_args(&auth)[1], Bytes::from("(redacted)"));
        let config: Vec<Bytes> = ["config", "set", "masterauth", "x", "maxmemory", "1"]
            .into_iter()
            .map(Bytes::from)
            .collect();
        let kept = slowlog_args(&config);
        assert_eq!(kept[3], Bytes::from("(redacted)"));
        assert_eq!(kept[5], Bytes::from("1"));
    }

    #[test]
    fn latency_samples_keep_one_per_second_and_the_max() {
        let introspection = Introspection::new(&Config::default());
        introspection.add_latency_sample("command", 5);
        introspection.add_latency_sample("command", 9);
        introspection.add_latency_sample("command", 7);
        let events = introspection.latency.lock();
        let series = &events["command"];
        assert!(series.samples.len() <= 2);
        assert_eq!(series.max, 9);
    }

    #[test]
    fn histogram_is_cumulative() {
        let mut buckets = vec![0; BUCKETS];
        buckets[bucket_of(1)] = 2;
        buckets[bucket_of(100)] = 3;
        let Reply::Map(pairs) = cumulative_histogram(&buckets) else {
            panic!("a map");
        };
        assert_eq!(pairs.len(), 2);
        assert_eq!(pairs[1].1, Reply::Int(5));
    }
}
