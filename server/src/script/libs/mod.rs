//! The libraries Redis's Lua exposes beyond the standard ones: `bit` (LuaBitOp), `cjson`,
//! `cmsgpack`. Lua 5.1 ships none of them, so they are written here on top of mlua.

pub mod bit;
pub mod cjson;
pub mod cmsgpack;

/// A Lua error carrying `message` as the script will see it.
pub(crate) fn lua_error(message: impl Into<String>) -> mlua::Error {
    mlua::Error::RuntimeError(message.into())
}
