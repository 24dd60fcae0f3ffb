//! Server configuration. Each setting is declared once, in [`table::SETTINGS`] (settings
//! with effect) or [`compat::COMPAT`] (accepted for Redis compatibility); the command line,
//! the config file (`redis.conf` syntax), the defaults and CONFIG GET/SET/REWRITE are all
//! driven by those tables.

mod cli;
mod compat;
pub mod logging;
pub mod open_files;
pub mod table;
pub mod tls;
pub mod values;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use redyn_protocol::glob::glob_match;
use redyn_protocol::request::split_args;

pub use cli::Cli;
pub use table::{Access, Setting};
pub use values::OutputLimits;

use crate::engine::autoscale::AutoscaleConfig;
use crate::engine::AppendFsync;
use crate::stream::pubsub::OutputLimit;

/// Settings CONFIG GET reports only when asked by exact name, never for a pattern (Redis's
/// `HIDDEN_CONFIG` debugging knobs).
const HIDDEN: &[&str] = &["key-load-delay", "rdb-key-save-delay"];

/// Every setting: those with effect first, then the compatibility ones.
pub fn all_settings() -> impl Iterator<Item = &'static Setting> {
    table::SETTINGS
        .iter()
        .chain(tls::SETTINGS.iter())
        .chain(compat::COMPAT.iter())
}

/// The setting called `name` (canonical name or alias, any case).
pub fn lookup(name: &str) -> Option<&'static Setting> {
    all_settings().find(|s| s.answers_to(name))
}

/// The effective configuration. Fields are read directly by the parts of the server they
/// configure; they are written only through the settings table.
#[derive(Debug, Clone)]
pub struct Config {
    pub port: u16,
    pub bind: String,
    pub dir: PathBuf,
    pub appendfsync: AppendFsync,
    pub requirepass: Option<String>,
    /// `aclfile`: the users file (ACL LOAD/SAVE); it overrides `requirepass`.
    pub aclfile: Option<PathBuf>,
    /// `user <name> <rules...>` lines of the config file, in order (not with `aclfile`).
    pub user_lines: Vec<(usize, Vec<Vec<u8>>)>,
    /// `acl-pubsub-default`: the channels of users created from now on.
    pub acl_pubsub_default: crate::acl::PubsubDefault,
    pub shards: usize,
    pub maxclients: usize,
    /// Without a password for the default user, refuse clients that are not on loopback.
    pub protected_mode: bool,
    pub proto_max_bulk_len: usize,
    /// Free space below which writes are refused (see `engine::disk`).
    pub disk_reserve: u64,
    /// `maxmemory`: the budget for caches and memtables (see `engine::budget`; 0 = default).
    pub maxmemory: u64,
    /// Average fjall point-read time (µs) from which read commands read their keys off the
    /// network thread first (see `engine::disk_reads`; 0 = always).
    pub disk_read_threshold_us: u64,
    pub notify_keyspace_events: String,
    /// `client-output-buffer-limit` (only the pub/sub class is enforced).
    pub output_limits: OutputLimits,
    /// How long change-log records are kept (`changelog-retention`, seconds; 0 = forever).
    pub changelog_retention_secs: u64,
    pub loglevel: String,
    /// Idle seconds after which a client is disconnected (0 = never).
    pub timeout: u64,
    pub databases: u32,
    /// Tokio worker threads serving connections.
    pub io_threads: usize,
    /// `None` = metrics endpoint off.
    pub metrics_addr: Option<String>,
    /// Port of the DynamoDB HTTP API (`None` = off; 0 = a free port, replaced by the real
    /// one at start).
    pub dynamodb_port: Option<u16>,
    pub autoscale: AutoscaleConfig,
    /// The file the configuration was read from (CONFIG REWRITE writes it back).
    pub config_file: Option<PathBuf>,
    /// Values of the compatibility settings, by canonical name.
    pub compat: BTreeMap<&'static str, String>,
    /// `set-max-intset-entries` (a compatibility setting) parsed: every SADD reads it (for
    /// OBJECT ENCODING), and a name lookup and parse per command cost 500 instructions.
    pub set_max_intset_entries: u64,
    /// The `tls-*` settings and the TLS configuration built from them.
    pub tls: tls::TlsSettings,
}

/// Why CONFIG SET refused a request; `Display` is Redis's error text (without `ERR `).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetError {
    Unknown(String),
    Failed { arg: String, reason: String },
}

impl std::fmt::Display for SetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SetError::Unknown(name) => write!(
                f,
                "Unknown option or number of arguments for CONFIG SET - '{name}'"
            ),
            SetError::Failed { arg, reason } => write!(
                f,
                "CONFIG SET failed (possibly related to argument '{arg}') - {reason}"
            ),
        }
    }
}

impl Default for Config {
    /// Every setting at its table default.
    fn default() -> Self {
        let mut config = Config::unset();
        for setting in all_settings() {
            config
                .store(setting, setting.default)
                .unwrap_or_else(|e| panic!("default of {} is invalid: {e}", setting.name));
        }
        config
    }
}

