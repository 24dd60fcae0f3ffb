//! ACL command categories (`@read`, `@keyspace`…): their names, and how a command's
//! categories follow from its documentation group and flags, as Redis 7.0's
//! `setImplicitACLCategories` derives them, plus the few Redis declares explicitly.

/// A set of categories: bit `i` is [`CATEGORIES`]`[i]`.
pub type CategorySet = u32;

/// Every category, in Redis's order (ACL CAT, COMMAND INFO), then redyn's own.
pub const CATEGORIES: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
    // redyn's native tables (DDB.* commands).
    "dynamodb",
];

/// The bit of a category name (without `@`, any case).
pub fn by_name(name: &str) -> Option<CategorySet> {
    CATEGORIES
        .iter()
        .position(|c| c.eq_ignore_ascii_case(name))
        .map(|i| 1 << i)
}

fn bit(name: &str) -> CategorySet {
    by_name(name).unwrap_or_else(|| panic!("unknown ACL category {name}"))
}

fn bits(names: &[&str]) -> CategorySet {
    names.iter().fold(0, |set, name| set | bit(name))
}

/// The names of the categories in `set`, with `@`, in [`CATEGORIES`] order.
pub fn names(set: CategorySet) -> Vec<String> {
    CATEGORIES
        .iter()
        .enumerate()
        .filter(|(i, _)| set & (1 << i) != 0)
        .map(|(_, name)| format!("@{name}"))
        .collect()
}

/// What of a command's flags decides its implicit categories.
#[derive(Debug, Clone, Copy, Default)]
pub struct Traits {
    pub write: bool,
    pub readonly: bool,
    pub admin: bool,
    pub pubsub: bool,
    pub fast: bool,
    pub blocking: bool,
}

/// Redis's `setImplicitACLCategories`: write → @write, readonly → @read (but not for
/// scripting commands), admin → @admin @dangerous, pubsub → @pubsub, fast → @fast (else
/// @slow), blocking → @blocking.
fn implicit(explicit: CategorySet, t: Traits) -> CategorySet {
    let mut set = explicit;
    if t.write {
        set |= bit("write");
    }
    if t.readonly && set & bit("scripting") == 0 {
        set |= bit("read");
    }
    if t.admin {
        set |= bits(&["admin", "dangerous"]);
    }
    if t.pubsub {
        set |= bit("pubsub");
    }
    if t.fast {
        set |= bit("fast");
    }
    if t.blocking {
        set |= bit("blocking");
    }
    if set & bit("fast") == 0 {
        set |= bit("slow");
    }
    set
}

/// The category a documentation group stands for, if any (`server` commands have none of
/// their own; pub/sub commands get @pubsub from their flag).
fn of_group(group: &str) -> CategorySet {
    match group {
        "generic" => bit("keyspace"),
        "sorted_set" => bit("sortedset"),
        "transactions" => bit("transaction"),
        "tables" => bit("dynamodb"),
        "string" | "hash" | "list" | "set" | "bitmap" | "hyperloglog" | "geo" | "stream"
        | "connection" | "scripting" => bit(group),
        _ => 0,
    }
}

/// Commands whose explicit categories differ from their group's: (name, added, removed).
const EXPLICIT: &[(&str, &[&str], &[&str])] = &[
    ("dbsize", &["keyspace"], &[]),
    ("flushall", &["keyspace", "dangerous"], &[]),
    ("flushdb", &["keyspace", "dangerous"], &[]),
    ("info", &["dangerous"], &[]),
    ("keys", &["dangerous"], &[]),
    ("lastsave", &["admin", "dangerous"], &[]),
    ("role", &["admin", "dangerous"], &[]),
    ("restore", &["dangerous"], &[]),
    ("migrate", &["dangerous"], &[]),
    ("swapdb", &["keyspace", "dangerous"], &[]),
    ("monitor", &["admin", "dangerous"], &[]),
    (
        "sort",
        &["set", "sortedset", "list", "dangerous"],
        &["keyspace"],
    ),
    (
        "sort_ro",
        &["set", "sortedset", "list", "dangerous"],
        &["keyspace"],
    ),
    ("wait", &["connection"], &["keyspace"]),
    ("command", &["connection"], &[]),
];

