//! The command table: one [`CommandSpec`] per command, gathered from the family files.

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use redyn_protocol::Reply;

use super::Handler;

/// Command flags: Redis's, as COMMAND INFO reports them, plus internal markers it never
/// shows (see [`Flag::reported_name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    Write,
    ReadOnly,
    DenyOom,
    Admin,
    PubSub,
    NoScript,
    Blocking,
    Loading,
    Stale,
    Fast,
    /// May run before AUTH (AUTH, HELLO, QUIT…).
    NoAuth,
    /// Refused at queue time inside MULTI (SAVE, SHUTDOWN, as Redis 7); the dispatcher checks it.
    NoMulti,
    /// Allowed in RESP2 subscribe mode.
    PubSubContext,
    /// Internal: the command may hold its thread for long (a full scan, an fsync, a
    /// whole-table delete), so the connection runs it off the network thread's task
    /// queue (`block_in_place`) instead of stalling every connection sharing that thread.
    /// Redis has no such flag, so COMMAND INFO does not report it.
    Offload,
    /// Internal: a command on one key (`args[1]`) that reads and writes only through its
    /// transaction and never blocks, so consecutive pipelined ones may run as one engine
    /// batch (see `cmd::pipeline`). Not reported by COMMAND INFO.
    Batch,
    /// Internal: `args[2]` names the sub-row of `args[1]` the command reads first (a hash
    /// field, a set member), so a batch can start loading its cache entry before the command
    /// runs (see `cmd::pipeline`). Not reported by COMMAND INFO.
    SubKey,
}

impl Flag {
    /// The flag's name in COMMAND INFO, or `None` for internal markers.
    pub fn reported_name(self) -> Option<&'static str> {
        Some(match self {
            Flag::Write => "write",
            Flag::ReadOnly => "readonly",
            Flag::DenyOom => "denyoom",
            Flag::Admin => "admin",
            Flag::PubSub => "pubsub",
            Flag::NoScript => "noscript",
            Flag::Blocking => "blocking",
            Flag::Loading => "loading",
            Flag::Stale => "stale",
            Flag::Fast => "fast",
            Flag::NoAuth => "no_auth",
            Flag::NoMulti => "no_multi",
            Flag::PubSubContext => "pubsub_context",
            Flag::Offload | Flag::Batch | Flag::SubKey => return None,
        })
    }
}

/// One command: everything the dispatcher and COMMAND INFO/DOCS need.
#[derive(Debug)]
pub struct CommandSpec {
    /// Lower-case name.
    pub name: &'static str,
    /// Redis arity: `n` = exactly n arguments (including the name), `-n` = at least n.
    pub arity: i32,
    pub flags: &'static [Flag],
    /// Position of the first key argument (0 = no keys).
    pub first_key: i32,
    /// Position of the last key argument (-1 = last argument, -2 = the one before…).
    pub last_key: i32,
    /// Step between key arguments.
    pub step: i32,
    /// Documentation group (`string`, `hash`, `generic`, `server`, `connection`…).
    pub group: &'static str,
    pub summary: &'static str,
    /// Redis version that introduced the command.
    pub since: &'static str,
    pub handler: Handler,
}

/// Key positions of a command: (first, last, step), as in COMMAND INFO.
pub type KeySpec = (i32, i32, i32);
/// No key arguments.
pub const NO_KEYS: KeySpec = (0, 0, 0);
/// Exactly one key, the first argument.
pub const ONE_KEY: KeySpec = (1, 1, 1);
/// Every argument from the first is a key.
pub const ALL_KEYS: KeySpec = (1, -1, 1);

impl CommandSpec {
    /// Declares a command (used by the family tables).
    #[allow(clippy::too_many_arguments)]
    pub const fn new(
        name: &'static str,
        arity: i32,
        flags: &'static [Flag],
        keys: KeySpec,
        group: &'static str,
        since: &'static str,
        summary: &'static str,
        handler: Handler,
    ) -> CommandSpec {
        CommandSpec {
            name,
            arity,
            flags,
            first_key: keys.0,
            last_key: keys.1,
            step: keys.2,
            group,
            summary,
            since,
            handler,
        }
    }

