//! A selector: which commands, keys and channels a set of rules allows (Redis 7.0's
//! `aclSelector`). A user has a root selector and optionally more, written `(...)`.

use std::collections::BTreeMap;

use redyn_protocol::glob::glob_match;

use super::category;
use super::commands::CommandIndex;
use super::RuleError;

/// A key pattern and the access it grants (`~p` both, `%R~p` read, `%W~p` write).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPattern {
    pub pattern: Vec<u8>,
    pub read: bool,
    pub write: bool,
}

impl KeyPattern {
    fn describe(&self) -> String {
        let pattern = String::from_utf8_lossy(&self.pattern);
        match (self.read, self.write) {
            (true, true) => format!("~{pattern}"),
            (true, false) => format!("%R~{pattern}"),
            _ => format!("%W~{pattern}"),
        }
    }
}

/// `acl-pubsub-default`: the channels a new user or selector starts with (Redis 7.0's
/// default is none; the `default` user always gets every channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PubsubDefault {
    AllChannels,
    #[default]
    ResetChannels,
}

impl PubsubDefault {
    pub const WORDS: &'static [&'static str] = &["allchannels", "resetchannels"];

    /// From one of [`Self::WORDS`] (already matched case-insensitively).
    pub fn parse(word: &str) -> Option<PubsubDefault> {
        match word {
            "allchannels" => Some(PubsubDefault::AllChannels),
            "resetchannels" => Some(PubsubDefault::ResetChannels),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PubsubDefault::AllChannels => "allchannels",
            PubsubDefault::ResetChannels => "resetchannels",
        }
    }
}

/// What a request needs from a key.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeyAccess {
    pub read: bool,
    pub write: bool,
}

#[derive(Debug, Clone)]
pub struct Selector {
    /// Bit per command id of the [`CommandIndex`].
    allowed: Vec<u64>,
    /// Set only by `+@all`/`allcommands`: commands added later are allowed too, and the
    /// rules are described starting from `+@all`.
    future_commands: bool,
    /// The command rules as given, deduplicated (what ACL LIST shows after `±@all`).
    command_rules: Vec<String>,
    /// `+select|0`: first arguments allowed for an otherwise denied command.
    first_args: BTreeMap<usize, Vec<String>>,
    all_keys: bool,
    keys: Vec<KeyPattern>,
    all_channels: bool,
    channels: Vec<Vec<u8>>,
}

impl Selector {
    /// A selector allowing no command and no key, and every channel or none as
    /// `acl-pubsub-default` says (a new user's, or a new `(...)` selector's).
    pub fn new(index: &CommandIndex, pubsub: PubsubDefault) -> Selector {
        Selector {
            allowed: vec![0; index.len().div_ceil(64)],
            future_commands: false,
            command_rules: Vec::new(),
            first_args: BTreeMap::new(),
            all_keys: false,
            keys: Vec::new(),
            all_channels: pubsub == PubsubDefault::AllChannels,
            channels: Vec::new(),
        }
    }

    /// Whether this selector allows everything (the fast path of the permission check).
    pub fn is_unrestricted(&self, index: &CommandIndex) -> bool {
        self.all_keys && self.all_channels && (0..index.len()).all(|id| self.bit(id))
    }

    fn bit(&self, id: usize) -> bool {
        self.allowed[id / 64] & (1 << (id % 64)) != 0
    }

    fn set_bit(&mut self, id: usize, on: bool) {
        if on {
            self.allowed[id / 64] |= 1 << (id % 64);
        } else {
            self.allowed[id / 64] &= !(1 << (id % 64));
        }
    }

    /// Allows or denies a command and all its subcommands (`ACLChangeSelectorPerm`).
    fn change_perm(&mut self, index: &CommandIndex, id: usize, allow: bool) {
        self.set_bit(id, allow);
        self.first_args.remove(&id);
        for &child in &index.get(id).children {
            self.set_bit(child, allow);
        }
    }

    fn set_all(&mut self, allow: bool) {
        let fill = if allow { u64::MAX } else { 0 };
        self.allowed.iter_mut().for_each(|w| *w = fill);
        self.future_commands = allow;
        self.command_rules.clear();
        self.first_args.clear();
    }