/// The categories of a top-level command. A container (CONFIG, CLIENT…) is only @slow
/// itself: its subcommands carry the categories (see [`of_subcommand`]).
pub fn of_command(name: &str, group: &str, traits: Traits, container: bool) -> CategorySet {
    let mut explicit = if container { 0 } else { of_group(group) };
    if let Some((_, add, remove)) = EXPLICIT.iter().find(|(n, _, _)| *n == name) {
        explicit = (explicit | bits(add)) & !bits(remove);
    }
    if container {
        return implicit(explicit, Traits::default());
    }
    implicit(explicit, traits)
}

/// A container command's subcommands and what distinguishes them: the category all of them
/// share, and which are admin / write / read-only / pub/sub (Redis declares each
/// subcommand's flags; `help` is always none of these).
struct Container {
    name: &'static str,
    family: Option<&'static str>,
    subcommands: &'static [&'static str],
    admin: &'static [&'static str],
    write: &'static [&'static str],
    read: &'static [&'static str],
    pubsub: &'static [&'static str],
}

const ACL_ADMIN: &[&str] = &[
    "users", "getuser", "log", "list", "dryrun", "deluser", "load", "setuser", "save",
];

const CONTAINERS: &[Container] = &[
    Container {
        name: "acl",
        family: None,
        subcommands: &[
            "cat", "deluser", "dryrun", "genpass", "getuser", "help", "list", "load", "log",
            "save", "setuser", "users", "whoami",
        ],
        admin: ACL_ADMIN,
        write: &[],
        read: &[],
        pubsub: &[],
    },
    Container {
        name: "client",
        family: Some("connection"),
        subcommands: &[
            "caching",
            "getname",
            "getredir",
            "help",
            "id",
            "info",
            "kill",
            "list",
            "no-evict",
            "pause",
            "reply",
            "setname",
            "tracking",
            "trackinginfo",
            "unblock",
            "unpause",
        ],
        admin: &["unblock", "pause", "no-evict", "kill", "list", "unpause"],
        write: &[],
        read: &[],
        pubsub: &[],
    },
    Container {
        name: "cluster",
        family: None,
        subcommands: &[
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
        admin: &[
            "addslots",
            "addslotsrange",
            "bumpepoch",
            "count-failure-reports",
            "delslots",
            "delslotsrange",
            "failover",
            "flushslots",
            "forget",
            "meet",
            "replicas",
            "replicate",
            "reset",
            "saveconfig",
            "set-config-epoch",
            "setslot",
            "slaves",
        ],
        write: &[],
        read: &[],
        pubsub: &[],
    },
    Container {
        name: "command",
        family: Some("connection"),
        subcommands: &[
            "count",
            "docs",
            "getkeys",
            "getkeysandflags",
            "help",
            "info",
            "list",
        ],
        admin: &[],
        write: &[],
        read: &[],
        pubsub: &[],
    },
    Container {
        name: "config",
        family: None,
        subcommands: &["get", "help", "resetstat", "rewrite", "set"],
        admin: &["get", "resetstat", "rewrite", "set"],
        write: &[],
        read: &[],
        pubsub: &[],
    },
    Container {
        name: "function",
        family: Some("scripting"),
        subcommands: &[
            "delete", "dump", "flush", "help", "kill", "list", "load", "restore", "stats",
        ],
        admin: &[],
        write: &["restore", "delete", "flush", "load"],
        read: &[],
        pubsub: &[],
    },
    Container {
        name: "latency",
        family: None,
        subcommands: &[
            "doctor",
            "graph",
            "help",
            "histogram",
            "history",
            "latest",
            "reset",
        ],
        admin: &["doctor", "graph", "histogram", "history", "latest", "reset"],
        write: &[],
        read: &[],
        pubsub: &[],
    },
    Container {
        name: "memory",
        family: None,
        subcommands: &["doctor", "help", "malloc-stats", "purge", "stats", "usage"],
        admin: &[],
        write: &[],
        read: &["usage"],
        pubsub: &[],
    },
    Container {
        name: "object",
        family: Some("keyspace"),
        subcommands: &["encoding", "freq", "help", "idletime", "refcount"],
        admin: &[],
        write: &[],
        read: &["encoding", "freq", "idletime", "refcount"],
        pubsub: &[],
    },
    Container {
        name: "pubsub",
        family: None,
        subcommands: &[
            "channels",
            "help",
            "numpat",
            "numsub",
            "shardchannels",
            "shardnumsub",
        ],
        admin: &[],
        write: &[],
        read: &[],
        pubsub: &[
            "channels",
            "numpat",
            "numsub",
            "shardchannels",
            "shardnumsub",
        ],
    },
    Container {
        name: "script",
        family: Some("scripting"),
        subcommands: &["debug", "exists", "flush", "help", "kill", "load"],
        admin: &[],
        write: &[],
        read: &[],
        pubsub: &[],
    },
    Container {
        name: "slowlog",
        family: None,
        subcommands: &["get", "help", "len", "reset"],
        admin: &["get", "len", "reset"],
        write: &[],
        read: &[],
        pubsub: &[],
    },
    Container {
        name: "xgroup",
        family: Some("stream"),
        subcommands: &[
            "create",
            "createconsumer",
            "delconsumer",
            "destroy",
            "help",
            "setid",
        ],
        admin: &[],
        write: &[
            "create",
            "createconsumer",
            "delconsumer",
            "destroy",
            "setid",
        ],
        read: &[],
        pubsub: &[],
    },
    Container {
        name: "xinfo",
        family: Some("stream"),
        subcommands: &["consumers", "groups", "help", "stream"],
        admin: &[],
        write: &[],
        read: &["consumers", "groups", "stream"],
        pubsub: &[],
    },
];

fn container(name: &str) -> Option<&'static Container> {
    CONTAINERS.iter().find(|c| c.name == name)
}

