//! CLUSTER: redyn is a single node without Redis Cluster, so, as redis-server with
//! `cluster-enabled no`, every CLUSTER subcommand answers that cluster support is disabled,
//! after Redis's unknown-subcommand and arity checks. Clients probe it this way (and COMMAND
//! LIST shows `cluster|…`, as Redis does).

use bytes::Bytes;
use redyn_protocol::args::eq_ignore_case;

use super::errors::{self, CmdError};
use super::{CmdResult, CommandSpec, Ctx, NO_KEYS};

pub const COMMANDS: &[CommandSpec] = &[CommandSpec::new(
    "cluster",
    -2,
    &[],
    NO_KEYS,
    "cluster",
    "3.0.0",
    "A container for cluster commands",
    cluster,
)];

/// Redis 7.0's CLUSTER subcommands and their arities.
pub const SUBCOMMANDS: &[(&str, i32)] = &[
    ("addslots", -3),
    ("addslotsrange", -4),
    ("bumpepoch", 2),
    ("count-failure-reports", 3),
    ("countkeysinslot", 3),
    ("delslots", -3),
    ("delslotsrange", -4),
    ("failover", -2),
    ("flushslots", 2),
    ("forget", 3),
    ("getkeysinslot", 4),
    ("help", 2),
    ("info", 2),
    ("keyslot", 3),
    ("links", 2),
    ("meet", -4),
    ("myid", 2),
    ("nodes", 2),
    ("replicas", 3),
    ("replicate", 3),
    ("reset", -2),
    ("saveconfig", 2),
    ("set-config-epoch", 3),
    ("setslot", -4),
    ("shards", 2),
    ("slaves", 3),
    ("slots", 2),
];

fn cluster(_ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let Some(&(name, arity)) = SUBCOMMANDS
        .iter()
        .find(|(n, _)| eq_ignore_case(&args[1], n))
    else {
        return Err(errors::unknown_subcommand("cluster", &args[1]));
    };
    let argc = args.len() as i32;
    if (arity >= 0 && argc != arity) || argc < -arity {
        return Err(errors::wrong_arity(&format!("cluster|{name}")));
    }
    Err(CmdError::new(
        "ERR This instance has cluster support disabled",
    ))
}
