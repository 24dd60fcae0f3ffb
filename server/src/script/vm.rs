//! The Lua VM: creating it with Redis's libraries and sandbox, compiling EVAL scripts and
//! FUNCTION libraries, and running them with `redis.call` bound to the caller's commands.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mlua::{
    chunk::ChunkMode, Function, HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Value,
    VmState,
};
use parking_lot::Mutex;
use redyn_protocol::Reply;

use super::convert::{error_table, lua_to_reply, reply_to_lua};
use super::library::{
    check_name, eval_shebang, library_shebang, FunctionDef, FunctionFlags, Library,
};
use super::libs::{self, lua_error};
use super::run_state::RunState;
use super::sandbox::{self, Sandbox};

/// How `redis.call` reaches the command table (implemented by the command layer).
pub trait Caller {
    /// Runs one command for the script; errors come back as [`Reply::Error`].
    fn call(&mut self, args: Vec<Bytes>, resp3: bool) -> Reply;
    /// `redis.acl_check_cmd`: whether the caller's user may run `args`, or the error for
    /// an unknown command.
    fn acl_check(&self, args: &[Bytes]) -> Result<bool, String>;
}

const KILL_MESSAGE: &str = "Script killed by user with SCRIPT KILL...";
const LOAD_TIMEOUT: Duration = Duration::from_millis(500);
/// Instructions between two checks for BUSY and kills.
const HOOK_EVERY: u32 = 10_000;
/// Like Redis, every this many runs the garbage collector takes a step of this many KB, so
/// the garbage of many small runs does not pile up until Lua's own next cycle.
const GC_STEP_EVERY_RUNS: u32 = 50;

/// One compiled EVAL script.
struct CachedScript {
    body: Bytes,
    function: Function,
}

/// What a run needs to know about the script it runs.
pub struct RunSpec<'a> {
    pub function: &'a Function,
    /// The name errors cite: the SHA of an EVAL script, or the function name.
    pub name: &'a str,
    pub keys: &'a [Bytes],
    pub argv: &'a [Bytes],
    /// Functions get KEYS and ARGV as arguments; EVAL scripts as globals.
    pub as_function: bool,
}

/// The one Lua VM.
pub struct Vm {
    lua: Lua,
    sandbox: Sandbox,
    hooks: Table,
    scripts: HashMap<String, CachedScript>,
    pub libraries: BTreeMap<String, Library>,
    resp3: Arc<AtomicBool>,
    load_deadline: Arc<Mutex<Option<Instant>>>,
    /// Functions registered by the library code FUNCTION LOAD is running.
    pending: Arc<Mutex<Vec<FunctionDef>>>,
    /// Lua's own `collectgarbage`, kept before the sandbox hides it behind the globals.
    collectgarbage: Function,
    runs_since_gc_step: u32,
}

impl Vm {
    pub fn new(state: Arc<RunState>) -> mlua::Result<Vm> {
        // SAFETY: the debug library is loaded only so the sandbox can capture
        // `debug.getinfo` for its error handler; the sandbox removes it from the globals
        // before any script runs.
        let lua = unsafe {
            Lua::unsafe_new_with(
                StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG,
                LuaOptions::new(),
            )
        };
        let resp3 = Arc::new(AtomicBool::new(false));
        let load_deadline = Arc::new(Mutex::new(None::<Instant>));
        let pending = Arc::new(Mutex::new(Vec::new()));
        let globals = lua.globals();
        globals.set("cjson", libs::cjson::open(&lua)?)?;
        globals.set("cmsgpack", libs::cmsgpack::open(&lua)?)?;
        globals.set("bit", libs::bit::open(&lua)?)?;
        install_random(&lua)?;
        let redis = redis_table(&lua, &resp3)?;
        let load_redis = load_time_redis(&lua, &pending, &load_deadline)?;
        globals.set("redis", redis.clone())?;
        let hooks = lua.create_table()?;
        hooks.set("redis", redis)?;
        hooks.set("load_redis", load_redis)?;
        hooks.set(
            "error_text",
            lua.create_function(|_, v: Value| Ok(error_text(&v)))?,
        )?;
        let killed = state.clone();
        hooks.set(
            "killed",
            lua.create_function(move |_, ()| Ok(killed.kill_requested()))?,
        )?;
        hooks.set(
            "kill_message",
            lua.create_function(|_, ()| Ok(KILL_MESSAGE))?,
        )?;
        let collectgarbage: Function = globals.get("collectgarbage")?;
        let sandbox = sandbox::install(&lua, &hooks)?;
        let deadline = load_deadline.clone();
        lua.set_hook(
            HookTriggers::new().every_nth_instruction(HOOK_EVERY),
            move |_, _| {
                if deadline.lock().is_some_and(|d| Instant::now() > d) {
                    return Err(lua_error("FUNCTION LOAD timeout"));
                }
                state.check_busy();
                if state.kill_requested() {
                    return Err(lua_error(KILL_MESSAGE));
                }
                Ok(VmState::Continue)
            },
        )?;
        Ok(Vm {
            lua,
            sandbox,
            hooks,
            scripts: HashMap::new(),
            libraries: BTreeMap::new(),
            resp3,
            load_deadline,
            pending,
            collectgarbage,
            runs_since_gc_step: 0,
        })
    }

