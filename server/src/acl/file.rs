//! The aclfile: one `user <name> <rules...>` line per user (ACL LOAD, ACL SAVE, start-up),
//! and the same lines given as `user` directives in the config file.

use std::collections::BTreeMap;
use std::path::Path;

use super::user::User;
use super::Acl;

/// Parses user definitions; on any error, Redis's combined error text (nothing applied).
/// `origin` names the source in errors (the aclfile path).
pub fn parse_users(
    acl: &Acl,
    lines: &[(usize, Vec<Vec<u8>>)],
    origin: &str,
) -> Result<BTreeMap<String, User>, String> {
    let mut users = BTreeMap::new();
    let mut errors = String::new();
    for (lineno, words) in lines {
        let (Some(keyword), Some(name)) = (words.first(), words.get(1)) else {
            errors.push_str(&format!(
                "{origin}:{lineno} should start with user keyword followed by the username. "
            ));
            continue;
        };
        if !keyword.eq_ignore_ascii_case(b"user") {
            errors.push_str(&format!(
                "{origin}:{lineno} should start with user keyword followed by the username. "
            ));
            continue;
        }
        let name = String::from_utf8_lossy(name).into_owned();
        if users.contains_key(&name) {
            errors.push_str(&format!(
                "WARNING: Duplicate user '{name}' found on line {lineno}. "
            ));
            continue;
        }
        let mut user = acl.new_user(&name);
        let failed = words[2..].iter().find_map(|rule| {
            acl.apply_rule(&mut user, rule)
                .err()
                .map(|e| (String::from_utf8_lossy(rule).into_owned(), e))
        });
        match failed {
            Some((rule, e)) => errors.push_str(&format!(
                "{origin}:{lineno}: Error in applying operation '{rule}': {e}. "
            )),
            None => {
                users.insert(name, user);
            }
        }
    }
    if errors.is_empty() {
        Ok(users)
    } else {
        errors.push_str(
            "WARNING: ACL errors detected, no change to the previously active ACL rules was performed",
        );
        Err(errors)
    }
}

/// One aclfile line: its number and its words.
pub type NumberedLine = (usize, Vec<Vec<u8>>);

/// Reads the aclfile into numbered, split lines (blank lines skipped).
pub fn read_lines(path: &Path) -> Result<Vec<NumberedLine>, String> {
    let text = std::fs::read(path).map_err(|e| {
        format!(
            "Error loading ACLs, opening file '{}': {}",
            path.display(),
            io_error_text(&e)
        )
    })?;
    Ok(text
        .split(|c| *c == b'\n')
        .enumerate()
        .filter_map(|(i, line)| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let words: Vec<Vec<u8>> = line
                .split(u8::is_ascii_whitespace)
                .filter(|w| !w.is_empty())
                .map(<[u8]>::to_vec)
                .collect();
            (!words.is_empty()).then_some((i + 1, words))
        })
        .collect())
}

/// Loads the aclfile and replaces every user with its definitions.
pub fn load(acl: &Acl, path: &Path) -> Result<(), String> {
    let lines = read_lines(path)?;
    let users = parse_users(acl, &lines, &path.display().to_string())?;
    acl.replace_users(users);
    Ok(())
}

/// The aclfile text for the current users (ACL LIST lines).
pub fn render(acl: &Acl) -> String {
    acl.users()
        .iter()
        .map(|u| format!("user {} {}\n", u.name, u.describe()))
        .collect()
}

/// Writes the users to `path` through a temporary file renamed over it, so a crash leaves
/// the old file or the new one, never half of one.
pub fn save(acl: &Acl, path: &Path) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let result =
        write_synced(&tmp, render(acl).as_bytes()).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn io_error_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "No such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "Permission denied".into(),
        _ => e.to_string(),
    }
}
