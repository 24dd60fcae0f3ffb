//! Error replies, worded exactly as Redis 7 words them, and argument parsers that produce
//! them.

use redyn_protocol::args::{parse_f64, parse_i64_strict};

use crate::tables::DdbError;
use crate::types::TypeError;

/// An error reply (full text without the leading `-`, e.g. `ERR syntax error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdError(pub String);

impl CmdError {
    pub fn new(text: impl Into<String>) -> CmdError {
        CmdError(text.into())
    }
}

pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const SYNTAX: &str = "ERR syntax error";
pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
pub const NO_SUCH_KEY: &str = "ERR no such key";
pub const NOAUTH: &str = "NOAUTH Authentication required.";
pub const INVALID_EXPIRE: &str = "ERR invalid expire time in '{}' command";
pub const DB_INDEX_OUT_OF_RANGE: &str = "ERR DB index is out of range";

impl From<TypeError> for CmdError {
    fn from(e: TypeError) -> Self {
        match e {
            TypeError::WrongType => wrong_type(),
            TypeError::Engine(e) => e.into(),
            TypeError::Corrupt(what) => CmdError::new(format!("ERR corrupt {what}")),
        }
    }
}

/// A table operation's error as the table commands reply it:
/// `ERR <ExceptionName>: <message>`.
impl From<DdbError> for CmdError {
    fn from(e: DdbError) -> Self {
        CmdError::new(format!("ERR {}: {}", e.kind, e.message))
    }
}

pub fn wrong_type() -> CmdError {
    CmdError::new(WRONGTYPE)
}

pub fn syntax() -> CmdError {
    CmdError::new(SYNTAX)
}

pub fn not_integer() -> CmdError {
    CmdError::new(NOT_INTEGER)
}

pub fn not_float() -> CmdError {
    CmdError::new(NOT_FLOAT)
}

/// `ERR wrong number of arguments for 'get' command`.
pub fn wrong_arity(name: &str) -> CmdError {
    CmdError::new(format!(
        "ERR wrong number of arguments for '{}' command",
        name.to_ascii_lowercase()
    ))
}

/// `ERR invalid expire time in 'set' command`.
pub fn invalid_expire(name: &str) -> CmdError {
    CmdError::new(INVALID_EXPIRE.replace("{}", &name.to_ascii_lowercase()))
}

/// Redis's unknown-command error, with up to 128 characters of arguments quoted.
pub fn unknown_command(args: &[bytes::Bytes]) -> CmdError {
    let name = String::from_utf8_lossy(&args[0]);
    let mut preview = String::new();
    for arg in &args[1..] {
        if preview.len() >= 128 {
            break;
        }
        let text = String::from_utf8_lossy(arg);
        let room = 128 - preview.len();
        let shown: String = text.chars().take(room).collect();
        preview.push_str(&format!("'{shown}' "));
    }
    let name: String = name.chars().take(128).collect();
    CmdError::new(format!(
        "ERR unknown command '{name}', with args beginning with: {preview}"
    ))
}

/// Redis's unknown-subcommand error (`CLIENT FOO`).
pub fn unknown_subcommand(cmd: &str, sub: &[u8]) -> CmdError {
    CmdError::new(format!(
        "ERR unknown subcommand '{}'. Try {} HELP.",
        String::from_utf8_lossy(sub),
        cmd.to_ascii_uppercase()
    ))
}

/// Parses an integer argument (`ERR value is not an integer or out of range`).
pub fn int_arg(arg: &[u8]) -> Result<i64, CmdError> {
    parse_i64_strict(arg).ok_or_else(not_integer)
}

/// Parses a float argument (`ERR value is not a valid float`).
pub fn float_arg(arg: &[u8]) -> Result<f64, CmdError> {
    parse_f64(arg).ok_or_else(not_float)
}

/// Parses a non-negative integer argument with a custom error text.
pub fn positive_arg(arg: &[u8], error: &str) -> Result<i64, CmdError> {
    match parse_i64_strict(arg) {
        Some(n) if n >= 0 => Ok(n),
        _ => Err(CmdError::new(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineError;

    #[test]
    fn lower_layer_errors_become_redis_replies() {
        assert_eq!(CmdError::from(TypeError::WrongType).0, WRONGTYPE);
        assert_eq!(
            CmdError::from(TypeError::Corrupt("sorted set member row")).0,
            "ERR corrupt sorted set member row"
        );
        let engine = EngineError::Corrupt("bad meta".into());
        assert_eq!(
            CmdError::from(TypeError::Engine(engine)).0,
            "ERR corrupt value: bad meta"
        );
        assert_eq!(
            CmdError::from(DdbError::conditional_failed()).0,
            "ERR ConditionalCheckFailedException: The conditional request failed"
        );
    }
}