    pub fn has(&self, flag: Flag) -> bool {
        self.flags.contains(&flag)
    }

    /// Whether `argc` arguments (including the name) satisfy the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i32;
        if self.arity >= 0 {
            argc == self.arity
        } else {
            argc >= -self.arity
        }
    }

    /// Positions of key arguments in `argc` arguments (COMMAND GETKEYS, locking).
    pub fn key_positions(&self, argc: usize) -> Vec<usize> {
        if self.first_key <= 0 {
            return Vec::new();
        }
        let argc = argc as i32;
        let last = if self.last_key < 0 {
            argc + self.last_key
        } else {
            self.last_key.min(argc - 1)
        };
        let step = self.step.max(1);
        (self.first_key..=last)
            .step_by(step as usize)
            .map(|i| i as usize)
            .collect()
    }

    /// ACL categories, derived from the group and flags as Redis derives them (see
    /// [`crate::acl::category`]), as a set.
    pub fn acl_category_set(&self) -> crate::acl::category::CategorySet {
        use crate::acl::category::{self, Traits};
        let traits = Traits {
            write: self.has(Flag::Write),
            readonly: self.has(Flag::ReadOnly),
            admin: self.has(Flag::Admin),
            pubsub: self.has(Flag::PubSub),
            fast: self.has(Flag::Fast),
            blocking: self.has(Flag::Blocking),
        };
        let container = !category::subcommands(self.name).is_empty();
        category::of_command(self.name, self.group, traits, container)
    }

    /// ACL categories with `@` (COMMAND INFO, COMMAND LIST FILTERBY ACLCAT).
    pub fn acl_categories(&self) -> Vec<String> {
        crate::acl::category::names(self.acl_category_set())
    }

    /// The COMMAND INFO entry.
    pub fn info_reply(&self) -> Reply {
        let simple = |s: &str| Reply::Simple(s.to_string().into());
        Reply::Array(vec![
            Reply::text(self.name),
            Reply::Int(i64::from(self.arity)),
            Reply::Set(
                self.flags
                    .iter()
                    .filter_map(|f| f.reported_name())
                    .map(simple)
                    .collect(),
            ),
            Reply::Int(i64::from(self.first_key)),
            Reply::Int(i64::from(self.last_key)),
            Reply::Int(i64::from(self.step)),
            Reply::Set(self.acl_categories().iter().map(|c| simple(c)).collect()),
            // Tips, key specs (filled in by `command_keys::info_reply`) and subcommands are
            // sets, as Redis sends them.
            Reply::Set(vec![]),
            Reply::Set(vec![]),
            Reply::Set(vec![]),
        ])
    }

    /// The COMMAND DOCS entry (name and its doc map).
    pub fn docs_reply(&self) -> (Reply, Reply) {
        (
            Reply::text(self.name),
            Reply::Map(vec![
                (Reply::text("summary"), Reply::text(self.summary)),
                (Reply::text("since"), Reply::text(self.since)),
                (Reply::text("group"), Reply::text(self.group)),
            ]),
        )
    }
}

/// Number of latency buckets: bucket `i` counts calls that took < 2^i µs.
const LATENCY_BUCKETS: usize = 32;

/// Per-command statistics (INFO commandstats/latencystats, metrics).
#[derive(Default)]
pub struct CommandStat {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    pub failed: AtomicU64,
    latency: [AtomicU64; LATENCY_BUCKETS],
}

impl std::fmt::Debug for CommandStat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandStat")
            .field("calls", &self.calls)
            .finish()
    }
}

/// The latency bucket of a call that took `usec` µs.
fn latency_bucket(usec: u64) -> usize {
    ((u64::BITS - usec.leading_zeros()) as usize).min(LATENCY_BUCKETS - 1)
}

impl CommandStat {
    pub fn record(&self, usec: u64, failed: bool) {
        self.add_totals(1, usec, u64::from(failed));
        self.latency[latency_bucket(usec)].fetch_add(1, Ordering::Relaxed);
    }

    /// Adds calls, their time and their failures to the totals.
    fn add_totals(&self, calls: u64, usec: u64, failed: u64) {
        if calls > 0 {
            self.calls.fetch_add(calls, Ordering::Relaxed);
        }
        self.usec.fetch_add(usec, Ordering::Relaxed);
        if failed > 0 {
            self.failed.fetch_add(failed, Ordering::Relaxed);
        }
    }

