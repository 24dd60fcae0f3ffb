//! Commands: the command table and dispatch.
//!
//! Each command family lives in its own file and exports a `COMMANDS` slice of
//! [`CommandSpec`]s (name, arity, flags, key positions, handler, summary). [`table`] joins
//! them into the one table the dispatcher, COMMAND INFO/DOCS and COMMAND COUNT read.

pub mod connection;
pub mod dispatch;
pub mod errors;
pub mod hash;
pub mod keys;
pub mod server;
pub mod string;
pub mod table;
pub mod transaction;

use std::sync::Arc;

use bytes::Bytes;
use redyn_protocol::Reply;

use crate::engine::{Engine, EngineError, Txn};
use crate::net::client::ClientState;
use crate::server::Server;

pub use errors::CmdError;
pub use table::{CommandSpec, CommandTable, Flag, ALL_KEYS, NO_KEYS, ONE_KEY};

/// What a handler returns: a reply, or an error reply.
pub type CmdResult = Result<Reply, CmdError>;

/// A command handler. `args[0]` is the command name as sent.
pub type Handler = fn(&mut Ctx, &[Bytes]) -> CmdResult;

/// Everything a handler may use: the server and the calling client's state.
pub struct Ctx<'a> {
    pub server: &'a Arc<Server>,
    pub client: &'a mut ClientState,
}

impl<'a> Ctx<'a> {
    pub fn engine(&self) -> &'a Engine {
        &self.server.engine
    }

    /// The client's selected database.
    pub fn db(&self) -> u32 {
        self.client.db
    }

    /// A transaction over `keys` in the client's database. Inside EXEC, the client already
    /// holds every shard lock, so none are taken again.
    pub fn txn(&self, keys: &[&[u8]]) -> Txn<'a> {
        let engine = self.engine();
        if self.client.in_exec {
            Txn::with_locks(engine, self.db(), None)
        } else {
            engine.txn(self.db(), keys)
        }
    }

    /// A transaction over arguments that are keys.
    pub fn txn_args(&self, keys: &[Bytes]) -> Txn<'a> {
        let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_ref()).collect();
        self.txn(&refs)
    }

    /// A transaction holding every shard (whole-database operations).
    pub fn txn_all(&self) -> Txn<'a> {
        let engine = self.engine();
        if self.client.in_exec {
            Txn::with_locks(engine, self.db(), None)
        } else {
            engine.txn_all(self.db())
        }
    }

    /// Commits `txn`, remembering the write for `appendfsync always`.
    pub fn commit(&mut self, txn: Txn) -> Result<(), CmdError> {
        let seq = txn.commit()?;
        self.client.last_write_seq = self.client.last_write_seq.max(seq);
        Ok(())
    }
}

impl From<EngineError> for CmdError {
    fn from(e: EngineError) -> Self {
        tracing::error!("engine error: {e}");
        CmdError::new(format!("ERR {e}"))
    }
}