    /// A full collection, after libraries or scripts were dropped: their functions are
    /// garbage now, and Redis's `used_memory_lua` should not count them for long.
    pub fn collect_garbage(&self) {
        let _ = self.lua.gc_collect();
    }

    fn gc_step_now_and_then(&mut self) {
        self.runs_since_gc_step += 1;
        if self.runs_since_gc_step >= GC_STEP_EVERY_RUNS {
            self.runs_since_gc_step = 0;
            let _ = self
                .collectgarbage
                .call::<Value>(("step", GC_STEP_EVERY_RUNS));
        }
    }

    /// Compiles an EVAL script (cached by SHA); returns its SHA or Redis's compile error.
    pub fn load_script(&mut self, body: &Bytes) -> Result<String, String> {
        let sha = super::sha1_hex(body);
        if !self.scripts.contains_key(&sha) {
            // Redis reads the shebang before compiling: a bad one is the error, and such a
            // script is never cached.
            eval_shebang(body)?;
            let function = self
                .lua
                .load(shebang_as_comment(body))
                .set_name("@user_script")
                .set_mode(ChunkMode::Text)
                .into_function()
                .map_err(|e| {
                    format!(
                        "ERR Error compiling script (new function): {}",
                        compile_error_text(&e)
                    )
                })?;
            self.scripts.insert(
                sha.clone(),
                CachedScript {
                    body: body.clone(),
                    function,
                },
            );
        }
        Ok(sha)
    }

    pub fn script(&self, sha: &str) -> Option<(Function, Bytes)> {
        self.scripts
            .get(sha)
            .map(|s| (s.function.clone(), s.body.clone()))
    }

    pub fn script_count(&self) -> usize {
        self.scripts.len()
    }

    pub fn flush_scripts(&mut self) {
        self.scripts.clear();
        self.collect_garbage();
    }

    /// Lua's memory in bytes (INFO's `used_memory_lua`).
    pub fn used_memory(&self) -> usize {
        self.lua.used_memory()
    }

    /// Runs a script or function and converts its result into the reply.
    pub fn run(&mut self, spec: RunSpec, caller: &mut dyn Caller) -> Reply {
        self.resp3.store(false, Ordering::Relaxed);
        let resp3 = self.resp3.clone();
        let outcome = self.lua.scope(|scope| {
            // `check_only`: redis.acl_check_cmd, which asks about the command instead.
            let dispatch = scope.create_function_mut(
                |lua, (args, count, check_only): (Table, usize, bool)| {
                    let in_resp3 = resp3.load(Ordering::Relaxed);
                    match command_args(&args, count) {
                        Ok(argv) if check_only => match caller.acl_check(&argv) {
                            Ok(allowed) => Ok((Value::Boolean(allowed), false)),
                            Err(message) => Ok((error_table(lua, &message)?, true)),
                        },
                        Ok(argv) => {
                            let reply = caller.call(argv, in_resp3);
                            let failed = reply.is_error();
                            Ok((reply_to_lua(lua, &reply, in_resp3)?, failed))
                        }
                        Err(message) => Ok((error_table(lua, message)?, true)),
                    }
                },
            )?;
            self.hooks.set("dispatch", dispatch)?;
            let (keys, argv) = (self.bulk_table(spec.keys)?, self.bulk_table(spec.argv)?);
            let result = if spec.as_function {
                self.sandbox
                    .run
                    .call::<(bool, Value)>((spec.function.clone(), keys, argv))
            } else {
                self.sandbox.globals.raw_set("KEYS", keys)?;
                self.sandbox.globals.raw_set("ARGV", argv)?;
                self.sandbox.run.call::<(bool, Value)>((
                    spec.function.clone(),
                    Value::Nil,
                    Value::Nil,
                ))
            };
            let (ok, value) = result?;
            let reply = if ok {
                lua_to_reply(&value, self.resp3.load(Ordering::Relaxed))
            } else {
                failure_reply(&value, spec.name)
            };
            Ok(reply)
        });
        let _ = self.hooks.set("dispatch", Value::Nil);
        self.gc_step_now_and_then();
        outcome.unwrap_or_else(|e| Reply::Error(format!("ERR {}", error_text_of(&e))))
    }

