//! Redis 7.0's key specs: for each command (and subcommand) where its keys are and what it
//! does to each one (RO/RW/OW/RM, access/update/insert/delete). The data
//! ([`key_specs_data`](super::key_specs_data)) is generated from real redis-server's COMMAND
//! INFO; this file holds its types, the lookup and the replies COMMAND INFO and COMMAND
//! GETKEYSANDFLAGS build from it. Finding the keys of a request is in
//! [`command_keys`](super::command_keys).

use redyn_protocol::Reply;

use super::key_specs_data::COMMAND_KEYS;

/// Key-spec flags (Redis's `CMD_KEY_*`), as a bit set.
pub struct KeyFlags;

impl KeyFlags {
    /// Read-only: the command reads the key's value.
    pub const RO: u16 = 1 << 0;
    /// Read-write: reads and modifies.
    pub const RW: u16 = 1 << 1;
    /// Overwrite: replaces the value without reading it.
    pub const OW: u16 = 1 << 2;
    /// Removes the key.
    pub const RM: u16 = 1 << 3;
    /// Returns, copies or uses the user data of the key.
    pub const ACCESS: u16 = 1 << 4;
    /// Updates the data of an existing value.
    pub const UPDATE: u16 = 1 << 5;
    /// Adds data, never modifies or deletes existing data.
    pub const INSERT: u16 = 1 << 6;
    /// Deletes data out of the value.
    pub const DELETE: u16 = 1 << 7;
    /// Not really a key (a cluster slot hint, as in SORT's BY patterns).
    pub const NOT_KEY: u16 = 1 << 8;
    /// The spec may not find every key: the command has a key-finding procedure.
    pub const INCOMPLETE: u16 = 1 << 9;
    /// The flags depend on the arguments (SET with or without GET).
    pub const VARIABLE_FLAGS: u16 = 1 << 10;

    /// Flag names in the order Redis prints them (`addReplyFlagsForKeyArgs`).
    const NAMES: [(u16, &'static str); 11] = [
        (Self::RO, "RO"),
        (Self::RW, "RW"),
        (Self::OW, "OW"),
        (Self::RM, "RM"),
        (Self::ACCESS, "access"),
        (Self::UPDATE, "update"),
        (Self::INSERT, "insert"),
        (Self::DELETE, "delete"),
        (Self::NOT_KEY, "not_key"),
        (Self::INCOMPLETE, "incomplete"),
        (Self::VARIABLE_FLAGS, "variable_flags"),
    ];

    /// The names of the flags set in `flags`, in Redis's order.
    pub fn names(flags: u16) -> Vec<&'static str> {
        Self::NAMES
            .iter()
            .filter(|(bit, _)| flags & bit != 0)
            .map(|(_, name)| *name)
            .collect()
    }

    /// The flags as a RESP set of simple strings (COMMAND INFO, GETKEYSANDFLAGS).
    pub fn reply(flags: u16) -> Reply {
        Reply::Set(
            Self::names(flags)
                .into_iter()
                .map(|n| Reply::Simple(n.to_string().into()))
                .collect(),
        )
    }

    /// What ACL's `%R~`/`%W~` patterns must cover for a key with `flags`
    /// (`ACLSelectorCheckKey`): reading its data is a read; inserting, deleting or
    /// updating is a write. RO/RW/OW/RM alone ask for neither (EXISTS reads no data).
    pub fn access(flags: u16) -> (bool, bool) {
        let read = flags & Self::ACCESS != 0;
        let write = flags & (Self::INSERT | Self::DELETE | Self::UPDATE) != 0;
        (read, write)
    }
}

/// Where the search for a spec's keys begins.
#[derive(Debug, Clone, Copy)]
pub enum Begin {
    /// At this argument.
    Index(i32),
    /// After this keyword, searched from the given argument (negative: from the end,
    /// backwards).
    Keyword(&'static str, i32),
    /// Only the command's own procedure knows (SORT's STORE).
    Unknown,
}

/// How the keys are found from where the search began.
#[derive(Debug, Clone, Copy)]
pub enum Find {
    /// `last` relative to the start (negative: from the end), every `step`; with a
    /// `limit`, only 1/limit of what remains (XREAD's keys before their IDs).
    Range {
        last: i32,
        step: i32,
        limit: i32,
    },
    /// The number of keys is at `numkeys_at`, the first key at `first` (both relative).
    Keynum {
        numkeys_at: i32,
        first: i32,
        step: i32,
    },
    Unknown,
}

/// One key spec.
#[derive(Debug)]
pub struct KeySpecDef {
    /// Redis's explanatory note (empty = none).
    pub notes: &'static str,
    pub flags: u16,
    pub begin: Begin,
    pub find: Find,
}

/// A command's (or `container|sub` subcommand's) key specs.
#[derive(Debug)]
pub struct CommandKeys {
    pub name: &'static str,
    pub arity: i32,
    /// Redis flags the command `movablekeys` (its keys are not at fixed positions).
    pub movable: bool,
    /// The command may legitimately name no keys (EVAL with numkeys 0).
    pub no_mandatory_keys: bool,
    pub specs: &'static [KeySpecDef],
}

impl CommandKeys {
    /// Some spec names real keys.
    pub fn has_keys(&self) -> bool {
        self.specs.iter().any(|s| s.flags & KeyFlags::NOT_KEY == 0)
    }