impl Config {
    /// The struct before the table defaults are applied (see `Default`).
    fn unset() -> Config {
        Config {
            port: 0,
            bind: String::new(),
            dir: PathBuf::new(),
            appendfsync: AppendFsync::EverySec,
            requirepass: None,
            aclfile: None,
            user_lines: Vec::new(),
            acl_pubsub_default: Default::default(),
            shards: 1,
            maxclients: 1,
            protected_mode: true,
            proto_max_bulk_len: 0,
            disk_reserve: 0,
            maxmemory: 0,
            disk_read_threshold_us: 0,
            notify_keyspace_events: String::new(),
            output_limits: OutputLimits {
                normal: OutputLimit::default(),
                replica: OutputLimit::default(),
                pubsub: OutputLimit::default(),
            },
            changelog_retention_secs: 0,
            loglevel: String::new(),
            timeout: 0,
            databases: 16,
            io_threads: 1,
            metrics_addr: None,
            dynamodb_port: None,
            autoscale: AutoscaleConfig::default(),
            config_file: None,
            compat: BTreeMap::new(),
            set_max_intset_entries: 0,
            tls: tls::TlsSettings::default(),
        }
    }

    /// Builds the configuration: defaults, then the config file, then command-line flags.
    pub fn from_cli(cli: Cli) -> Result<Config, String> {
        let mut config = Config::default();
        if let Some(path) = &cli.config_file {
            config.load_file(path)?;
            config.config_file = Some(path.clone());
        }
        for (name, value) in &cli.settings {
            config
                .set(name, value)
                .map_err(|e| format!("--{name} {value}: {e}"))?;
        }
        config
            .tls
            .reload()
            .map_err(|e| format!("Failed to configure TLS: {e}"))?;
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
            let Some((name, values)) = args.split_first() else {
                continue;
            };
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            if name == "user" {
                // ACL users: applied by the server at start-up (see `crate::acl::file`).
                self.user_lines.push((lineno + 1, args.to_vec()));
                continue;
            }
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

    /// Sets one setting at start-up (config file, flags): immutable ones included.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let setting = lookup(name).ok_or("Bad directive or wrong number of arguments")?;
        self.store(setting, value)
    }

    /// Validates `value` and writes it through the setting's accessor.
    fn store(&mut self, setting: &'static Setting, value: &str) -> Result<(), String> {
        match &setting.access {
            Access::Field { set, .. } => set(self, value),
            Access::Compat(kind) => {
                let value = kind.normalize(value)?;
                if setting.name == "set-max-intset-entries" {
                    self.set_max_intset_entries = value.parse().unwrap_or(u64::MAX);
                }
                self.compat.insert(setting.name, value);
                Ok(())
            }
        }
    }

    /// The value of `setting` as CONFIG GET reports it.
    pub fn value_of(&self, setting: &Setting) -> String {
        match &setting.access {
            Access::Field { get, .. } => get(self),
            Access::Compat(_) => self.compat.get(setting.name).cloned().unwrap_or_default(),
        }
    }

    /// Value of one setting (name or alias) as CONFIG GET reports it.
    pub fn get(&self, name: &str) -> Option<String> {
        lookup(name).map(|s| self.value_of(s))
    }

    /// All `(name, value)` pairs CONFIG GET answers for `pattern`: a plain name (or alias)
    /// answers under the name asked for; a glob matches names and aliases alike, as in
    /// Redis 7.
    pub fn get_matching(&self, pattern: &str) -> Vec<(String, String)> {
        let is_glob = pattern.contains(['*', '?', '[']);
        if !is_glob {
            return lookup(pattern)
                .map(|s| vec![(pattern.to_ascii_lowercase(), self.value_of(s))])
                .unwrap_or_default();
        }
        all_settings()
            .filter(|s| !HIDDEN.contains(&s.name))
            .flat_map(|s| s.names().map(move |name| (name, s)))
            .filter(|(name, _)| glob_match(pattern.as_bytes(), name.as_bytes(), true))
            .map(|(name, s)| (name.to_string(), self.value_of(s)))
            .collect()
    }