/// The subcommands ACL rules can name for a container command (`+config|get`).
pub fn subcommands(command: &str) -> &'static [&'static str] {
    container(command).map_or(&[], |c| c.subcommands)
}

/// The categories of `command|sub`.
pub fn of_subcommand(command: &str, sub: &str) -> CategorySet {
    let Some(c) = container(command) else {
        return implicit(0, Traits::default());
    };
    let traits = Traits {
        admin: c.admin.contains(&sub),
        write: c.write.contains(&sub),
        readonly: c.read.contains(&sub),
        pubsub: c.pubsub.contains(&sub),
        ..Traits::default()
    };
    implicit(c.family.map_or(0, bit), traits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_imply_categories() {
        let get = of_command(
            "get",
            "string",
            Traits {
                readonly: true,
                fast: true,
                ..Traits::default()
            },
            false,
        );
        assert_eq!(names(get), ["@read", "@string", "@fast"]);
        let eval_ro = of_command(
            "eval_ro",
            "scripting",
            Traits {
                readonly: true,
                ..Traits::default()
            },
            false,
        );
        assert_eq!(names(eval_ro), ["@slow", "@scripting"]);
        assert_eq!(
            names(of_subcommand("config", "get")),
            ["@admin", "@slow", "@dangerous"]
        );
        assert_eq!(names(of_subcommand("config", "help")), ["@slow"]);
        assert_eq!(
            names(of_command("config", "server", Traits::default(), true)),
            ["@slow"]
        );
    }

    #[test]
    fn category_names_are_case_insensitive() {
        assert_eq!(by_name("READ"), by_name("read"));
        assert!(by_name("nope").is_none());
    }
}
