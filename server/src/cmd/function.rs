//! FUNCTION (LOAD, DELETE, LIST, DUMP, RESTORE, FLUSH, STATS, KILL, HELP), FCALL and
//! FCALL_RO. Libraries live in the shared Lua VM and are saved to the data directory after
//! every change, so they survive restarts.

use std::collections::BTreeMap;

use bytes::Bytes;
use redyn_protocol::args::eq_ignore_case;
use redyn_protocol::glob::glob_match;
use redyn_protocol::Reply;

use super::errors::CmdError;
use super::script::{data_dir, kill, run_script, split_keys_at};
use super::shared::Server;
use super::{CmdResult, CommandSpec, Ctx, Flag, NO_KEYS};
use crate::script::library::FunctionFlags;
use crate::script::vm::RunSpec;
use crate::script::{persist, Library, Vm};
use Flag::*;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "fcall",
        -3,
        &[NoScript, Stale, Offload],
        NO_KEYS,
        "scripting",
        "7.0.0",
        "Invokes a function.",
        fcall,
    ),
    CommandSpec::new(
        "fcall_ro",
        -3,
        &[NoScript, Stale, ReadOnly, Offload],
        NO_KEYS,
        "scripting",
        "7.0.0",
        "Invokes a read-only function.",
        fcall,
    ),
    CommandSpec::new(
        "function",
        -2,
        &[NoScript],
        NO_KEYS,
        "scripting",
        "7.0.0",
        "A container for function commands.",
        function,
    ),
];

fn fcall(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let read_only = args[0].len() == "fcall_ro".len();
    let server = ctx.server.clone();
    let mut vm = server.scripting.vm(&data_dir(&server));
    let name = String::from_utf8_lossy(&args[1]).to_string();
    let found = vm
        .libraries
        .values()
        .flat_map(|lib| lib.functions.values())
        .find(|def| def.name.eq_ignore_ascii_case(&name))
        .map(|def| (def.callback.clone(), def.flags));
    let (callback, flags) = found.ok_or_else(|| CmdError::new("ERR Function not found"))?;
    // FCALL words a non-integer key count differently from EVAL.
    let numkeys = redyn_protocol::args::parse_i64_strict(&args[2])
        .ok_or_else(|| CmdError::new("ERR Bad number of keys provided"))?;
    let (keys, argv) = split_keys_at(numkeys, &args[3..])?;
    if read_only && !flags.no_writes {
        return Err(CmdError::new(
            "ERR Can not execute a script with write flag using *_ro command.",
        ));
    }
    let spec = RunSpec {
        function: &callback,
        name: &name,
        keys,
        argv,
        as_function: true,
    };
    Ok(run_script(ctx, &mut vm, spec, flags.no_writes, args))
}

const FUNCTION_HELP: &[&str] = &[
    "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
    "HELP",
    "    Prints this help.",
];

fn function(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    let server = ctx.server.clone();
    let n = args.len();
    match sub.as_str() {
        "help" if n == 2 => Ok(Reply::status_lines(FUNCTION_HELP)),
        "kill" if n == 2 => kill(&server, true),
        "stats" if n == 2 => Ok(stats(&server)),
        "load" if n >= 3 => load(&server, args),
        "delete" if n == 3 => delete(&server, &args[2]),
        "list" => list(&server, &args[2..]),
        "dump" if n == 2 => {
            let vm = server.scripting.vm(&data_dir(&server));
            let codes: Vec<String> = vm.libraries.values().map(|l| l.code.clone()).collect();
            Ok(Reply::bulk(persist::dump(&codes)))
        }
        "restore" if (3..=4).contains(&n) => restore(&server, &args[2], args.get(3)),
        "flush" if n <= 3 => {
            if n == 3 && !eq_ignore_case(&args[2], "sync") && !eq_ignore_case(&args[2], "async") {
                return Err(CmdError::new(
                    "ERR FUNCTION FLUSH only supports SYNC|ASYNC option",
                ));
            }
            let mut vm = server.scripting.vm(&data_dir(&server));
            vm.libraries.clear();
            vm.collect_garbage();
            save(&server, &vm)?;
            Ok(Reply::ok())
        }
        "help" | "kill" | "stats" | "load" | "delete" | "dump" | "restore" | "flush" => {
            Err(CmdError::new(format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try FUNCTION HELP.",
                String::from_utf8_lossy(&args[1])
            )))
        }
        _ => Err(super::errors::unknown_subcommand("function", &args[1])),
    }
}