    fn bulk_table(&self, items: &[Bytes]) -> mlua::Result<Table> {
        let table = self.lua.create_table_with_capacity(items.len(), 0)?;
        for (i, item) in items.iter().enumerate() {
            table.raw_set(i + 1, self.lua.create_string(item)?)?;
        }
        Ok(table)
    }

    /// Runs a library's code with the load-time API and returns the library it registers.
    pub fn compile_library(&mut self, code: &str) -> Result<Library, String> {
        let name = library_shebang(code.as_bytes())?;
        let function = self
            .lua
            .load(shebang_as_comment(code.as_bytes()))
            .set_name("@user_function")
            .set_mode(ChunkMode::Text)
            .into_function()
            .map_err(|e| format!("ERR Error compiling function: {}", compile_error_text(&e)))?;
        self.pending.lock().clear();
        self.sandbox
            .state
            .set("env", self.sandbox.load_api.clone())
            .map_err(|e| e.to_string())?;
        *self.load_deadline.lock() = Some(Instant::now() + LOAD_TIMEOUT);
        let result = self
            .sandbox
            .run
            .call::<(bool, Value)>((function, Value::Nil, Value::Nil));
        *self.load_deadline.lock() = None;
        let _ = self.sandbox.state.set("env", self.sandbox.globals.clone());
        let registered: Vec<FunctionDef> = std::mem::take(&mut *self.pending.lock());
        match result {
            Ok((true, _)) => {}
            Ok((false, err)) => {
                let message = failure_reply(&err, "");
                let text = match message {
                    Reply::Error(text) => text,
                    _ => String::new(),
                };
                let text = text.split(" script: ").next().unwrap_or("").to_string();
                return Err(format!("ERR Error registering functions: {text}"));
            }
            Err(e) => return Err(format!("ERR {}", error_text_of(&e))),
        }
        if registered.is_empty() {
            return Err("ERR No functions registered".into());
        }
        let functions = registered
            .into_iter()
            .map(|def| (def.name.clone(), def))
            .collect();
        Ok(Library {
            name,
            code: code.to_string(),
            functions,
        })
    }
}

/// Lua does not accept a `#!` line; Redis turns it into a comment (`--`), keeping line
/// numbers.
fn shebang_as_comment(body: &[u8]) -> Vec<u8> {
    let mut source = body.to_vec();
    if source.starts_with(b"#!") {
        source[..2].copy_from_slice(b"--");
    }
    source
}

/// `redis.call`'s arguments (the table of its `count` arguments) as a command line, or
/// Redis's error for bad ones.
fn command_args(args: &Table, count: usize) -> Result<Vec<Bytes>, &'static str> {
    if count == 0 {
        return Err("ERR Please specify at least one argument for this redis lib call");
    }
    (1..=count)
        .map(|i| match args.raw_get::<Value>(i).unwrap_or(Value::Nil) {
            Value::String(s) => Ok(Bytes::copy_from_slice(&s.as_bytes())),
            Value::Integer(n) => Ok(Bytes::from(n.to_string())),
            Value::Number(n) => Ok(Bytes::from(lua_number_text(n))),
            _ => Err("ERR Lua redis lib command arguments must be strings or integers"),
        })
        .collect()
}

/// Lua's `%.17g` rendering of a number passed as a command argument.
fn lua_number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e17 {
        format!("{}", n as i64)
    } else {
        let text = format!("{n:e}");
        let plain = format!("{n}");
        if plain.len() <= 24 {
            plain
        } else {
            text
        }
    }
}

