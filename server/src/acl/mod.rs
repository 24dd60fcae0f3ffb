//! Access control as Redis 7.0 has it: users with passwords, and per user which commands
//! (by name, subcommand or category), keys and pub/sub channels they may use.
//!
//! - [`category`]: the categories and how a command's follow from its group and flags;
//! - [`commands`]: the command ids permission bitmaps are indexed by;
//! - [`selector`]: one set of command/key/channel rules and its checks;
//! - [`user`]: users, passwords, ACL SETUSER rules, the permission check;
//! - [`log`]: the ACL LOG ring;
//! - [`file`]: the aclfile (ACL LOAD/SAVE) and `user` lines of the config file.
//!
//! [`Acl`] holds the users. A client keeps an `Arc` of its user in a [`Session`] and
//! re-reads it only when the generation counter moved (any ACL change bumps it), so the
//! per-command cost for a user allowed everything is one atomic load and a flag test.

pub mod category;
pub mod commands;
pub mod file;
pub mod log;
pub mod selector;
pub mod user;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

pub use commands::{CommandDecl, CommandIndex};
pub use selector::{KeyAccess, PubsubDefault};
pub use user::{Denied, Request, User};

/// Why an ACL rule was refused; `Display` is Redis's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleError {
    Syntax,
    UnknownCommand,
    KeyAfterAll,
    ChannelAfterAll,
    NoSuchPassword,
    BadHash,
    FirstArgOfSubcommand,
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RuleError::Syntax => "Syntax error",
            RuleError::UnknownCommand => "Unknown command or category name in ACL",
            RuleError::KeyAfterAll => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
            RuleError::ChannelAfterAll => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
            RuleError::NoSuchPassword => "The password you are trying to remove from the user does not exist",
            RuleError::BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
            RuleError::FirstArgOfSubcommand => "Allowing first-arg of a subcommand is not supported",
        })
    }
}

/// A rule refused while setting up a user: which rule, and why.
#[derive(Debug, Clone)]
pub struct SetUserError {
    pub rule: String,
    pub error: RuleError,
}

/// The users and the ACL LOG.
pub struct Acl {
    pub index: CommandIndex,
    users: RwLock<BTreeMap<String, Arc<User>>>,
    generation: AtomicU64,
    pub log: log::AclLog,
    /// The `requirepass` value last applied to the default user (`None` = never), so
    /// CONFIG SET of another setting does not undo ACL SETUSER default.
    applied_requirepass: Mutex<Option<Option<String>>>,
    /// `acl-pubsub-default` is `allchannels` (read when a user or selector is created).
    pubsub_all_channels: AtomicBool,
}

impl Acl {
    /// Only the `default` user, allowed everything without a password.
    pub fn new(index: CommandIndex) -> Acl {
        let default = User::default_user(&index);
        Acl {
            users: RwLock::new(BTreeMap::from([(default.name.clone(), Arc::new(default))])),
            index,
            generation: AtomicU64::new(1),
            log: Default::default(),
            applied_requirepass: Mutex::new(None),
            pubsub_all_channels: AtomicBool::new(false),
        }
    }

    /// Sets `acl-pubsub-default` for users and selectors created from now on; existing
    /// users keep their channels, as in Redis.
    pub fn set_pubsub_default(&self, pubsub: PubsubDefault) {
        self.pubsub_all_channels
            .store(pubsub == PubsubDefault::AllChannels, Ordering::Relaxed);
    }

    pub fn pubsub_default(&self) -> PubsubDefault {
        if self.pubsub_all_channels.load(Ordering::Relaxed) {
            PubsubDefault::AllChannels
        } else {
            PubsubDefault::ResetChannels
        }
    }

    /// A new user (ACL SETUSER of an unknown name, an aclfile line).
    pub fn new_user(&self, name: &str) -> User {
        User::new(name, &self.index, self.pubsub_default())
    }

    /// Applies one ACL SETUSER rule to `user` under the current settings.
    pub fn apply_rule(&self, user: &mut User, rule: &[u8]) -> Result<(), RuleError> {
        user.apply(rule, &self.index, self.pubsub_default())
    }

