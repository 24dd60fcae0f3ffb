//! Shebang lines (`#!lua name=mylib`, `#!lua flags=no-writes`), script flags, and the
//! function libraries FUNCTION LOAD registers.

use std::collections::BTreeMap;

use mlua::Function;

/// The flags a script's shebang or a function's registration may declare.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FunctionFlags {
    pub no_writes: bool,
    pub allow_oom: bool,
    pub allow_stale: bool,
    pub no_cluster: bool,
    pub allow_cross_slot_keys: bool,
}

impl FunctionFlags {
    /// Sets the flag named `name`; false when Redis knows no such flag.
    pub fn set(&mut self, name: &str) -> bool {
        match name {
            "no-writes" => self.no_writes = true,
            "allow-oom" => self.allow_oom = true,
            "allow-stale" => self.allow_stale = true,
            "no-cluster" => self.no_cluster = true,
            "allow-cross-slot-keys" => self.allow_cross_slot_keys = true,
            _ => return false,
        }
        true
    }

    /// The flag names, in Redis's order (FUNCTION LIST).
    pub fn names(&self) -> Vec<&'static str> {
        [
            (self.no_writes, "no-writes"),
            (self.allow_oom, "allow-oom"),
            (self.allow_stale, "allow-stale"),
            (self.no_cluster, "no-cluster"),
            (self.allow_cross_slot_keys, "allow-cross-slot-keys"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }
}

/// Parses an EVAL script's shebang: `None` when the script has none (Redis's compatibility
/// mode, where a script may write unless run with EVAL_RO).
pub fn eval_shebang(body: &[u8]) -> Result<Option<FunctionFlags>, String> {
    if !body.starts_with(b"#!") {
        return Ok(None);
    }
    let Some(line_end) = body.iter().position(|b| *b == b'\n') else {
        return Err("ERR Invalid script shebang".into());
    };
    let parts = match redyn_protocol::request::split_args(&body[..line_end]) {
        Some(parts) if !parts.is_empty() => parts,
        _ => return Err("ERR Invalid engine in script shebang".into()),
    };
    if parts[0] != b"#!lua" {
        return Err(format!(
            "ERR Unexpected engine in script shebang: {}",
            String::from_utf8_lossy(&parts[0])
        ));
    }
    let mut flags = FunctionFlags::default();
    for part in &parts[1..] {
        let part = String::from_utf8_lossy(part);
        let Some(list) = part.strip_prefix("flags=") else {
            return Err(format!("ERR Unknown lua shebang option: {part}"));
        };
        // `flags=` declares none; an empty name between commas is an unknown flag.
        for flag in list.split(',').filter(|_| !list.is_empty()) {
            if !flags.set(flag) {
                return Err(format!("ERR Unexpected flag in script shebang: {flag}"));
            }
        }
    }
    Ok(Some(flags))
}

/// A library's first line: its engine and name, checked in Redis's order (metadata, then
/// the name's characters, then the engine). The line is split like Redis's
/// `sdssplitargs`, so `name="foo"` names `foo` and `#! name=x` has the empty engine.
pub fn library_shebang(code: &[u8]) -> Result<String, String> {
    if !code.starts_with(b"#!") {
        return Err("ERR Missing library metadata".into());
    }
    let Some(line_end) = code.iter().position(|b| *b == b'\n') else {
        return Err("ERR Invalid library metadata".into());
    };
    let parts = match redyn_protocol::request::split_args(&code[..line_end]) {
        Some(parts) if !parts.is_empty() => parts,
        _ => return Err("ERR Invalid library metadata".into()),
    };
    let engine = String::from_utf8_lossy(&parts[0][2..]).to_string();
    let mut name = None;
    for part in &parts[1..] {
        let text = String::from_utf8_lossy(part).to_string();
        let is_name = text.len() >= 5 && text[..5].eq_ignore_ascii_case("name=");
        match is_name {
            true if name.is_some() => {
                return Err(
                    "ERR Invalid metadata value, name argument was given multiple times".into(),
                )
            }
            true => name = Some(text[5..].to_string()),
            false => return Err(format!("ERR Invalid metadata value given: {text}")),
        }
    }
    let name = name.ok_or_else(|| "ERR Library name was not given".to_string())?;
    check_name(&name).map_err(|_| {
        "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long".to_string()
    })?;
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(format!("ERR Engine '{engine}' not found"));
    }
    Ok(name)
}

/// Library and function names: letters, digits and underscores, at least one.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err("ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long".into());
    }
    Ok(())
}

/// One registered function.
pub struct FunctionDef {
    pub name: String,
    pub description: Option<String>,
    pub flags: FunctionFlags,
    pub callback: Function,
}

/// A loaded library: its code and functions, by name.
pub struct Library {
    pub name: String,
    pub code: String,
    pub functions: BTreeMap<String, FunctionDef>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebangs_parse_with_redis_errors() {
        assert_eq!(eval_shebang(b"return 1"), Ok(None));
        let flags = eval_shebang(b"#!lua flags=no-writes,allow-oom\nreturn 1")
            .unwrap()
            .unwrap();
        assert!(flags.no_writes && flags.allow_oom && !flags.allow_stale);
        assert_eq!(
            eval_shebang(b"#!lua name=foo\n"),
            Err("ERR Unknown lua shebang option: name=foo".into())
        );
        assert_eq!(
            eval_shebang(b"#!not-lua\nreturn 1"),
            Err("ERR Unexpected engine in script shebang: #!not-lua".into())
        );
        assert_eq!(
            eval_shebang(b"#!lua"),
            Err("ERR Invalid script shebang".into())
        );
        assert_eq!(library_shebang(b"#!lua name=lib\n"), Ok("lib".into()));
        assert_eq!(
            library_shebang(b"#!bad name=lib\n"),
            Err("ERR Engine 'bad' not found".into())
        );
        assert!(library_shebang(b"return 1").is_err());
    }
}