/// The error reply for a script that failed with `err` (the handler's table).
fn failure_reply(err: &Value, name: &str) -> Reply {
    let Value::Table(t) = err else {
        return Reply::Error(format!(
            "ERR Error running script {name}, {}",
            error_text(err)
        ));
    };
    let message = match t.raw_get::<Value>("err") {
        Ok(Value::String(s)) => s.to_string_lossy().to_string(),
        _ => "ERR unknown error".to_string(),
    };
    let source = t.raw_get::<Option<String>>("source").ok().flatten();
    let line = t.raw_get::<Option<i64>>("line").ok().flatten();
    match (source, line) {
        (Some(source), Some(line)) => {
            Reply::Error(format!("{message} script: {name}, on {source}:{line}."))
        }
        _ => Reply::Error(message),
    }
}

/// The text of an error value raised by Rust code (mlua wraps it in a userdata).
fn error_text(value: &Value) -> String {
    match value {
        Value::Error(e) => error_text_of(e),
        Value::String(s) => s.to_string_lossy().to_string(),
        other => format!("{other:?}"),
    }
}

fn error_text_of(e: &mlua::Error) -> String {
    match e {
        mlua::Error::RuntimeError(msg) => msg.clone(),
        mlua::Error::CallbackError { cause, .. } => error_text_of(cause),
        mlua::Error::BadArgument { cause, .. } => error_text_of(cause),
        mlua::Error::FromLuaConversionError { .. } => "wrong number or type of arguments".into(),
        other => other.to_string(),
    }
}

fn compile_error_text(e: &mlua::Error) -> String {
    match e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        other => error_text_of(other),
    }
}

/// The `redis` table scripts call.
fn redis_table(lua: &Lua, resp3: &Arc<AtomicBool>) -> mlua::Result<Table> {
    let redis = lua.create_table()?;
    redis.set(
        "sha1hex",
        lua.create_function(|_, args: MultiValue| match args.iter().next() {
            Some(Value::String(s)) if args.len() == 1 => Ok(super::sha1_hex(&s.as_bytes())),
            Some(Value::Number(n)) if args.len() == 1 => {
                Ok(super::sha1_hex(lua_number_text(*n).as_bytes()))
            }
            Some(Value::Integer(n)) if args.len() == 1 => {
                Ok(super::sha1_hex(n.to_string().as_bytes()))
            }
            _ => Err(lua_error("wrong number of arguments")),
        })?,
    )?;
    redis.set(
        "error_reply",
        lua.create_function(|lua, args: MultiValue| match args.iter().next() {
            Some(Value::String(s)) if args.len() == 1 => {
                let text = s.to_string_lossy().to_string();
                // Redis prefixes a `-` when missing, then reads the code up to the first
                // space: "MY code" keeps its code, a bare "bar" becomes "ERR bar".
                let body = text.strip_prefix('-').unwrap_or(&text);
                let normalized = if body.contains(' ') {
                    body.to_string()
                } else {
                    format!("ERR {body}")
                };
                error_table(lua, &normalized)
            }
            _ => error_table(lua, "ERR wrong number or type of arguments"),
        })?,
    )?;
    redis.set(
        "status_reply",
        lua.create_function(|lua, args: MultiValue| match args.iter().next() {
            Some(Value::String(s)) if args.len() == 1 => {
                let t = lua.create_table()?;
                t.raw_set("ok", s.clone())?;
                Ok(Value::Table(t))
            }
            _ => error_table(lua, "ERR wrong number or type of arguments"),
        })?,
    )?;
    redis.set("log", log_function(lua)?)?;
    let flag = resp3.clone();
    redis.set(
        "setresp",
        lua.create_function(move |_, args: MultiValue| {
            let version = match args.iter().next() {
                Some(Value::Number(n)) if args.len() == 1 => *n as i64,
                Some(Value::Integer(n)) if args.len() == 1 => *n,
                _ => return Err(lua_error("redis.setresp() requires one argument.")),
            };
            match version {
                2 | 3 => flag.store(version == 3, Ordering::Relaxed),
                _ => return Err(lua_error("RESP version must be 2 or 3.")),
            }
            Ok(())
        })?,
    )?;
    redis.set(
        "set_repl",
        lua.create_function(|_, flags: Value| {
            let valid = match flags {
                Value::Number(n) => (0.0..=3.0).contains(&n),
                Value::Integer(n) => (0..=3).contains(&n),
                _ => false,
            };
            if !valid {
                return Err(lua_error(
                    "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
                ));
            }
            Ok(())
        })?,
    )?;
    redis.set("replicate_commands", lua.create_function(|_, ()| Ok(true))?)?;
    redis.set("breakpoint", lua.create_function(|_, ()| Ok(false))?)?;
    redis.set("debug", lua.create_function(|_, _: MultiValue| Ok(()))?)?;
    set_constants(&redis)?;
    Ok(redis)
}