fn save(server: &Server, vm: &Vm) -> Result<(), CmdError> {
    server
        .scripting
        .save_libraries(vm)
        .map_err(|e| CmdError::new(format!("ERR saving function libraries: {e}")))
}

fn load(server: &Server, args: &[Bytes]) -> CmdResult {
    let replace = match args.len() {
        3 => false,
        4 if eq_ignore_case(&args[2], "replace") => true,
        _ => {
            return Err(CmdError::new(format!(
                "ERR Unknown option given: {}",
                String::from_utf8_lossy(&args[2])
            )))
        }
    };
    let code = String::from_utf8_lossy(&args[args.len() - 1]).to_string();
    let mut vm = server.scripting.vm(&data_dir(server));
    let library = vm.compile_library(&code).map_err(CmdError)?;
    let name = library.name.clone();
    install(&mut vm.libraries, library, replace)?;
    vm.collect_garbage();
    save(server, &vm)?;
    Ok(Reply::text(name))
}

/// Adds `library`, replacing one of the same name only when `replace`; refuses function
/// names another library owns.
fn install(
    libraries: &mut BTreeMap<String, Library>,
    library: Library,
    replace: bool,
) -> Result<(), CmdError> {
    if libraries.contains_key(&library.name) && !replace {
        return Err(CmdError::new(format!(
            "ERR Library '{}' already exists",
            library.name
        )));
    }
    for (other_name, other) in libraries.iter() {
        if *other_name == library.name {
            continue;
        }
        if let Some(clash) = library
            .functions
            .keys()
            .find(|f| other.functions.contains_key(*f))
        {
            return Err(CmdError::new(format!(
                "ERR Function {clash} already exists"
            )));
        }
    }
    libraries.insert(library.name.clone(), library);
    Ok(())
}

fn delete(server: &Server, name: &[u8]) -> CmdResult {
    let mut vm = server.scripting.vm(&data_dir(server));
    let name = String::from_utf8_lossy(name).to_string();
    if vm.libraries.remove(&name).is_none() {
        return Err(CmdError::new("ERR Library not found"));
    }
    vm.collect_garbage();
    save(server, &vm)?;
    Ok(Reply::ok())
}

fn list(server: &Server, options: &[Bytes]) -> CmdResult {
    let (mut with_code, mut pattern) = (false, None::<Bytes>);
    let mut i = 0;
    while i < options.len() {
        let option = &options[i];
        let unknown = || {
            CmdError::new(format!(
                "ERR Unknown argument {}",
                String::from_utf8_lossy(option)
            ))
        };
        if eq_ignore_case(option, "withcode") && !with_code {
            with_code = true;
        } else if eq_ignore_case(option, "libraryname") && pattern.is_none() {
            let value = options
                .get(i + 1)
                .ok_or_else(|| CmdError::new("ERR library name argument was not given"))?;
            pattern = Some(value.clone());
            i += 1;
        } else {
            return Err(unknown());
        }
        i += 1;
    }
    let vm = server.scripting.vm(&data_dir(server));
    let libraries = vm
        .libraries
        .values()
        .filter(|lib| {
            pattern
                .as_ref()
                .is_none_or(|p| glob_match(p, lib.name.as_bytes(), false))
        })
        .map(|lib| library_reply(lib, with_code))
        .collect();
    Ok(Reply::Array(libraries))
}