    /// Records a blocked command's re-run after a wake-up. Redis counts a blocking call
    /// once (its first run counted it), so a re-run adds only its time and, when it is
    /// the run that fails (XREADGROUP answering -NOGROUP), the failure.
    pub fn record_retry(&self, usec: u64, failed: bool) {
        self.add_totals(0, usec, u64::from(failed));
    }

    /// Approximate latency percentile in µs (upper bound of the bucket holding it).
    pub fn latency_percentile(&self, p: f64) -> Option<f64> {
        let counts: Vec<u64> = self
            .latency
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((p / 100.0) * total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, count) in counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Some((1u64 << i) as f64);
            }
        }
        None
    }

    /// Calls per latency bucket (LATENCY HISTOGRAM).
    pub fn latency_buckets(&self) -> Vec<u64> {
        self.latency
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }

    pub fn reset(&self) {
        self.calls.store(0, Ordering::Relaxed);
        self.usec.store(0, Ordering::Relaxed);
        self.failed.store(0, Ordering::Relaxed);
        for bucket in &self.latency {
            bucket.store(0, Ordering::Relaxed);
        }
    }
}

/// Statistics of a pipelined batch's commands, recorded once per run of one command: per
/// command, four to five locked additions to shared counters took half of `run_in`'s
/// samples in a pipelined RPOP (`perf annotate`), and their cache lines move between cores
/// when several I/O threads run batches.
#[derive(Default)]
pub struct BatchStats<'e> {
    run: Option<StatRun<'e>>,
    /// Commands run, for `commands_processed`.
    processed: u64,
}

/// One command's calls in a row.
struct StatRun<'e> {
    stat: &'e CommandStat,
    calls: u64,
    usec: u64,
    failed: u64,
    latency: [u32; LATENCY_BUCKETS],
}

impl<'e> BatchStats<'e> {
    /// Counts one call of the command whose statistics are `stat`.
    pub fn record(&mut self, stat: &'e CommandStat, usec: u64, failed: bool) {
        self.processed += 1;
        if !self
            .run
            .as_ref()
            .is_some_and(|run| std::ptr::eq(run.stat, stat))
        {
            self.flush_run();
            self.run = Some(StatRun {
                stat,
                calls: 0,
                usec: 0,
                failed: 0,
                latency: [0; LATENCY_BUCKETS],
            });
        }
        let run = self.run.as_mut().expect("a run was just started");
        run.calls += 1;
        run.usec += usec;
        run.failed += u64::from(failed);
        run.latency[latency_bucket(usec)] += 1;
    }

    /// Adds the last run's counts to its command's statistics, and returns how many
    /// commands the batch ran (for `commands_processed`).
    pub fn finish(mut self) -> u64 {
        self.flush_run();
        self.processed
    }

    /// Adds the current run's counts to its command's statistics.
    fn flush_run(&mut self) {
        let Some(run) = self.run.take() else {
            return;
        };
        let stat = run.stat;
        stat.add_totals(run.calls, run.usec, run.failed);
        for (bucket, &calls) in run.latency.iter().enumerate() {
            if calls > 0 {
                stat.latency[bucket].fetch_add(u64::from(calls), Ordering::Relaxed);
            }
        }
    }
}

/// A command and its statistics.
#[derive(Debug)]
pub struct Entry {
    pub spec: &'static CommandSpec,
    pub stat: CommandStat,
    /// The subcommands of a container command (CLIENT, CONFIG…), looked up once here:
    /// statistics name the subcommand of every call.
    subcommands: Option<&'static [&'static str]>,
}

impl Entry {
    /// The known subcommand `args[1]` names, for a container command.
    pub fn subcommand(&self, args: &[Bytes]) -> Option<&'static str> {
        super::introspection::subcommand_in(self.subcommands?, args)
    }
}

/// All commands, by lower-case name.
pub struct CommandTable {
    /// Lower-case name bytes → index (foldhash: the lookup runs for every request).
    by_name: foldhash::HashMap<&'static [u8], usize>,
    entries: Vec<Entry>,
}

