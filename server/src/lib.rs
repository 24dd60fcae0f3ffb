//! redyn: a Redis-protocol server storing DynamoDB-style tables in fjall.
//!
//! Module map (see `DESIGN.md`):
//! - [`net`]: TCP listener, connection loop, client state;
//! - [`cmd`]: the command table and one file per command family;
//! - [`engine`]: the partition/sort-key engine on fjall (keys, transactions, expiry, shards);
//! - [`types`]: Redis data types on the engine;
//! - [`config`], [`info`], [`server`]: configuration, INFO, start-up and shutdown.

pub mod cmd;
pub mod config;
pub mod engine;
pub mod info;
pub mod metrics;
pub mod net;
pub mod server;
pub mod stream;
pub mod tables;
pub mod types;

/// The Redis version redyn reports (HELLO, INFO): the command set and replies follow Redis 7.
pub const REDIS_VERSION: &str = "7.2.0";

pub use config::{Cli, Config};
pub use server::{start, RunningServer, Server};
