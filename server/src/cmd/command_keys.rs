//! Finding a request's keys and what it does to each, as Redis 7.0 does
//! (`getKeysFromCommandWithSpecs`): from the command's key specs (`key_specs`), or, for the
//! few commands whose specs cannot say (SORT's STORE, MIGRATE's KEYS, SET's GET), from a
//! procedure of their own. COMMAND GETKEYS/GETKEYSANDFLAGS, ACL key checks and client-side
//! caching all use it. Also COMMAND INFO's entry and COMMAND LIST with its filters.

use bytes::Bytes;
use redyn_protocol::args::{eq_ignore_case, parse_i64_strict};
use redyn_protocol::glob::glob_match;
use redyn_protocol::Reply;

use super::errors::{self, CmdError};
use super::introspection::subcommands_of;
use super::key_specs::{self, Begin, CommandKeys, Find, KeyFlags, KeySpecDef};
use super::{CmdResult, CommandSpec, CommandTable, Flag};
use crate::acl::category;

/// One key of a request: its argument position and its key-spec flags.
pub type KeyRef = (usize, u16);

fn invalid_arguments() -> CmdError {
    CmdError::new("ERR Invalid arguments specified for command")
}

/// The key specs that apply to `args`: a keyed subcommand's (`MEMORY USAGE`) or the
/// command's own.
fn command_keys_for(spec: &CommandSpec, args: &[Bytes]) -> Option<&'static CommandKeys> {
    if let Some(sub) = args
        .get(1)
        .filter(|_| key_specs::has_keyed_subcommands(spec.name))
    {
        let name = format!(
            "{}|{}",
            spec.name,
            String::from_utf8_lossy(sub).to_ascii_lowercase()
        );
        return key_specs::lookup(&name);
    }
    key_specs::lookup(spec.name)
}

/// The keys of `args` (`args[0]` is the command name) with their flags, as Redis's
/// `getKeysFromCommandWithSpecs`; `None` when the arguments are malformed (a bad numkeys).
/// The arity is assumed checked.
pub fn keys_with_flags(spec: &CommandSpec, args: &[Bytes]) -> Option<Vec<KeyRef>> {
    let Some(keys) = command_keys_for(spec, args) else {
        // A subcommand without keys (XGROUP HELP) has none, whatever its container's
        // table entry says.
        if key_specs::has_keyed_subcommands(spec.name) {
            return Some(Vec::new());
        }
        return Some(legacy_keys(spec, args));
    };
    if keys.has_keys() && !keys.variable_flags() {
        if let Some(found) = keys_from_specs(keys.specs, args) {
            return Some(found);
        }
    }
    own_procedure(spec.name, args)
}

/// Commands Redis does not have (DDB.*, redyn's own): the table's (first, last, step), read
/// and written as its flags say.
fn legacy_keys(spec: &CommandSpec, args: &[Bytes]) -> Vec<KeyRef> {
    let flags = if spec.has(Flag::ReadOnly) {
        KeyFlags::RO | KeyFlags::ACCESS
    } else {
        KeyFlags::RW | KeyFlags::ACCESS | KeyFlags::UPDATE
    };
    spec.key_positions(args.len())
        .into_iter()
        .map(|at| (at, flags))
        .collect()
}

/// Redis's `getKeysUsingKeySpecs`: `None` if a spec cannot be followed (unknown, incomplete,
/// or out of the arguments), so the command's own procedure decides.
fn keys_from_specs(specs: &[KeySpecDef], args: &[Bytes]) -> Option<Vec<KeyRef>> {
    let mut keys = Vec::new();
    for spec in specs {
        if spec.flags & KeyFlags::NOT_KEY != 0 {
            continue;
        }
        let Some(first) = search_begin(spec.begin, args)? else {
            // The keyword is absent: this spec has no keys here.
            continue;
        };
        let (first, last, step) = key_range(spec.find, first, args)?;
        let argc = args.len() as i64;
        if last >= argc || last < first || first >= argc {
            return None;
        }
        let mut at = first;
        while at <= last {
            keys.push((at as usize, spec.flags));
            at += step.max(1);
        }
        if spec.flags & KeyFlags::INCOMPLETE != 0 {
            return None;
        }
    }
    Some(keys)
}