    /// Bumped by every change of a user.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    pub fn user(&self, name: &str) -> Option<Arc<User>> {
        self.users.read().get(name).cloned()
    }

    pub fn default_user(&self) -> Arc<User> {
        self.user("default")
            .expect("the default user always exists")
    }

    /// All users, by name.
    pub fn users(&self) -> Vec<Arc<User>> {
        self.users.read().values().cloned().collect()
    }

    /// Creates `name` or changes it by `rules` (all or none are applied). Returns the user
    /// as it was before (`None` if new) and as it is now.
    pub fn set_user(
        &self,
        name: &str,
        rules: &[&[u8]],
    ) -> Result<(Option<Arc<User>>, Arc<User>), SetUserError> {
        let mut users = self.users.write();
        let before = users.get(name).cloned();
        let mut user = match &before {
            Some(existing) => User::clone(existing),
            None => self.new_user(name),
        };
        for rule in rules {
            self.apply_rule(&mut user, rule)
                .map_err(|error| SetUserError {
                    rule: String::from_utf8_lossy(rule).into_owned(),
                    error,
                })?;
        }
        let user = Arc::new(user);
        users.insert(name.to_string(), user.clone());
        drop(users);
        self.changed();
        Ok((before, user))
    }

    /// Deletes users (never `default`, which the caller refuses); returns those deleted.
    pub fn delete_users(&self, names: &[String]) -> Vec<String> {
        let mut users = self.users.write();
        let deleted: Vec<String> = names
            .iter()
            .filter(|name| users.remove(name.as_str()).is_some())
            .cloned()
            .collect();
        drop(users);
        self.changed();
        deleted
    }

    /// Replaces every user (ACL LOAD, start-up); a set without `default` gets a fresh one.
    pub fn replace_users(&self, mut users: BTreeMap<String, User>) {
        users
            .entry("default".into())
            .or_insert_with(|| User::default_user(&self.index));
        *self.users.write() = users.into_iter().map(|(k, v)| (k, Arc::new(v))).collect();
        self.changed();
    }

    /// The user `name` if it is enabled and `password` is one of its passwords.
    pub fn authenticate(&self, name: &[u8], password: &[u8]) -> Option<Arc<User>> {
        let user = self.user(std::str::from_utf8(name).ok()?)?;
        (user.enabled && user.password_matches(password)).then_some(user)
    }

    /// Whether clients must AUTH before running commands (Redis's `authRequired`): the
    /// default user has a password or is disabled.
    pub fn default_requires_auth(&self) -> bool {
        let default = self.default_user();
        !(default.nopass && default.enabled)
    }

    /// Applies `requirepass` to the default user when it changed since last applied:
    /// a password replaces the default user's passwords, an empty one makes it nopass.
    pub fn sync_requirepass(&self, requirepass: &Option<String>) {
        let mut applied = self.applied_requirepass.lock();
        if applied.as_ref() == Some(requirepass) {
            return;
        }
        *applied = Some(requirepass.clone());
        let rules: Vec<Vec<u8>> = match requirepass {
            Some(pass) => vec![b"resetpass".to_vec(), [b">", pass.as_bytes()].concat()],
            None => vec![b"nopass".to_vec()],
        };
        let refs: Vec<&[u8]> = rules.iter().map(Vec::as_slice).collect();
        self.set_user("default", &refs)
            .expect("password rules are always valid");
    }

    /// Notes that `requirepass` must not be applied at start (an aclfile overrides it).
    pub fn ignore_requirepass(&self, requirepass: &Option<String>) {
        *self.applied_requirepass.lock() = Some(requirepass.clone());
    }
}

/// A client's view of its user: the user it authenticated as, re-read when the ACL
/// generation moves.
#[derive(Debug, Clone)]
pub struct Session {
    name: String,
    user: Option<Arc<User>>,
    seen: u64,
}

impl Default for Session {
    /// The `default` user, resolved at first use.
    fn default() -> Self {
        Session {
            name: "default".into(),
            user: None,
            seen: 0,
        }
    }
}

impl Session {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The current definition of the user, or `None` if it was deleted.
    pub fn user(&mut self, acl: &Acl) -> Option<&Arc<User>> {
        let generation = acl.generation();
        if generation != self.seen {
            self.user = acl.user(&self.name);
            self.seen = generation;
        }
        self.user.as_ref()
    }

    /// Switches to `user` (AUTH, HELLO AUTH, RESET).
    pub fn login(&mut self, user: Arc<User>, acl: &Acl) {
        self.name = user.name.clone();
        self.user = Some(user);
        self.seen = acl.generation();
    }
}