    /// Applies one selector rule (keys, channels, commands).
    pub fn apply(&mut self, index: &CommandIndex, op: &[u8]) -> Result<(), RuleError> {
        let text = String::from_utf8_lossy(op);
        let lower = text.to_ascii_lowercase();
        match lower.as_str() {
            "allkeys" | "~*" => {
                self.all_keys = true;
                self.keys.clear();
            }
            "resetkeys" => {
                self.all_keys = false;
                self.keys.clear();
            }
            "allchannels" | "&*" => {
                self.all_channels = true;
                self.channels.clear();
            }
            "resetchannels" => {
                self.all_channels = false;
                self.channels.clear();
            }
            "allcommands" | "+@all" => self.set_all(true),
            "nocommands" | "-@all" => self.set_all(false),
            _ => match op.first() {
                Some(b'~' | b'%') => self.add_key_pattern(op)?,
                Some(b'&') => self.add_channel(op)?,
                Some(b'+' | b'-') => self.apply_command_rule(index, &lower)?,
                _ => return Err(RuleError::Syntax),
            },
        }
        Ok(())
    }

    fn add_key_pattern(&mut self, op: &[u8]) -> Result<(), RuleError> {
        if self.all_keys {
            return Err(RuleError::KeyAfterAll);
        }
        let (read, write, offset) = if op[0] == b'%' {
            parse_key_flags(op)?
        } else {
            (true, true, 1)
        };
        let pattern = &op[offset..];
        if pattern.iter().any(u8::is_ascii_whitespace) {
            return Err(RuleError::Syntax);
        }
        match self.keys.iter_mut().find(|p| p.pattern == pattern) {
            Some(existing) => {
                existing.read |= read;
                existing.write |= write;
            }
            None => self.keys.push(KeyPattern {
                pattern: pattern.to_vec(),
                read,
                write,
            }),
        }
        Ok(())
    }

    fn add_channel(&mut self, op: &[u8]) -> Result<(), RuleError> {
        if self.all_channels {
            return Err(RuleError::ChannelAfterAll);
        }
        let pattern = &op[1..];
        if pattern.iter().any(u8::is_ascii_whitespace) {
            return Err(RuleError::Syntax);
        }
        if !self.channels.iter().any(|c| c == pattern) {
            self.channels.push(pattern.to_vec());
        }
        Ok(())
    }

    /// `+cmd`, `-cmd`, `+cmd|sub`, `+cmd|firstarg`, `±@category`: sets the bits, then
    /// records the rule for ACL LIST.
    fn apply_command_rule(&mut self, index: &CommandIndex, op: &str) -> Result<(), RuleError> {
        let (name, allow) = self.command_bits(index, op)?;
        self.record_rule(index, &name, allow);
        Ok(())
    }

    /// Changes the command bits for one rule; returns the rule's name as recorded.
    fn command_bits(
        &mut self,
        index: &CommandIndex,
        op: &str,
    ) -> Result<(String, bool), RuleError> {
        let allow = op.starts_with('+');
        let body = &op[1..];
        if let Some(category) = body.strip_prefix('@') {
            if category == "all" {
                self.set_all(allow);
                return Ok((body.to_string(), allow));
            }
            let flag = category::by_name(category).ok_or(RuleError::UnknownCommand)?;
            for (id, info) in index.all() {
                if info.categories & flag != 0 {
                    self.change_perm(index, id, allow);
                }
            }
            return Ok((body.to_string(), allow));
        }
        if !allow || !body.contains('|') {
            let id = index.lookup(body).ok_or(RuleError::UnknownCommand)?;
            self.change_perm(index, id, allow);
            return Ok((index.get(id).fullname.clone(), allow));
        }
        let (command, first_arg) = body.rsplit_once('|').expect("contains |");
        let id = index.lookup(command).ok_or(RuleError::UnknownCommand)?;
        if index.get(id).parent.is_some() {
            return Err(RuleError::FirstArgOfSubcommand);
        }
        if first_arg.is_empty() {
            return Err(RuleError::Syntax);
        }
        if index.get(id).children.is_empty() {
            let args = self.first_args.entry(id).or_default();
            if !args.iter().any(|a| a == first_arg) {
                args.push(first_arg.to_string());
            }
        } else {
            let sub = index.lookup(body).ok_or(RuleError::UnknownCommand)?;
            self.change_perm(index, sub, true);
        }
        Ok((body.to_string(), true))
    }