/// Where a spec's keys start: `Some(None)` when its keyword is absent, `None` for an
/// unknown begin.
fn search_begin(begin: Begin, args: &[Bytes]) -> Option<Option<i64>> {
    let argc = args.len() as i64;
    match begin {
        Begin::Index(at) => Some(Some(i64::from(at))),
        Begin::Keyword(keyword, from) => {
            let from = i64::from(from);
            let (start, forward) = if from > 0 {
                (from, true)
            } else {
                (argc + from, false)
            };
            let mut at = start;
            while (1..argc).contains(&at) {
                if eq_ignore_case(&args[at as usize], keyword) {
                    return Some(Some(at + 1));
                }
                at = if forward { at + 1 } else { at - 1 };
            }
            Some(None)
        }
        Begin::Unknown => None,
    }
}

/// (first, last, step) of a spec's keys from where they begin.
fn key_range(find: Find, first: i64, args: &[Bytes]) -> Option<(i64, i64, i64)> {
    let argc = args.len() as i64;
    match find {
        Find::Range { last, step, limit } => {
            let (last, limit) = (i64::from(last), i64::from(limit));
            let last = if last >= 0 {
                first + last
            } else if limit == 0 {
                argc + last
            } else {
                first + ((argc - first) / limit + last)
            };
            Some((first, last, i64::from(step)))
        }
        Find::Keynum {
            numkeys_at,
            first: first_key,
            step,
        } => {
            let at = usize::try_from(first + i64::from(numkeys_at)).ok()?;
            let numkeys = parse_i64_strict(args.get(at)?).filter(|n| *n >= 0)?;
            let first = first + i64::from(first_key);
            Some((first, first + numkeys - 1, i64::from(step)))
        }
        Find::Unknown => None,
    }
}

/// The procedures of the commands whose specs cannot find or flag their keys.
fn own_procedure(name: &str, args: &[Bytes]) -> Option<Vec<KeyRef>> {
    match name {
        "set" => Some(set_keys(args)),
        "bitfield" => Some(bitfield_keys(args)),
        "sort" => Some(sort_keys(args)),
        "sort_ro" => Some(vec![(1, KeyFlags::RO | KeyFlags::ACCESS)]),
        "migrate" => migrate_keys(args),
        _ => None,
    }
}

/// SET reads the old value only with GET (`setGetKeys`).
fn set_keys(args: &[Bytes]) -> Vec<KeyRef> {
    let get = args.iter().skip(3).any(|a| eq_ignore_case(a, "get"));
    let flags = if get {
        KeyFlags::RW | KeyFlags::ACCESS | KeyFlags::UPDATE
    } else {
        KeyFlags::OW | KeyFlags::UPDATE
    };
    vec![(1, flags)]
}

/// BITFIELD with only GETs (and OVERFLOW) is a read (`bitfieldGetKeys`); anything else,
/// a syntax error included, counts as a write.
fn bitfield_keys(args: &[Bytes]) -> Vec<KeyRef> {
    let mut i = 2;
    let mut readonly = true;
    while i < args.len() {
        let remaining = args.len() - i - 1;
        if eq_ignore_case(&args[i], "get") && remaining >= 2 {
            i += 3;
        } else if eq_ignore_case(&args[i], "overflow") && remaining >= 1 {
            i += 2;
        } else {
            readonly = false;
            break;
        }
    }
    let flags = if readonly {
        KeyFlags::RO | KeyFlags::ACCESS
    } else {
        KeyFlags::RW | KeyFlags::ACCESS | KeyFlags::UPDATE
    };
    vec![(1, flags)]
}

