//! An ACL user: enabled or not, passwords (SHA-256 hashes), and selectors.

use sha2::{Digest, Sha256};

use super::commands::CommandIndex;
use super::selector::{KeyAccess, PubsubDefault, Selector};
use super::RuleError;

#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub enabled: bool,
    pub nopass: bool,
    /// Lower-case hex SHA-256 of each password, in the order added.
    pub passwords: Vec<String>,
    /// The passwords given in clear text (`>pass`, `requirepass`), in memory only: AWS
    /// Signature V4 (the DynamoDB HTTP API) needs the secret itself, not its hash. A
    /// password given only as a hash (`#…`, ACL files) cannot sign HTTP requests.
    pub secrets: Vec<Vec<u8>>,
    pub root: Selector,
    /// Extra selectors: a request is allowed when the root or any of these allows it.
    pub selectors: Vec<Selector>,
    /// `sanitize-payload` or `skip-sanitize-payload` when one was given (no effect).
    pub payload_flag: Option<&'static str>,
    /// Cached: the root selector allows every command, key and channel.
    unrestricted: bool,
}

/// Why a request is denied, in Redis's order of relevance (a later kind wins when several
/// selectors deny for different reasons).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Denied {
    Command,
    Key(Vec<u8>),
    Channel(Vec<u8>),
}

/// What one request touches, for the permission check.
#[derive(Debug, Default)]
pub struct Request<'a> {
    /// Id of the command or subcommand in the [`CommandIndex`].
    pub command: usize,
    /// Commands that run before AUTH (AUTH, HELLO, QUIT…) are allowed to every user, as in
    /// Redis: a user must always be able to switch to another.
    pub no_auth: bool,
    /// The first argument (`SELECT 0` with `+select|0`).
    pub first_arg: Option<&'a [u8]>,
    /// The keys and what the command does to each (read, write or both: LMOVE reads and
    /// deletes from its source, only inserts into its destination).
    pub keys: Vec<(std::borrow::Cow<'a, [u8]>, KeyAccess)>,
    pub channels: Vec<&'a [u8]>,
    /// The channels are patterns (PSUBSCRIBE).
    pub channel_patterns: bool,
}

