//! Commands: the command table and dispatch.
//!
//! Each command family lives in its own file and exports a `COMMANDS` slice of
//! [`CommandSpec`]s (name, arity, flags, key positions, handler, summary). [`table`] joins
//! them into the one table the dispatcher, COMMAND INFO/DOCS and COMMAND COUNT read.

pub mod acl;
pub mod bits;
pub mod client;
pub mod client_commands;
pub mod cluster;
pub mod cold_reads;
pub mod command_keys;
pub mod connection;
pub mod ddb;
pub mod debug;
pub mod dispatch;
pub mod dump;
pub mod dump_stream;
pub mod errors;
pub mod function;
pub mod geo;
pub mod hash;
pub mod hll;
pub mod info;
pub mod introspection;
pub mod key_specs;
mod key_specs_data;
pub mod keys;
pub mod list;
pub mod memory;
pub mod monitor;
pub mod pipeline;
pub mod pubsub;
pub mod sampling;
pub mod script;
pub mod server;
pub mod set;
pub mod shared;
pub mod sort;
pub mod stream;
pub mod stream_group;
pub mod stream_log;
pub mod string;
pub mod table;
pub mod tracking;
pub mod transaction;
pub mod wait_queue;
pub mod zset;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use redyn_protocol::Reply;

use crate::engine::{Batch, Engine, EngineError, Locks, Txn};
use client::ClientState;
use shared::Server;

pub use errors::CmdError;
pub use table::{CommandSpec, CommandTable, Flag, ALL_KEYS, NO_KEYS, ONE_KEY};

/// What a handler returns: a reply, or an error reply.
pub type CmdResult = Result<Reply, CmdError>;

/// A command handler. `args[0]` is the command name as sent.
pub type Handler = fn(&mut Ctx, &[Bytes]) -> CmdResult;

/// A handler's request to block its client until one of some keys changes (BZPOPMIN…).
/// The connection waits, then runs the same command again.
pub struct BlockRequest {
    /// Metadata row keys and their change signals, acquired before the handler released
    /// its locks, so no write between "nothing there" and "waiting" can be missed.
    pub signals: Vec<(Vec<u8>, tokio::sync::watch::Receiver<u64>)>,
    pub deadline: Option<Instant>,
}

/// Parses a blocking timeout in seconds (`0` = forever), with Redis's errors.
pub fn parse_block_timeout(arg: &[u8]) -> Result<Option<Duration>, CmdError> {
    let secs = redyn_protocol::args::parse_f64(arg)
        .ok_or_else(|| CmdError::new("ERR timeout is not a float or out of range"))?;
    // Redis converts to milliseconds in a long long: values beyond it (inf included)
    // overflow to negative there, so they get the same answer (and no Duration panics).
    if !(0.0..9.2e18).contains(&(secs * 1000.0)) {
        return Err(CmdError::new("ERR timeout is negative"));
    }
    Ok((secs > 0.0).then(|| Duration::from_secs_f64(secs)))
}

/// Everything a handler may use: the server, the calling client's state, and the lock
/// scope the command runs under (its own, or the enclosing EXEC's).
pub struct Ctx<'a> {
    pub server: &'a Arc<Server>,
    pub client: &'a mut ClientState,
    pub locks: Locks<'a>,
    /// The pipelined batch the command runs in, if any (see [`pipeline`]).
    pub batch: Option<&'a Batch>,
}

impl<'a> Ctx<'a> {
    pub fn engine(&self) -> &'a Engine {
        &self.server.engine
    }

    /// The client's selected database.
    pub fn db(&self) -> u32 {
        self.client.db
    }

    /// A transaction over `keys` in the client's database, under the command's lock scope
    /// (inside EXEC the block already holds every shard lock, so none are taken again).
    pub fn txn(&self, keys: &[&[u8]]) -> Txn<'a> {
        self.engine()
            .txn(self.locks, self.db(), keys)
            .in_batch(self.batch)
    }

    /// A transaction over arguments that are keys.
    pub fn txn_args(&self, keys: &[Bytes]) -> Txn<'a> {
        let first_slot = (self.batch)
            .zip(keys.first())
            .and_then(|(batch, key)| batch.announced_slot(key));
        self.engine()
            .txn_with_first_slot(self.locks, self.db(), keys, first_slot)
            .in_batch(self.batch)
    }

    /// A transaction holding every shard (whole-database operations).
    pub fn txn_all(&self) -> Txn<'a> {
        self.engine()
            .txn_all(self.locks, self.db())
            .in_batch(self.batch)
    }

    /// Blocks the client on `keys` (call while the transaction that found them empty is
    /// still alive). Inside MULTI/EXEC blocking commands do not block: they time out at
    /// once, as in Redis. The returned placeholder reply is what a timeout answers.
    pub fn block_on(&mut self, keys: &[&[u8]], timeout: Option<Duration>) -> CmdResult {
        if self.locks.is_held() {
            return Ok(Reply::NilArray);
        }
        let deadline = match self.client.block_deadline {
            Some(original) => original,
            None => timeout.map(|t| Instant::now() + t),
        };
        let db = self.db();
        let signals = keys
            .iter()
            .map(|key| {
                let raw = crate::engine::keys::meta_key(db, key);
                let rx = self.engine().signals.acquire(&raw);
                (raw, rx)
            })
            .collect();
        self.client.blocked = Some(BlockRequest { signals, deadline });
        Ok(Reply::NilArray)
    }

    /// Commits `txn` (the dispatcher notes the write for `appendfsync always`).
    pub fn commit(&mut self, txn: Txn) -> Result<(), CmdError> {
        txn.commit()?;
        Ok(())
    }
}

impl From<EngineError> for CmdError {
    fn from(e: EngineError) -> Self {
        if let EngineError::WritesRefused(reply) = e {
            // Already logged once per state change by the disk guard.
            return CmdError::new(reply);
        }
        tracing::error!("engine error: {e}");
        CmdError::new(format!("ERR {e}"))
    }
}
