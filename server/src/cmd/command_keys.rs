//! What COMMAND reports beyond the fixed (first, last, step) key positions of the command
//! table: keys found by parsing the arguments ("movable keys": ZUNIONSTORE's numkeys,
//! XREAD's STREAMS, SORT's STORE…), keys of container subcommands (MEMORY USAGE), the
//! `movablekeys` flag, and COMMAND LIST with its filters and subcommands.

use bytes::Bytes;
use redyn_protocol::args::{eq_ignore_case, parse_i64_strict};
use redyn_protocol::glob::glob_match;
use redyn_protocol::Reply;

use super::errors::{self, CmdError};
use super::introspection::subcommands_of;
use super::{CmdResult, CommandSpec, CommandTable};

/// How a movable-keys command's keys are found.
#[derive(Clone, Copy)]
enum Movable {
    /// A destination key at 1, numkeys at 2, keys after it (ZUNIONSTORE).
    StoreNumkeys,
    /// numkeys at the given position, keys right after it (ZUNION at 1, EVAL at 2).
    Numkeys(usize),
    /// Keys are the first half of what follows `STREAMS` (XREAD, XREADGROUP).
    Streams,
    /// A key at 1 and the argument after `STORE` (SORT); `STOREDIST` too (GEORADIUS).
    KeyAndStore,
    /// MIGRATE host port key|"" db timeout [...] [KEYS key...].
    Migrate,
}

/// Commands whose keys depend on their arguments (Redis flags them `movablekeys`).
const MOVABLE: &[(&str, Movable)] = &[
    ("blmpop", Movable::Numkeys(2)),
    ("bzmpop", Movable::Numkeys(2)),
    ("eval", Movable::Numkeys(2)),
    ("eval_ro", Movable::Numkeys(2)),
    ("evalsha", Movable::Numkeys(2)),
    ("evalsha_ro", Movable::Numkeys(2)),
    ("fcall", Movable::Numkeys(2)),
    ("fcall_ro", Movable::Numkeys(2)),
    ("georadius", Movable::KeyAndStore),
    ("georadiusbymember", Movable::KeyAndStore),
    ("lmpop", Movable::Numkeys(1)),
    ("migrate", Movable::Migrate),
    ("sintercard", Movable::Numkeys(1)),
    ("sort", Movable::KeyAndStore),
    ("sort_ro", Movable::KeyAndStore),
    ("xread", Movable::Streams),
    ("xreadgroup", Movable::Streams),
    ("zdiff", Movable::Numkeys(1)),
    ("zdiffstore", Movable::StoreNumkeys),
    ("zinter", Movable::Numkeys(1)),
    ("zintercard", Movable::Numkeys(1)),
    ("zinterstore", Movable::StoreNumkeys),
    ("zmpop", Movable::Numkeys(1)),
    ("zunion", Movable::Numkeys(1)),
    ("zunionstore", Movable::StoreNumkeys),
];

/// Container subcommands that take a key, and its position (`MEMORY USAGE key`).
const SUBCOMMAND_KEYS: &[(&str, &str, usize)] = &[("memory", "usage", 2)];

fn movable(name: &str) -> Option<Movable> {
    MOVABLE.iter().find(|(n, _)| *n == name).map(|(_, m)| *m)
}

fn invalid_arguments() -> CmdError {
    CmdError::new("ERR Invalid arguments specified for command")
}

/// Positions of the key arguments in `args` (`args[0]` is the command name), for COMMAND
/// GETKEYS; Redis's errors for commands without keys or with malformed key counts.
pub fn key_positions(spec: &CommandSpec, args: &[Bytes]) -> Result<Vec<usize>, CmdError> {
    if let Some(kind) = movable(spec.name) {
        return movable_positions(kind, args).ok_or_else(invalid_arguments);
    }
    if let Some(&(_, _, at)) = SUBCOMMAND_KEYS.iter().find(|(cmd, sub, _)| {
        *cmd == spec.name && args.get(1).is_some_and(|a| eq_ignore_case(a, sub))
    }) {
        if at < args.len() {
            return Ok(vec![at]);
        }
    }
    let keys = spec.key_positions(args.len());
    if keys.is_empty() {
        return Err(CmdError::new("ERR The command has no key arguments"));
    }
    Ok(keys)
}