pub fn hash_password(password: &[u8]) -> String {
    Sha256::digest(password)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn valid_hash(hash: &[u8]) -> bool {
    hash.len() == 64 && hash.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

impl User {
    /// A user as ACL SETUSER creates it: off, no passwords, no keys, no commands, and the
    /// channels `acl-pubsub-default` gives.
    pub fn new(name: &str, index: &CommandIndex, pubsub: PubsubDefault) -> User {
        User {
            name: name.to_string(),
            enabled: false,
            nopass: false,
            passwords: Vec::new(),
            secrets: Vec::new(),
            root: Selector::new(index, pubsub),
            selectors: Vec::new(),
            payload_flag: None,
            unrestricted: false,
        }
    }

    /// Redis's `default` user: on, nopass, every key, channel and command (every channel
    /// whatever `acl-pubsub-default` says, as in Redis).
    pub fn default_user(index: &CommandIndex) -> User {
        let pubsub = PubsubDefault::AllChannels;
        let mut user = User::new("default", index, pubsub);
        for rule in ["on", "nopass", "~*", "&*", "+@all"] {
            user.apply(rule.as_bytes(), index, pubsub)
                .expect("the default user's rules are valid");
        }
        user
    }

    /// Applies one ACL SETUSER rule; `pubsub` is the channel default of `reset` and of a
    /// new selector.
    pub fn apply(
        &mut self,
        op: &[u8],
        index: &CommandIndex,
        pubsub: PubsubDefault,
    ) -> Result<(), RuleError> {
        self.apply_rule(op, index, pubsub)?;
        self.unrestricted = self.root.is_unrestricted(index);
        Ok(())
    }

    fn apply_rule(
        &mut self,
        op: &[u8],
        index: &CommandIndex,
        pubsub: PubsubDefault,
    ) -> Result<(), RuleError> {
        if op.is_empty() {
            return Ok(());
        }
        let lower = String::from_utf8_lossy(op).to_ascii_lowercase();
        match lower.as_str() {
            "on" => self.enabled = true,
            "off" => self.enabled = false,
            // RESTORE payloads are always checked by redyn; the flags are only recorded
            // (ACL LIST and GETUSER show them, as Redis does).
            "skip-sanitize-payload" => self.payload_flag = Some("skip-sanitize-payload"),
            "sanitize-payload" => self.payload_flag = Some("sanitize-payload"),
            "nopass" => {
                self.nopass = true;
                self.passwords.clear();
                self.secrets.clear();
            }
            "resetpass" => {
                self.nopass = false;
                self.passwords.clear();
                self.secrets.clear();
            }
            "clearselectors" => self.selectors.clear(),
            "reset" => {
                for rule in [
                    "resetpass",
                    "resetkeys",
                    pubsub.as_str(),
                    "off",
                    "sanitize-payload",
                    "clearselectors",
                    "-@all",
                ] {
                    self.apply_rule(rule.as_bytes(), index, pubsub)?;
                }
            }
            _ => match op[0] {
                b'>' | b'#' => self.add_password(op)?,
                b'<' | b'!' => self.remove_password(op)?,
                b'(' if op.ends_with(b")") => {
                    self.add_selector(&op[1..op.len() - 1], index, pubsub)?
                }
                _ => self.root.apply(index, op)?,
            },
        }
        Ok(())
    }

    fn password_hash(op: &[u8]) -> Result<String, RuleError> {
        if matches!(op[0], b'>' | b'<') {
            return Ok(hash_password(&op[1..]));
        }
        if !valid_hash(&op[1..]) {
            return Err(RuleError::BadHash);
        }
        Ok(String::from_utf8_lossy(&op[1..]).into_owned())
    }

    fn add_password(&mut self, op: &[u8]) -> Result<(), RuleError> {
        let hash = Self::password_hash(op)?;
        if !self.passwords.contains(&hash) {
            self.passwords.push(hash);
        }
        if op[0] == b'>' && !self.secrets.iter().any(|s| s[..] == op[1..]) {
            self.secrets.push(op[1..].to_vec());
        }
        self.nopass = false;
        Ok(())
    }

    fn remove_password(&mut self, op: &[u8]) -> Result<(), RuleError> {
        let hash = Self::password_hash(op)?;
        let before = self.passwords.len();
        self.passwords.retain(|p| *p != hash);
        self.secrets.retain(|s| hash_password(s) != hash);
        if self.passwords.len() == before {
            return Err(RuleError::NoSuchPassword);
        }
        Ok(())
    }

    fn add_selector(
        &mut self,
        body: &[u8],
        index: &CommandIndex,
        pubsub: PubsubDefault,
    ) -> Result<(), RuleError> {
        let mut selector = Selector::new(index, pubsub);
        for op in body.split(|c| *c == b' ').filter(|op| !op.is_empty()) {
            selector.apply(index, op)?;
        }
        self.selectors.push(selector);
        Ok(())
    }

    /// Whether `password` authenticates this user (any password does with nopass).
    pub fn password_matches(&self, password: &[u8]) -> bool {
        if self.nopass {
            return true;
        }
        let hash = hash_password(password);
        self.passwords.contains(&hash)
    }

    /// Whether the root selector allows everything (checks can be skipped).
    pub fn is_unrestricted(&self) -> bool {
        self.unrestricted
    }

    /// Checks a request: allowed when the root selector or any other allows it all.
    pub fn check(&self, request: &Request) -> Result<(), Denied> {
        if self.unrestricted {
            return Ok(());
        }
        let mut relevant = Denied::Command;
        for selector in std::iter::once(&self.root).chain(&self.selectors) {
            match check_selector(selector, request) {
                Ok(()) => return Ok(()),
                Err(denied) => relevant = relevant.max(denied),
            }
        }
        Err(relevant)
    }

    /// The user's rules as ACL LIST prints them (after `user <name> `).
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self.flags().into_iter().map(String::from).collect();
        parts.extend(self.passwords.iter().map(|p| format!("#{p}")));
        parts.push(self.root.describe());
        parts.extend(self.selectors.iter().map(|s| format!("({})", s.describe())));
        parts.join(" ")
    }

    /// GETUSER's `flags`.
    pub fn flags(&self) -> Vec<&'static str> {
        let mut flags = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            flags.push("nopass");
        }
        flags.extend(self.payload_flag);
        flags
    }
}

fn check_selector(selector: &Selector, request: &Request) -> Result<(), Denied> {
    if !request.no_auth && !selector.allows_command(request.command, request.first_arg) {
        return Err(Denied::Command);
    }
    if let Some((key, _)) = request
        .keys
        .iter()
        .find(|(key, access)| !selector.allows_key(key, *access))
    {
        return Err(Denied::Key(key.to_vec()));
    }
    if let Some(channel) = request
        .channels
        .iter()
        .find(|c| !selector.allows_channel(c, request.channel_patterns))
    {
        return Err(Denied::Channel(channel.to_vec()));
    }
    Ok(())
}