/// Every command family's table. Adding a family = one line here.
const FAMILIES: &[&[CommandSpec]] = &[
    super::connection::COMMANDS,
    super::acl::COMMANDS,
    super::client_commands::COMMANDS,
    super::server::COMMANDS,
    super::cluster::COMMANDS,
    super::keys::COMMANDS,
    super::dump::COMMANDS,
    super::string::COMMANDS,
    super::bits::COMMANDS,
    super::hll::COMMANDS,
    super::hash::COMMANDS,
    super::list::COMMANDS,
    super::zset::COMMANDS,
    super::geo::COMMANDS,
    super::set::COMMANDS,
    super::sort::COMMANDS,
    super::transaction::COMMANDS,
    super::pubsub::COMMANDS,
    super::stream::COMMANDS,
    super::stream_group::COMMANDS,
    super::ddb::COMMANDS,
    super::script::COMMANDS,
    super::function::COMMANDS,
    super::introspection::COMMANDS,
    super::memory::COMMANDS,
    super::debug::COMMANDS,
    super::monitor::COMMANDS,
];

impl CommandTable {
    pub fn new() -> CommandTable {
        let mut entries: Vec<Entry> = FAMILIES
            .iter()
            .flat_map(|family| family.iter())
            .map(|spec| Entry {
                spec,
                stat: CommandStat::default(),
                subcommands: super::introspection::subcommands_of(spec.name),
            })
            .collect();
        entries.sort_by_key(|e| e.spec.name);
        let mut by_name = foldhash::HashMap::default();
        for (i, entry) in entries.iter().enumerate() {
            let previous = by_name.insert(entry.spec.name.as_bytes(), i);
            assert!(
                previous.is_none(),
                "command {} registered twice",
                entry.spec.name
            );
        }
        CommandTable { by_name, entries }
    }

    /// Looks a command up by name, case-insensitively.
    pub fn get(&self, name: &[u8]) -> Option<&Entry> {
        let mut buf = [0u8; 32];
        if name.len() > buf.len() {
            return None;
        }
        let lower = &mut buf[..name.len()];
        lower.copy_from_slice(name);
        lower.make_ascii_lowercase();
        self.by_name.get(&*lower).map(|&i| &self.entries[i])
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All commands, sorted by name.
    pub fn all(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
    }
}

impl Default for CommandTable {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_is_sane() {
        let table = CommandTable::new();
        assert!(table.len() > 50);
        for spec in table.all().map(|e| e.spec) {
            assert_eq!(spec.name, spec.name.to_ascii_lowercase());
            assert!(spec.arity != 0, "{}", spec.name);
            assert!(!spec.summary.is_empty(), "{}", spec.name);
            assert!(
                !(spec.has(Flag::Write) && spec.has(Flag::ReadOnly)),
                "{}",
                spec.name
            );
        }
        assert!(table.get(b"GeT").is_some());
    }

    #[test]
    fn key_positions_follow_first_last_step() {
        let table = CommandTable::new();
        let mset = table.get(b"mset").unwrap().spec;
        assert_eq!(mset.key_positions(5), vec![1, 3]);
        let get = table.get(b"get").unwrap().spec;
        assert_eq!(get.key_positions(2), vec![1]);
        let del = table.get(b"del").unwrap().spec;
        assert_eq!(del.key_positions(4), vec![1, 2, 3]);
    }

    #[test]
    fn offload_marker_is_internal() {
        let table = CommandTable::new();
        for name in [
            &b"flushall"[..],
            b"flushdb",
            b"save",
            b"keys",
            b"ddb.deletetable",
        ] {
            let spec = table.get(name).unwrap().spec;
            assert!(spec.has(Flag::Offload), "{}", spec.name);
            let Reply::Array(info) = spec.info_reply() else {
                panic!("COMMAND INFO entry is an array");
            };
            let Reply::Set(flags) = &info[2] else {
                panic!("flags are a set");
            };
            assert_eq!(flags.len(), spec.flags.len() - 1, "{}", spec.name);
        }
        for name in [&b"get"[..], b"set", b"ping", b"exec", b"ddb.putitem"] {
            assert!(!table.get(name).unwrap().spec.has(Flag::Offload));
        }
    }
}
