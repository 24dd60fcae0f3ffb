//! redyn-protocol: the Redis wire protocol, with no I/O and no storage.
//!
//! - [`request`]: parse client requests (RESP multibulk and inline) with Redis's limits and
//!   protocol error texts.
//! - [`reply`]: replies and their RESP2/RESP3 encoding.
//! - [`args`]: number parsing/formatting with Redis's exact rules.
//! - [`glob`]: Redis glob patterns.

pub mod args;
pub mod glob;
pub mod reply;
pub mod request;

pub use reply::{Reply, RespVersion};
pub use request::{ParserLimits, ProtocolError, RequestParser};