fn set_constants(redis: &Table) -> mlua::Result<()> {
    for (name, value) in [
        ("LOG_DEBUG", 0),
        ("LOG_VERBOSE", 1),
        ("LOG_NOTICE", 2),
        ("LOG_WARNING", 3),
        ("REPL_NONE", 0),
        ("REPL_AOF", 1),
        ("REPL_SLAVE", 2),
        ("REPL_REPLICA", 2),
        ("REPL_ALL", 3),
    ] {
        redis.set(name, value)?;
    }
    redis.set("REDIS_VERSION", crate::REDIS_VERSION)?;
    redis.set("REDIS_VERSION_NUM", version_num(crate::REDIS_VERSION))?;
    Ok(())
}

/// `7.2.0` → 0x070200, as `REDIS_VERSION_NUM`.
fn version_num(version: &str) -> i64 {
    version
        .split('.')
        .take(3)
        .fold(0, |acc, part| (acc << 8) | part.parse::<i64>().unwrap_or(0))
}

fn log_function(lua: &Lua) -> mlua::Result<Function> {
    lua.create_function(|_, args: MultiValue| {
        if args.len() < 2 {
            return Err(lua_error("redis.log() requires two arguments or more."));
        }
        let level = match args.iter().next() {
            Some(Value::Number(n)) => *n as i64,
            Some(Value::Integer(n)) => *n,
            _ => return Err(lua_error("First argument must be a number (log level).")),
        };
        let text: Vec<String> = args
            .iter()
            .skip(1)
            .map(|v| match v {
                Value::String(s) => s.to_string_lossy().to_string(),
                Value::Number(n) => lua_number_text(*n),
                Value::Integer(n) => n.to_string(),
                _ => String::new(),
            })
            .collect();
        let text = text.join(" ");
        match level {
            0 => tracing::debug!(target: "script", "{text}"),
            1 | 2 => tracing::info!(target: "script", "{text}"),
            3 => tracing::warn!(target: "script", "{text}"),
            _ => return Err(lua_error("Invalid debug level.")),
        }
        Ok(())
    })
}

/// The `redis` table library code sees while FUNCTION LOAD runs it.
fn load_time_redis(
    lua: &Lua,
    pending: &Arc<Mutex<Vec<FunctionDef>>>,
    load_deadline: &Arc<Mutex<Option<Instant>>>,
) -> mlua::Result<Table> {
    let redis = lua.create_table()?;
    let pending = pending.clone();
    let loading = load_deadline.clone();
    redis.set(
        "register_function",
        lua.create_function(move |_, args: MultiValue| {
            // A function that kept a reference to the load-time API cannot use it later.
            if loading.lock().is_none() {
                return Err(lua_error(
                    "redis.register_function can only be called on FUNCTION LOAD command",
                ));
            }
            let def = registration(args).map_err(lua_error)?;
            let mut pending = pending.lock();
            // Redis rejects the second registration itself, failing the whole load.
            if pending.iter().any(|known| known.name == def.name) {
                return Err(lua_error("Function already exists in the library"));
            }
            pending.push(def);
            Ok(())
        })?,
    )?;
    redis.set("log", log_function(lua)?)?;
    set_constants(&redis)?;
    Ok(redis)
}