    /// CONFIG SET: all pairs or none. Unknown names are reported first, then immutable or
    /// repeated settings, then the first invalid value — the order Redis 7 checks in.
    pub fn set_runtime(&mut self, pairs: &[(String, String)]) -> Result<(), SetError> {
        if let Some((name, _)) = pairs.iter().find(|(name, _)| lookup(name).is_none()) {
            return Err(SetError::Unknown(name.clone()));
        }
        let settings: Vec<&'static Setting> = pairs
            .iter()
            .map(|(name, _)| lookup(name).expect("checked above"))
            .collect();
        for (i, ((name, value), setting)) in pairs.iter().zip(&settings).enumerate() {
            let reason = if !setting.mutable && !self.keeps_own_fixed(setting, value) {
                "can't set immutable config"
            } else if settings[..i].iter().any(|s| std::ptr::eq(*s, *setting)) {
                "duplicate parameter"
            } else {
                continue;
            };
            return Err(SetError::Failed {
                arg: name.clone(),
                reason: reason.into(),
            });
        }
        let mut updated = self.clone();
        for ((name, value), setting) in pairs.iter().zip(settings) {
            updated
                .store(setting, value)
                .map_err(|reason| SetError::Failed {
                    arg: name.clone(),
                    reason,
                })?;
        }
        reload_tls_if_changed(&mut updated, pairs)?;
        if updated.maxclients > self.maxclients {
            let fit = open_files::fit_maxclients(updated.maxclients);
            if fit.maxclients < updated.maxclients {
                return Err(SetError::Failed {
                    arg: "maxclients".into(),
                    reason: format!(
                        "The operating system is not able to handle the specified number of clients, try with {}",
                        fit.maxclients
                    ),
                });
            }
        }
        *self = updated;
        Ok(())
    }

    /// Whether CONFIG SET of `value` leaves one of redyn's own start-up settings as it is.
    /// Redis has no such names, so a tool writing back all of CONFIG GET * (Redis's own
    /// test suite does) must not fail on them; another value is refused as immutable.
    fn keeps_own_fixed(&self, setting: &'static Setting, value: &str) -> bool {
        if !FIXED_OWN_SETTINGS.contains(&setting.name) {
            return false;
        }
        let mut probe = self.clone();
        probe.store(setting, value).is_ok() && probe.value_of(setting) == self.value_of(setting)
    }

    /// The config file CONFIG REWRITE writes over `old` (the file's current text), as Redis's
    /// `rewriteConfig` does: every line is kept (comments, blank lines, `user` lines,
    /// directives it does not know) except that a setting's first line is replaced by its
    /// current value and its repeated lines are dropped; settings the file lacks are
    /// appended after `# Generated by CONFIG REWRITE` when they differ from the default.
    pub fn rewrite_file_text(&self, old: &str) -> String {
        let mut seen: Vec<&'static str> = Vec::new();
        let mut lines: Vec<String> = Vec::new();
        for line in old.lines() {
            match setting_of_line(line) {
                Some(setting) if seen.contains(&setting.name) => {}
                Some(setting) => {
                    seen.push(setting.name);
                    lines.push(self.file_line(setting));
                }
                None => lines.push(line.to_string()),
            }
        }
        let defaults = Config::default();
        let missing: Vec<String> = all_settings()
            .filter(|s| !seen.contains(&s.name) && !HIDDEN.contains(&s.name))
            .filter(|s| self.value_of(s) != defaults.value_of(s))
            .map(|s| self.file_line(s))
            .collect();
        if !missing.is_empty() && !lines.iter().any(|l| l == REWRITE_SIGNATURE) {
            lines.push(REWRITE_SIGNATURE.to_string());
        }
        lines.extend(missing);
        let mut text = lines.join("\n");
        text.push('\n');
        text
    }

    /// `name value` as the config file holds it; the value is quoted when reading it back
    /// word by word would change it (empty, quotes, `#`, or irregular spacing).
    fn file_line(&self, setting: &Setting) -> String {
        let value = self.value_of(setting);
        let plain = !value.is_empty()
            && !value.contains(['"', '\'', '\\', '#'])
            && value.split_whitespace().collect::<Vec<_>>().join(" ") == value;
        if plain {
            format!("{} {value}", setting.name)
        } else {
            let quoted = value.replace('\\', "\\\\").replace('"', "\\\"");
            format!("{} \"{quoted}\"", setting.name)
        }
    }
}

/// The line Redis puts before the settings CONFIG REWRITE appends.
const REWRITE_SIGNATURE: &str = "# Generated by CONFIG REWRITE";

/// The setting a config file line sets (by name or alias), if it is one.
fn setting_of_line(line: &str) -> Option<&'static Setting> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let args = split_args(line.as_bytes())?;
    lookup(&String::from_utf8_lossy(args.first()?))
}

/// redyn's own settings fixed at start-up (see [`Config::keeps_own_fixed`]).
const FIXED_OWN_SETTINGS: &[&str] = &["shards", "metrics-addr", "dynamodb-port"];

/// After CONFIG SET of any `tls-*` setting, loads the certificates again (Redis reloads
/// them even when the file names are unchanged).
fn reload_tls_if_changed(config: &mut Config, pairs: &[(String, String)]) -> Result<(), SetError> {
    let Some((name, _)) = pairs
        .iter()
        .find(|(name, _)| lookup(name).is_some_and(|s| s.name.starts_with("tls-")))
    else {
        return Ok(());
    };
    config.tls.reload().map_err(|reason| {
        tracing::warn!("Failed to update TLS configuration: {reason}");
        SetError::Failed {
            arg: name.clone(),
            reason: tls::RELOAD_FAILED.into(),
        }
    })
}

#[cfg(test)]
mod tests;