fn library_reply(lib: &Library, with_code: bool) -> Reply {
    let functions = lib
        .functions
        .values()
        .map(|f| {
            Reply::Map(vec![
                (Reply::text("name"), Reply::text(f.name.clone())),
                (
                    Reply::text("description"),
                    f.description.clone().map_or(Reply::Nil, Reply::text),
                ),
                (Reply::text("flags"), flags_reply(&f.flags)),
            ])
        })
        .collect();
    let mut fields = vec![
        (Reply::text("library_name"), Reply::text(lib.name.clone())),
        (Reply::text("engine"), Reply::text("LUA")),
        (Reply::text("functions"), Reply::Array(functions)),
    ];
    if with_code {
        fields.push((Reply::text("library_code"), Reply::text(lib.code.clone())));
    }
    Reply::Map(fields)
}

fn flags_reply(flags: &FunctionFlags) -> Reply {
    Reply::Set(flags.names().into_iter().map(Reply::text).collect())
}

fn restore(server: &Server, payload: &[u8], policy: Option<&Bytes>) -> CmdResult {
    #[derive(PartialEq)]
    enum Policy {
        Append,
        Replace,
        Flush,
    }
    let policy =
        match policy {
            None => Policy::Append,
            Some(p) if eq_ignore_case(p, "append") => Policy::Append,
            Some(p) if eq_ignore_case(p, "replace") => Policy::Replace,
            Some(p) if eq_ignore_case(p, "flush") => Policy::Flush,
            Some(_) => return Err(CmdError::new(
                "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            )),
        };
    let codes = persist::undump(payload)
        .ok_or_else(|| CmdError::new("ERR DUMP payload version or checksum are wrong"))?;
    let mut vm = server.scripting.vm(&data_dir(server));
    let mut restored = Vec::new();
    for code in &codes {
        restored.push(vm.compile_library(code).map_err(CmdError)?);
    }
    // Every collision is checked on the names first, so a failed restore changes nothing.
    let mut owners: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if policy != Policy::Flush {
        for lib in vm.libraries.values() {
            owners.insert(lib.name.clone(), lib.functions.keys().cloned().collect());
        }
    }
    for lib in &restored {
        if policy == Policy::Append && owners.contains_key(&lib.name) {
            return Err(CmdError::new(format!(
                "ERR Library {} already exists",
                lib.name
            )));
        }
        owners.remove(&lib.name);
        for function in lib.functions.keys() {
            if owners.values().any(|fs| fs.contains(function)) {
                return Err(CmdError::new(format!(
                    "ERR Function {function} already exists"
                )));
            }
        }
        owners.insert(lib.name.clone(), lib.functions.keys().cloned().collect());
    }
    if policy == Policy::Flush {
        vm.libraries.clear();
    }
    for lib in restored {
        vm.libraries.insert(lib.name.clone(), lib);
    }
    save(server, &vm)?;
    Ok(Reply::ok())
}

fn stats(server: &Server) -> Reply {
    let running = match server.scripting.state.current() {
        Some(cur) => Reply::Map(vec![
            (Reply::text("name"), Reply::text(cur.name)),
            (
                Reply::text("command"),
                Reply::Array(cur.command.into_iter().map(Reply::Bulk).collect()),
            ),
            (
                Reply::text("duration_ms"),
                Reply::Int(cur.started.elapsed().as_millis() as i64),
            ),
        ]),
        None => Reply::Nil,
    };
    let (libraries, functions) = server.scripting.counts();
    Reply::Map(vec![
        (Reply::text("running_script"), running),
        (
            Reply::text("engines"),
            Reply::Map(vec![(
                Reply::text("LUA"),
                Reply::Map(vec![
                    (Reply::text("libraries_count"), Reply::Int(libraries as i64)),
                    (Reply::text("functions_count"), Reply::Int(functions as i64)),
                ]),
            )]),
        ),
    ])
}