/// Reads `redis.register_function(name, callback)` or the named-arguments table form.
fn registration(args: MultiValue) -> Result<FunctionDef, String> {
    let args: Vec<Value> = args.into_iter().collect();
    let (name, callback, description, flags) = match args.as_slice() {
        [Value::Table(t)] => named_registration(t)?,
        [_] => return Err("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).".into()),
        [name, callback] => {
            let Value::String(name) = name else {
                return Err("first argument to redis.register_function must be a string".into());
            };
            let Value::Function(callback) = callback else {
                return Err("second argument to redis.register_function must be a function".into());
            };
            (name.to_string_lossy().to_string(), callback.clone(), None, FunctionFlags::default())
        }
        _ => return Err("wrong number of arguments to redis.register_function".into()),
    };
    check_name(&name).map_err(|e| e.trim_start_matches("ERR ").to_string())?;
    Ok(FunctionDef {
        name,
        description,
        flags,
        callback,
    })
}

type Registration = (String, Function, Option<String>, FunctionFlags);

fn named_registration(t: &Table) -> Result<Registration, String> {
    let (mut name, mut callback, mut description) = (None, None, None);
    let mut flags = FunctionFlags::default();
    for pair in t.pairs::<Value, Value>() {
        let (key, value) = pair.map_err(|e| e.to_string())?;
        let key = match &key {
            Value::String(k) => k.to_string_lossy().to_string(),
            _ => {
                return Err(
                    "named argument key given to redis.register_function is not a string".into(),
                )
            }
        };
        match (key.as_str(), value) {
            ("function_name", Value::String(v)) => name = Some(v.to_string_lossy().to_string()),
            ("function_name", _) => return Err("function_name argument given to redis.register_function must be a string".into()),
            ("callback", Value::Function(f)) => callback = Some(f),
            ("callback", _) => return Err("callback argument given to redis.register_function must be a function".into()),
            ("description", Value::String(v)) => description = Some(v.to_string_lossy().to_string()),
            ("description", _) => return Err("description argument given to redis.register_function must be a string".into()),
            ("flags", Value::Table(list)) => {
                for flag in list.sequence_values::<Value>() {
                    let ok = match flag.map_err(|e| e.to_string())? {
                        Value::String(f) => flags.set(&f.to_string_lossy()),
                        _ => false,
                    };
                    if !ok {
                        return Err("unknown flag given".into());
                    }
                }
            }
            ("flags", _) => return Err("flags argument to redis.register_function must be a table representing function flags".into()),
            _ => return Err("unknown argument given to redis.register_function".into()),
        }
    }
    let name = name.ok_or("redis.register_function must get a function name argument")?;
    let callback = callback.ok_or("redis.register_function must get a callback argument")?;
    Ok((name, callback, description, flags))
}

/// Redis's Lua PRNG (`redisLrand48`): `math.random` and `math.randomseed` over a 48-bit
/// linear congruential generator, seeded randomly when the VM starts.
fn install_random(lua: &Lua) -> mlua::Result<()> {
    let state = Arc::new(AtomicU64::new(seed_state(rand::random::<u32>() as i64)));
    let math: Table = lua.globals().get("math")?;
    let rng = state.clone();
    math.set(
        "random",
        lua.create_function(move |_, args: MultiValue| {
            let next =
                (rng.load(Ordering::Relaxed).wrapping_mul(0x5DEE_CE66D) + 0xB) & ((1 << 48) - 1);
            rng.store(next, Ordering::Relaxed);
            const MAX: u64 = (1 << 31) - 1;
            let r = ((next >> 17) % MAX) as f64 / MAX as f64;
            let nums: Vec<f64> = args
                .iter()
                .map(|v| match v {
                    Value::Number(n) => Ok(*n),
                    Value::Integer(n) => Ok(*n as f64),
                    _ => Err(lua_error("bad argument to 'random' (number expected)")),
                })
                .collect::<mlua::Result<_>>()?;
            match nums.as_slice() {
                [] => Ok(r),
                [m] if *m >= 1.0 => Ok((r * m.floor()).floor() + 1.0),
                [l, u] if l <= u => Ok((r * (u.floor() - l.floor() + 1.0)).floor() + l.floor()),
                [_] | [_, _] => Err(lua_error("bad argument #1 to 'random' (interval is empty)")),
                _ => Err(lua_error("wrong number of arguments")),
            }
        })?,
    )?;
    math.set(
        "randomseed",
        lua.create_function(move |_, seed: f64| {
            state.store(seed_state(seed as i64), Ordering::Relaxed);
            Ok(())
        })?,
    )?;
    Ok(())
}

fn seed_state(seed: i64) -> u64 {
    (((seed as u64) << 16) | 0x330E) & ((1 << 48) - 1)
}