/// SORT's key and the last STORE's destination (`sortGetKeys`: LIMIT, GET and BY
/// arguments are skipped so a pattern named "store" is not taken for the option).
fn sort_keys(args: &[Bytes]) -> Vec<KeyRef> {
    let mut keys = vec![(1, KeyFlags::RO | KeyFlags::ACCESS)];
    let mut store = None;
    let mut i = 2;
    while i < args.len() {
        let arg = &args[i];
        if eq_ignore_case(arg, "limit") {
            i += 2;
        } else if eq_ignore_case(arg, "store") && i + 1 < args.len() {
            store = Some(i + 1);
        } else if eq_ignore_case(arg, "get") || eq_ignore_case(arg, "by") {
            i += 1;
        }
        i += 1;
    }
    keys.extend(store.map(|at| (at, KeyFlags::OW | KeyFlags::UPDATE)));
    keys
}

/// MIGRATE's one key at 3, or with an empty key there, everything after KEYS
/// (`migrateGetKeys`).
fn migrate_keys(args: &[Bytes]) -> Option<Vec<KeyRef>> {
    let flags = KeyFlags::RW | KeyFlags::ACCESS | KeyFlags::DELETE;
    let mut i = 6;
    while i < args.len() {
        let arg = &args[i];
        if eq_ignore_case(arg, "keys") {
            if !args[3].is_empty() {
                return None;
            }
            return Some((i + 1..args.len()).map(|at| (at, flags)).collect());
        }
        if eq_ignore_case(arg, "auth") {
            i += 1;
        } else if eq_ignore_case(arg, "auth2") {
            i += 2;
        }
        i += 1;
    }
    Some(vec![(3, flags)])
}

/// The positions of the keys of `args`, for commands that only need where the keys are
/// (client-side caching). Malformed arguments have none.
pub fn key_positions(spec: &CommandSpec, args: &[Bytes]) -> Vec<usize> {
    keys_with_flags(spec, args)
        .unwrap_or_default()
        .into_iter()
        .map(|(at, _)| at)
        .collect()
}

/// COMMAND GETKEYS / GETKEYSANDFLAGS `cmd_args`: the keys, with Redis's errors
/// (`getKeysSubcommandImpl`).
pub fn getkeys(table: &CommandTable, cmd_args: &[Bytes]) -> Result<Vec<KeyRef>, CmdError> {
    let invalid_command = || CmdError::new("ERR Invalid command specified");
    let spec = table.get(&cmd_args[0]).ok_or_else(invalid_command)?.spec;
    if let (Some(subs), Some(sub)) = (subcommands_of(spec.name), cmd_args.get(1)) {
        if !subs.iter().any(|s| eq_ignore_case(sub, s)) {
            return Err(invalid_command());
        }
    }
    let keys = command_keys_for(spec, cmd_args);
    let (arity, has_keys) = match keys {
        Some(k) => (k.arity, k.has_keys() || k.movable),
        None => (
            spec.arity,
            spec.first_key > 0 && !key_specs::has_keyed_subcommands(spec.name),
        ),
    };
    if !has_keys {
        return Err(CmdError::new("ERR The command has no key arguments"));
    }
    let argc = cmd_args.len() as i32;
    if (arity > 0 && arity != argc) || argc < -arity {
        return Err(CmdError::new(
            "ERR Invalid number of arguments specified for command",
        ));
    }
    match keys_with_flags(spec, cmd_args) {
        Some(found) if !found.is_empty() => Ok(found),
        _ if keys.is_some_and(|k| k.no_mandatory_keys) => Ok(Vec::new()),
        _ => Err(invalid_arguments()),
    }
}

/// The COMMAND INFO entry: the table's fields, `movablekeys` and the key specs.
pub fn info_reply(spec: &CommandSpec) -> Reply {
    let mut reply = spec.info_reply();
    let Some(keys) = key_specs::lookup(spec.name) else {
        return reply;
    };
    if let Reply::Array(fields) = &mut reply {
        if keys.movable {
            if let Some(Reply::Set(flags)) = fields.get_mut(2) {
                flags.push(Reply::Simple("movablekeys".into()));
            }
        }
        if let Some(specs) = fields.get_mut(8) {
            *specs = Reply::Set(keys.specs.iter().map(key_specs::spec_reply).collect());
        }
    }
    reply
}

