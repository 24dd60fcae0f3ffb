//! Lua scripting as Redis 7.0 embeds it: one Lua 5.1 VM (through `mlua`, vendored) shared by
//! EVAL scripts and FUNCTION libraries, its sandbox, the libraries Redis exposes (`cjson`,
//! `cmsgpack`, `bit`, `struct`), the conversions between Lua values and RESP replies, and the
//! state other clients see while a script runs (BUSY, SCRIPT/FUNCTION KILL).
//!
//! This layer knows nothing about commands: `redis.call` reaches the command table through
//! the [`vm::Caller`] the command layer hands to every run, so scripts' writes take the same
//! path as any client's.

pub mod convert;
pub mod library;
pub mod libs;
pub mod persist;
pub mod run_state;
pub mod sandbox;
pub mod vm;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{MappedMutexGuard, Mutex, MutexGuard};
use sha1::{Digest, Sha1};

pub use library::{FunctionFlags, Library};
pub use run_state::RunState;
pub use vm::{Caller, Vm};

/// The server's scripting state: the VM (created at first use, when the saved function
/// libraries are loaded into it) and what other clients see of the running script.
#[derive(Default)]
pub struct Scripting {
    pub state: Arc<RunState>,
    vm: Mutex<Option<Vm>>,
    dir: Mutex<Option<PathBuf>>,
    /// Library and function counts as of the last change, for FUNCTION STATS while a
    /// script holds the VM.
    counts: Mutex<(usize, usize)>,
}

impl Scripting {
    /// The VM, locked for one script or command. `dir` is the data directory the saved
    /// libraries are read from the first time.
    pub fn vm(&self, dir: &Path) -> MappedMutexGuard<'_, Vm> {
        let mut guard = self.vm.lock();
        if guard.is_none() {
            let mut vm = Vm::new(self.state.clone()).expect("Lua VM starts");
            match persist::load(dir) {
                Ok(codes) => {
                    for code in codes {
                        match vm.compile_library(&code) {
                            Ok(lib) => {
                                vm.libraries.insert(lib.name.clone(), lib);
                            }
                            Err(e) => tracing::error!("saved function library not loaded: {e}"),
                        }
                    }
                }
                Err(e) => tracing::error!("reading saved function libraries: {e}"),
            }
            *self.dir.lock() = Some(dir.to_path_buf());
            *self.counts.lock() = library_counts(&vm);
            *guard = Some(vm);
        }
        MutexGuard::map(guard, |vm| vm.as_mut().expect("created above"))
    }

    /// Saves the libraries of `vm` (after FUNCTION LOAD/DELETE/FLUSH/RESTORE).
    pub fn save_libraries(&self, vm: &Vm) -> std::io::Result<()> {
        *self.counts.lock() = library_counts(vm);
        let dir = self.dir.lock().clone();
        let Some(dir) = dir else { return Ok(()) };
        let codes: Vec<String> = vm.libraries.values().map(|l| l.code.clone()).collect();
        persist::save(&dir, &codes)
    }
}

impl Scripting {
    /// (libraries, functions) loaded.
    pub fn counts(&self) -> (usize, usize) {
        *self.counts.lock()
    }

    /// Lua's memory in bytes, when no script holds the VM (INFO).
    pub fn lua_memory(&self) -> usize {
        self.vm
            .try_lock()
            .and_then(|vm| vm.as_ref().map(Vm::used_memory))
            .unwrap_or(0)
    }

    /// Scripts in the EVAL cache, when no script holds the VM (INFO).
    pub fn cached_scripts(&self) -> usize {
        self.vm
            .try_lock()
            .and_then(|vm| vm.as_ref().map(Vm::script_count))
            .unwrap_or(0)
    }
}

fn library_counts(vm: &Vm) -> (usize, usize) {
    let functions = vm.libraries.values().map(|l| l.functions.len()).sum();
    (vm.libraries.len(), functions)
}

/// The lower-case hex SHA1 of `data` (script names, `redis.sha1hex`).
pub fn sha1_hex(data: &[u8]) -> String {
    let digest = Sha1::digest(data);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_matches_redis() {
        assert_eq!(sha1_hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            sha1_hex(b"Pizza & Mandolino"),
            "74822d82031af7493c20eefa13bd07ec4fada82f"
        );
    }
}