    /// Records a command rule the way ACL LIST shows it: an earlier rule about the same
    /// command (or its subcommands) is dropped, and the new one is kept only if the rules
    /// would otherwise not reproduce the permissions (so `+get -get` leaves nothing).
    fn record_rule(&mut self, index: &CommandIndex, name: &str, allow: bool) {
        if name == "@all" {
            return;
        }
        self.command_rules.retain(|rule| {
            let existing = &rule[1..];
            !(existing == name
                || (existing.len() > name.len()
                    && existing.starts_with(name)
                    && existing.as_bytes()[name.len()] == b'|'))
        });
        let replayed = self.replay(index);
        if replayed.allowed != self.allowed || replayed.first_args != self.first_args {
            self.command_rules
                .push(format!("{}{name}", if allow { '+' } else { '-' }));
        }
    }

    /// The command permissions the recorded rules give, from `±@all`.
    fn replay(&self, index: &CommandIndex) -> Selector {
        // Only its command bits are used: the channel default does not matter.
        let mut fake = Selector::new(index, PubsubDefault::ResetChannels);
        fake.set_all(self.future_commands);
        for rule in &self.command_rules {
            // Recorded rules were valid when applied and the command set does not change.
            let _ = fake.command_bits(index, rule);
        }
        fake
    }

    /// The command rules as ACL LIST shows them: `+@all`/`-@all` and the recorded rules.
    pub fn describe_commands(&self) -> String {
        let mut out = String::from(if self.future_commands {
            "+@all"
        } else {
            "-@all"
        });
        for rule in &self.command_rules {
            out.push(' ');
            out.push_str(rule);
        }
        out
    }

    /// The key patterns as GETUSER shows them (`~*` for allkeys).
    pub fn describe_keys(&self) -> String {
        if self.all_keys {
            return "~*".into();
        }
        let patterns: Vec<String> = self.keys.iter().map(KeyPattern::describe).collect();
        patterns.join(" ")
    }

    /// The channel patterns as GETUSER shows them.
    pub fn describe_channels(&self) -> String {
        if self.all_channels {
            return "&*".into();
        }
        let patterns: Vec<String> = self
            .channels
            .iter()
            .map(|c| format!("&{}", String::from_utf8_lossy(c)))
            .collect();
        patterns.join(" ")
    }

    /// Keys, channels and commands as ACL LIST shows them.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        let keys = self.describe_keys();
        if !keys.is_empty() {
            parts.push(keys);
        }
        if !self.all_channels {
            parts.push("resetchannels".into());
        }
        let channels = self.describe_channels();
        if !channels.is_empty() {
            parts.push(channels);
        }
        parts.push(self.describe_commands());
        parts.join(" ")
    }

    /// Whether the command (or subcommand) `id` may run with `first_arg`.
    pub fn allows_command(&self, id: usize, first_arg: Option<&[u8]>) -> bool {
        if self.bit(id) {
            return true;
        }
        match (self.first_args.get(&id), first_arg) {
            (Some(allowed), Some(arg)) => allowed
                .iter()
                .any(|a| a.as_bytes().eq_ignore_ascii_case(arg)),
            _ => false,
        }
    }

    /// Whether `key` may be used with `access`.
    pub fn allows_key(&self, key: &[u8], access: KeyAccess) -> bool {
        self.all_keys
            || self.keys.iter().any(|p| {
                (p.read || !access.read)
                    && (p.write || !access.write)
                    && glob_match(&p.pattern, key, false)
            })
    }

    /// Whether `channel` may be used: a channel must match a pattern; a pattern (PSUBSCRIBE)
    /// must equal one.
    pub fn allows_channel(&self, channel: &[u8], is_pattern: bool) -> bool {
        self.all_channels
            || self.channels.iter().any(|p| {
                if is_pattern {
                    p == channel
                } else {
                    glob_match(p, channel, false)
                }
            })
    }

    pub fn all_channels(&self) -> bool {
        self.all_channels
    }
}

/// `%R~`, `%W~`, `%RW~`: (read, write, offset of the pattern).
fn parse_key_flags(op: &[u8]) -> Result<(bool, bool, usize), RuleError> {
    let (mut read, mut write) = (false, false);
    for (i, &c) in op.iter().enumerate().skip(1) {
        match c.to_ascii_uppercase() {
            b'R' if !read => read = true,
            b'W' if !write => write = true,
            b'~' if read || write => return Ok((read, write, i + 1)),
            _ => return Err(RuleError::Syntax),
        }
    }
    Err(RuleError::Syntax)
}
