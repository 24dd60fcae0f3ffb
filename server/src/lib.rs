//! redyn: a Redis-protocol server storing DynamoDB-style tables in fjall.
//!
//! The modules form layers (see `DESIGN.md`); a module imports only from its own layer or
//! lower ones, which `tests/layers.rs` checks on every test run:
//!
//! ```text
//! main.rs                          the binary: flags, signals
//! server                           start-up, shutdown, background tasks, metrics sampler
//! net, dynamodb_http               TCP listener, one task per connection; DynamoDB's
//!                                  HTTP API over the same tables
//! cmd, config                      commands and the state they operate on (Server,
//!                                  clients, INFO); configuration. cmd may import config.
//! stream, tables, types, acl       pub/sub, notifications, change log; DynamoDB-model
//!                                  tables; Redis data types. tables may import stream.
//! engine                           partition/sort-key engine on fjall
//! metrics, rdb                     Prometheus exporter and metric handles; RDB codec
//! redyn_protocol (crate)           RESP parsing and replies
//! ```
//!
//! - [`server`]: opens everything, runs the accept loop, spawns background tasks, shuts down;
//! - [`net`]: TCP listener and the connection loop;
//! - [`cmd`]: the command table, one file per command family, the shared state
//!   ([`Server`]), client state and INFO;
//! - [`config`]: configuration from flags, file and CONFIG SET;
//! - [`stream`]: pub/sub, keyspace notifications and the change log;
//! - [`tables`]: native DynamoDB-model tables (items, expressions, TTL sweep);
//! - [`types`]: Redis data types on the engine;
//! - [`acl`]: ACL users, rules and permission checks;
//! - [`engine`]: the partition/sort-key engine on fjall (keys, transactions, expiry, shards);
//! - [`metrics`]: the Prometheus exporter and the handles other layers record into;
//! - [`rdb`]: Redis's serialization format (DUMP/RESTORE payloads, RDB files).

/// The global allocator, named as INFO's `mem_allocator` reports it. Not glibc's malloc:
/// under a bulk load, fjall frees whole memtables (millions of small nodes) on its worker
/// threads while the network thread allocates; glibc then runs `malloc_consolidate` over
/// the shared arena inside the network thread's next large allocation, holding the arena
/// lock the flush worker waits on, which stalled every client for seconds at a time
/// (issue 15). mimalloc frees per thread-local page and also returns freed memory to the OS
/// promptly, which keeps RSS near the `maxmemory` budget.
pub const ALLOCATOR: &str = "mimalloc";

#[global_allocator]
static GLOBAL: allocator::MiMalloc = allocator::MiMalloc;

/// Turns transparent huge pages off for this process (Linux's `PR_SET_THP_DISABLE`).
///
/// mimalloc asks for huge pages on the memory it maps. The write buffer's layers are freed
/// and refilled as they are ingested, mimalloc returns the freed pages to the OS, and each
/// refill then touched fresh 2 MiB huge pages that the kernel zeroed whole in the page fault:
/// `clear_page_erms` was 0.25 of 1.79 µs of server CPU per pipelined LPUSH. With 4 KiB pages:
/// 1.50 µs, RSS 20 MB lower, reads unchanged (GET, HGET within noise). mimalloc's own switch
/// (`MIMALLOC_ALLOW_THP=0`) is read before `main` runs, so it cannot be set from here.
pub fn disable_transparent_huge_pages() {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
        tracing::debug!("transparent huge pages left on: {e}");
    }
}

pub mod acl;
mod allocator;
pub mod cmd;
pub mod config;
pub mod dynamodb_http;
pub mod engine;
pub mod geo;
pub mod metrics;
pub mod net;
pub mod rdb;
pub mod script;
pub mod server;
pub mod stream;
pub mod tables;
pub mod types;

/// The Redis version redyn reports (HELLO, INFO): the command set and replies follow Redis 7.
pub const REDIS_VERSION: &str = "7.2.0";

pub use config::{Cli, Config};
pub use server::{start, RunningServer, Server};