    /// Some spec's flags depend on the arguments.
    pub fn variable_flags(&self) -> bool {
        self.specs
            .iter()
            .any(|s| s.flags & KeyFlags::VARIABLE_FLAGS != 0)
    }
}

/// The key specs of `name` (lower case; `container|sub` for a subcommand), `None` for a
/// command without keys.
pub fn lookup(name: &str) -> Option<&'static CommandKeys> {
    COMMAND_KEYS
        .binary_search_by(|c| c.name.cmp(name))
        .ok()
        .map(|i| &COMMAND_KEYS[i])
}

/// Whether `container` has subcommands with keys (`memory` for `memory|usage`): a binary
/// search to the rows starting with its name, no allocation (it runs per ACL check).
pub fn has_keyed_subcommands(container: &str) -> bool {
    let start = COMMAND_KEYS.partition_point(|c| c.name < container);
    COMMAND_KEYS[start..]
        .iter()
        .take_while(|c| c.name.starts_with(container))
        .any(|c| c.name.as_bytes().get(container.len()) == Some(&b'|'))
}

fn text(s: &str) -> Reply {
    Reply::text(s)
}

fn int(n: i32) -> Reply {
    Reply::Int(i64::from(n))
}

/// One spec as COMMAND INFO's `key_specifications` shows it.
pub fn spec_reply(spec: &KeySpecDef) -> Reply {
    let (begin_type, begin_spec) = match spec.begin {
        Begin::Index(i) => ("index", vec![(text("index"), int(i))]),
        Begin::Keyword(keyword, from) => (
            "keyword",
            vec![
                (text("keyword"), text(keyword)),
                (text("startfrom"), int(from)),
            ],
        ),
        Begin::Unknown => ("unknown", vec![]),
    };
    let (find_type, find_spec) = match spec.find {
        Find::Range { last, step, limit } => (
            "range",
            vec![
                (text("lastkey"), int(last)),
                (text("keystep"), int(step)),
                (text("limit"), int(limit)),
            ],
        ),
        Find::Keynum {
            numkeys_at,
            first,
            step,
        } => (
            "keynum",
            vec![
                (text("keynumidx"), int(numkeys_at)),
                (text("firstkey"), int(first)),
                (text("keystep"), int(step)),
            ],
        ),
        Find::Unknown => ("unknown", vec![]),
    };
    let mut fields = Vec::new();
    if !spec.notes.is_empty() {
        fields.push((text("notes"), text(spec.notes)));
    }
    fields.push((text("flags"), KeyFlags::reply(spec.flags)));
    fields.push((
        text("begin_search"),
        Reply::Map(vec![
            (text("type"), text(begin_type)),
            (text("spec"), Reply::Map(begin_spec)),
        ]),
    ));
    fields.push((
        text("find_keys"),
        Reply::Map(vec![
            (text("type"), text(find_type)),
            (text("spec"), Reply::Map(find_spec)),
        ]),
    ));
    Reply::Map(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_sorted_for_binary_search() {
        assert!(COMMAND_KEYS.windows(2).all(|w| w[0].name < w[1].name));
        assert!(lookup("lmove").is_some());
        assert!(lookup("memory|usage").is_some());
        assert!(lookup("ping").is_none());
        assert!(has_keyed_subcommands("memory"));
        assert!(has_keyed_subcommands("xgroup"));
        assert!(!has_keyed_subcommands("mem"));
        assert!(!has_keyed_subcommands("get"));
    }

    #[test]
    fn flag_names_follow_redis_order() {
        let lmove = lookup("lmove").unwrap();
        assert_eq!(
            KeyFlags::names(lmove.specs[0].flags),
            ["RW", "access", "delete"]
        );
        assert_eq!(KeyFlags::access(lmove.specs[1].flags), (false, true));
        let exists = lookup("exists").unwrap();
        assert_eq!(KeyFlags::access(exists.specs[0].flags), (false, false));
    }
}