/// Every command name, and `container|sub` for each subcommand (those COMMAND knows and
/// those ACL rules can name: SCRIPT's and FUNCTION's are only in the latter).
fn all_names(table: &CommandTable) -> Vec<(String, &'static CommandSpec)> {
    let mut names = Vec::new();
    for entry in table.all() {
        let name = entry.spec.name;
        names.push((name.to_string(), entry.spec));
        let mut subs: Vec<&str> = subcommands_of(name).unwrap_or_default().to_vec();
        for sub in category::subcommands(name) {
            if !subs.contains(sub) {
                subs.push(sub);
            }
        }
        names.extend(
            subs.into_iter()
                .map(|sub| (format!("{name}|{sub}"), entry.spec)),
        );
    }
    names
}

/// The ACL categories of a COMMAND LIST name (a subcommand has its own).
fn categories_of(name: &str, spec: &CommandSpec) -> category::CategorySet {
    match name.split_once('|') {
        Some((container, sub)) => category::of_subcommand(container, sub),
        None => spec.acl_category_set(),
    }
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
                let wanted = std::str::from_utf8(value)
                    .ok()
                    .and_then(category::by_name)
                    .unwrap_or(0);
                names
                    .into_iter()
                    .filter(|(name, spec)| categories_of(name, spec) & wanted != 0)
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

    fn positions(name: &str, words: &[&str]) -> Option<Vec<usize>> {
        let keys = key_specs::lookup(name).unwrap();
        keys_from_specs(keys.specs, &args(words)).map(|k| k.into_iter().map(|(at, _)| at).collect())
    }

    #[test]
    fn keys_follow_the_specs() {
        let zu = ["zunionstore", "dst", "2", "a", "b", "WEIGHTS", "1", "2"];
        assert_eq!(positions("zunionstore", &zu), Some(vec![1, 3, 4]));
        let xr = ["xread", "COUNT", "1", "STREAMS", "a", "b", "0", "0"];
        assert_eq!(positions("xread", &xr), Some(vec![4, 5]));
        assert_eq!(positions("zunion", &["zunion", "5", "a"]), None);
        assert_eq!(
            positions("mset", &["mset", "a", "1", "b", "2"]),
            Some(vec![1, 3])
        );
        let geo = ["georadius", "g", "0", "0", "1", "km", "STORE", "d"];
        assert_eq!(positions("georadius", &geo), Some(vec![1, 7]));
        // SORT's specs cannot say: its procedure does.
        assert_eq!(positions("sort", &["sort", "k"]), None);
    }

    #[test]
    fn procedures_find_what_specs_cannot() {
        let sort = args(&["sort", "k", "GET", "store", "STORE", "a", "STORE", "d"]);
        assert_eq!(
            sort_keys(&sort),
            vec![
                (1, KeyFlags::RO | KeyFlags::ACCESS),
                (7, KeyFlags::OW | KeyFlags::UPDATE)
            ]
        );
        assert_eq!(
            set_keys(&args(&["set", "k", "v"]))[0].1,
            KeyFlags::OW | KeyFlags::UPDATE
        );
        assert_eq!(
            set_keys(&args(&["set", "k", "v", "get"]))[0].1,
            KeyFlags::RW | KeyFlags::ACCESS | KeyFlags::UPDATE
        );
        let ro = args(&["bitfield", "k", "GET", "u8", "0", "OVERFLOW", "SAT"]);
        assert_eq!(bitfield_keys(&ro)[0].1, KeyFlags::RO | KeyFlags::ACCESS);
        let rw = args(&["bitfield", "k", "GET", "u8", "0", "SET", "u8", "0", "1"]);
        assert_eq!(bitfield_keys(&rw)[0].1 & KeyFlags::UPDATE, KeyFlags::UPDATE);
        let migrate = args(&[
            "migrate", "h", "1", "", "0", "5", "AUTH2", "u", "p", "KEYS", "a", "b",
        ]);
        assert_eq!(migrate_keys(&migrate).unwrap().len(), 2);
    }
}