fn movable_positions(kind: Movable, args: &[Bytes]) -> Option<Vec<usize>> {
    let numkeys_at = |at: usize| -> Option<Vec<usize>> {
        let n = parse_i64_strict(args.get(at)?)?;
        let n = usize::try_from(n).ok()?;
        let first = at + 1;
        (first + n <= args.len()).then(|| (first..first + n).collect())
    };
    match kind {
        Movable::Numkeys(at) => numkeys_at(at),
        Movable::StoreNumkeys => {
            let mut keys = vec![1];
            keys.extend(numkeys_at(2)?);
            Some(keys)
        }
        Movable::Streams => {
            let at = args.iter().position(|a| eq_ignore_case(a, "streams"))?;
            let rest = args.len() - at - 1;
            (rest > 0 && rest.is_multiple_of(2)).then(|| (at + 1..at + 1 + rest / 2).collect())
        }
        Movable::KeyAndStore => {
            let mut keys = vec![1];
            let mut i = 2;
            while i < args.len() {
                if (eq_ignore_case(&args[i], "store") || eq_ignore_case(&args[i], "storedist"))
                    && i + 1 < args.len()
                {
                    keys.push(i + 1);
                    i += 1;
                }
                i += 1;
            }
            Some(keys)
        }
        Movable::Migrate => {
            if args.len() < 6 {
                return None;
            }
            if !args[3].is_empty() {
                return Some(vec![3]);
            }
            let at = args.iter().position(|a| eq_ignore_case(a, "keys"))?;
            Some((at + 1..args.len()).collect())
        }
    }
}

/// The COMMAND INFO entry, with `movablekeys` for commands whose keys move.
pub fn info_reply(spec: &CommandSpec) -> Reply {
    let mut reply = spec.info_reply();
    if movable(spec.name).is_some() {
        if let Reply::Array(fields) = &mut reply {
            if let Some(Reply::Set(flags)) = fields.get_mut(2) {
                flags.push(Reply::Simple("movablekeys".into()));
            }
        }
    }
    reply
}

/// Every command name, and `container|sub` for each subcommand.
fn all_names(table: &CommandTable) -> Vec<(String, &'static CommandSpec)> {
    let mut names = Vec::new();
    for entry in table.all() {
        names.push((entry.spec.name.to_string(), entry.spec));
        for sub in subcommands_of(entry.spec.name).unwrap_or_default() {
            names.push((format!("{}|{sub}", entry.spec.name), entry.spec));
        }
    }
    names
}

/// COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern].
pub fn command_list(table: &CommandTable, opts: &[Bytes]) -> CmdResult {
    let names = all_names(table);
    let selected: Vec<String> = match opts {
        [] => names.into_iter().map(|(name, _)| name).collect(),
        [filterby, kind, value] if eq_ignore_case(filterby, "filterby") => {
            if eq_ignore_case(kind, "module") {
                // No modules are loaded.
                Vec::new()
            } else if eq_ignore_case(kind, "aclcat") {
                let category = format!("@{}", String::from_utf8_lossy(value).to_ascii_lowercase());
                names
                    .into_iter()
                    .filter(|(_, spec)| spec.acl_categories().contains(&category))
                    .map(|(name, _)| name)
                    .collect()
            } else if eq_ignore_case(kind, "pattern") {
                names
                    .into_iter()
                    .filter(|(name, _)| glob_match(value, name.as_bytes(), true))
                    .map(|(name, _)| name)
                    .collect()
            } else {
                return Err(errors::syntax());
            }
        }
        _ => return Err(errors::syntax()),
    };
    Ok(Reply::Array(
        selected.into_iter().map(Reply::text).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<Bytes> {
        words.iter().map(|w| Bytes::from(w.to_string())).collect()
    }

    #[test]
    fn movable_keys_are_parsed_from_the_arguments() {
        let zu = args(&["zunionstore", "dst", "2", "a", "b", "WEIGHTS", "1", "2"]);
        assert_eq!(
            movable_positions(Movable::StoreNumkeys, &zu),
            Some(vec![1, 3, 4])
        );
        let xr = args(&["xread", "COUNT", "1", "STREAMS", "a", "b", "0", "0"]);
        assert_eq!(movable_positions(Movable::Streams, &xr), Some(vec![4, 5]));
        let eval = args(&["eval", "return 1", "0"]);
        assert_eq!(movable_positions(Movable::Numkeys(2), &eval), Some(vec![]));
        let bad = args(&["zunion", "5", "a"]);
        assert_eq!(movable_positions(Movable::Numkeys(1), &bad), None);
        let sort = args(&["sort", "k", "LIMIT", "0", "1", "STORE", "d"]);
        assert_eq!(
            movable_positions(Movable::KeyAndStore, &sort),
            Some(vec![1, 6])
        );
    }
}
