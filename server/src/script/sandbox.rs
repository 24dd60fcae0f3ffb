//! The sandbox: which globals scripts see and how they are protected.
//!
//! Redis 7.0 patches its Lua to make tables read-only; stock Lua 5.1 cannot, so the same
//! behaviour is built from metatables (`sandbox.lua`): `_G` and the library tables are empty
//! proxies whose writes fail with "Attempt to modify a readonly table", and reading a
//! missing global fails with "Script attempted to access nonexistent global variable".

use mlua::{Function, Lua, Table};

const SANDBOX_SOURCE: &str = include_str!("sandbox.lua");

/// What the sandbox hands back to the VM.
pub struct Sandbox {
    /// `run(f, a, b)`: calls `f(a, b)` under the error handler; returns `ok, value`.
    pub run: Function,
    /// `state.env`: the table global lookups go to (swapped during FUNCTION LOAD).
    pub state: Table,
    /// The real globals (KEYS and ARGV are set here).
    pub globals: Table,
    /// The globals FUNCTION LOAD's library code sees.
    pub load_api: Table,
}

/// Installs the sandbox. `hooks` carries the Rust side: `redis` (the library table being
/// built), `load_redis` (the load-time `redis`), `error_text`, `killed`, `kill_message`, and
/// later `dispatch` (bound for each run).
pub fn install(lua: &Lua, hooks: &Table) -> mlua::Result<Sandbox> {
    let (run, state, globals, load_api) =
        lua.load(SANDBOX_SOURCE)
            .set_name("=internal")
            .call::<(Function, Table, Table, Table)>(hooks.clone())?;
    Ok(Sandbox {
        run,
        state,
        globals,
        load_api,
    })
}
