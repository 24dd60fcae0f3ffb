//! Pub/sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, SSUBSCRIBE,
//! SUNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use redyn_protocol::Reply;

use super::client::ClientState;
use super::errors::{self, CmdError};
use super::shared::Server;
use super::{CmdResult, CommandSpec, Ctx, Flag, ALL_KEYS, NO_KEYS, ONE_KEY};
use crate::stream::pubsub::Kind;
use Flag::*;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "subscribe",
        -2,
        &[PubSub, NoScript, Loading, Stale, PubSubContext],
        NO_KEYS,
        "pubsub",
        "2.0.0",
        "Listens for messages published to channels.",
        subscribe,
    ),
    CommandSpec::new(
        "unsubscribe",
        -1,
        &[PubSub, NoScript, Loading, Stale, PubSubContext],
        NO_KEYS,
        "pubsub",
        "2.0.0",
        "Stops listening to messages posted to channels.",
        unsubscribe,
    ),
    CommandSpec::new(
        "psubscribe",
        -2,
        &[PubSub, NoScript, Loading, Stale, PubSubContext],
        NO_KEYS,
        "pubsub",
        "2.0.0",
        "Listens for messages published to channels that match one or more patterns.",
        subscribe,
    ),
    CommandSpec::new(
        "punsubscribe",
        -1,
        &[PubSub, NoScript, Loading, Stale, PubSubContext],
        NO_KEYS,
        "pubsub",
        "2.0.0",
        "Stops listening to messages published to channels that match one or more patterns.",
        unsubscribe,
    ),
    CommandSpec::new(
        "ssubscribe",
        -2,
        &[PubSub, NoScript, Loading, Stale, PubSubContext],
        ALL_KEYS,
        "pubsub",
        "7.0.0",
        "Listens for messages published to shard channels.",
        subscribe,
    ),
    CommandSpec::new(
        "sunsubscribe",
        -1,
        &[PubSub, NoScript, Loading, Stale, PubSubContext],
        ALL_KEYS,
        "pubsub",
        "7.0.0",
        "Stops listening to messages posted to shard channels.",
        unsubscribe,
    ),
    CommandSpec::new(
        "publish",
        3,
        &[PubSub, Loading, Stale, Fast],
        NO_KEYS,
        "pubsub",
        "2.0.0",
        "Posts a message to a channel.",
        publish,
    ),
    CommandSpec::new(
        "spublish",
        3,
        &[PubSub, Loading, Stale, Fast],
        ONE_KEY,
        "pubsub",
        "7.0.0",
        "Post a message to a shard channel",
        publish,
    ),
    CommandSpec::new(
        "pubsub",
        -2,
        &[PubSub, Loading, Stale],
        NO_KEYS,
        "pubsub",
        "2.8.0",
        "A container for Pub/Sub commands.",
        pubsub,
    ),
];

/// The subscription kind and reply words of a (un)subscribe command.
fn kind_of(name: &[u8]) -> (Kind, &'static str, &'static str) {
    match name.to_ascii_lowercase().as_slice() {
        b"psubscribe" | b"punsubscribe" => (Kind::Pattern, "psubscribe", "punsubscribe"),
        b"ssubscribe" | b"sunsubscribe" => (Kind::Shard, "ssubscribe", "sunsubscribe"),
        _ => (Kind::Channel, "subscribe", "unsubscribe"),
    }
}

fn set_of(client: &mut ClientState, kind: Kind) -> &mut std::collections::HashSet<Bytes> {
    match kind {
        Kind::Channel => &mut client.subs.channels,
        Kind::Pattern => &mut client.subs.patterns,
        Kind::Shard => &mut client.subs.shard_channels,
    }
}

/// The count a (un)subscribe confirmation carries: shard channels are counted apart.
fn count_for(client: &ClientState, kind: Kind) -> i64 {
    match kind {
        Kind::Shard => client.subs.shard_channels.len() as i64,
        _ => client.subs.count() as i64,
    }
}

fn sync_info(client: &ClientState) {
    let total = client.subs.count() + client.subs.shard_channels.len();
    client
        .info
        .subscriptions
        .store(total as u64, Ordering::Relaxed);
}

/// SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE.
fn subscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    // Redis 7 runs a SUBSCRIBE queued in MULTI; redyn refuses it: a subscription that starts
    // mid-EXEC would push messages into the middle of the EXEC reply.
    if ctx.locks.is_held() || ctx.client.multi.is_some() {
        return Err(CmdError::new(
            "ERR Command not allowed inside a transaction",
        ));
    }
    let (kind, word, _) = kind_of(&args[0]);
    let handle = ctx.client.push_handle();
    let mut frames = Vec::with_capacity(args.len() - 1);
    for name in &args[1..] {
        if set_of(ctx.client, kind).insert(name.clone()) {
            ctx.server.pubsub.subscribe(kind, name, &handle);
        }
        frames.push(Reply::Push(vec![
            Reply::text(word),
            Reply::Bulk(name.clone()),
            Reply::Int(count_for(ctx.client, kind)),
        ]));
    }
    sync_info(ctx.client);
    Ok(Reply::Multi(frames))
}

/// UNSUBSCRIBE, PUNSUBSCRIBE, SUNSUBSCRIBE (no arguments = all of that kind).
fn unsubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (kind, _, word) = kind_of(&args[0]);
    let names: Vec<Bytes> = if args.len() > 1 {
        args[1..].to_vec()
    } else {
        set_of(ctx.client, kind).iter().cloned().collect()
    };
    if names.is_empty() {
        return Ok(Reply::Multi(vec![Reply::Push(vec![
            Reply::text(word),
            Reply::Nil,
            Reply::Int(count_for(ctx.client, kind)),
        ])]));
    }
    let mut frames = Vec::with_capacity(names.len());
    for name in names {
        if set_of(ctx.client, kind).remove(&name) {
            ctx.server.pubsub.unsubscribe(kind, &name, ctx.client.id);
        }
        frames.push(Reply::Push(vec![
            Reply::text(word),
            Reply::Bulk(name),
            Reply::Int(count_for(ctx.client, kind)),
        ]));
    }
    sync_info(ctx.client);
    Ok(Reply::Multi(frames))
}

/// PUBLISH and SPUBLISH: the number of clients that received the message.
fn publish(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let pubsub = &ctx.server.pubsub;
    let receivers = if args[0].eq_ignore_ascii_case(b"spublish") {
        pubsub.spublish(&args[1], &args[2])
    } else {
        pubsub.publish(&args[1], &args[2])
    };
    Ok(Reply::Int(receivers as i64))
}

fn pubsub(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = args[1].to_ascii_lowercase();
    let pubsub = &ctx.server.pubsub;
    let names = |kind: Kind| -> Result<Reply, CmdError> {
        if args.len() > 3 {
            return Err(errors::wrong_arity(&format!(
                "pubsub|{}",
                String::from_utf8_lossy(&sub)
            )));
        }
        let pattern = args.get(2).map(|p| p.as_ref());
        Ok(Reply::Array(
            pubsub
                .channel_names(kind, pattern)
                .into_iter()
                .map(Reply::Bulk)
                .collect(),
        ))
    };
    let counts = |kind: Kind| {
        Reply::Array(
            args[2..]
                .iter()
                .flat_map(|c| {
                    [
                        Reply::Bulk(c.clone()),
                        Reply::Int(pubsub.subscriber_count(kind, c) as i64),
                    ]
                })
                .collect(),
        )
    };
    match sub.as_slice() {
        b"channels" => names(Kind::Channel),
        b"shardchannels" => names(Kind::Shard),
        b"numsub" => Ok(counts(Kind::Channel)),
        b"shardnumsub" => Ok(counts(Kind::Shard)),
        b"numpat" if args.len() == 2 => Ok(Reply::Int(pubsub.pattern_count() as i64)),
        b"numpat" => Err(errors::wrong_arity("pubsub|numpat")),
        b"help" => Ok(Reply::status_lines(&[
            "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CHANNELS [<pattern>]",
            "NUMPAT",
            "NUMSUB [<channel> ...]",
            "SHARDCHANNELS [<pattern>]",
            "SHARDNUMSUB [<shardchannel> ...]",
        ])),
        _ => Err(errors::unknown_subcommand("pubsub", &args[1])),
    }
}

/// Drops every subscription of a disconnecting client.
pub fn unsubscribe_all(server: &Server, client: &mut ClientState) {
    for (kind, set) in [
        (Kind::Channel, std::mem::take(&mut client.subs.channels)),
        (Kind::Pattern, std::mem::take(&mut client.subs.patterns)),
        (Kind::Shard, std::mem::take(&mut client.subs.shard_channels)),
    ] {
        for name in set {
            server.pubsub.unsubscribe(kind, &name, client.id);
        }
    }
    client.subs.handle = None;
    sync_info(client);
}

/// Whether a RESP2 client is in subscribe mode (only pub/sub commands, PING, QUIT, RESET
/// are allowed then).
pub fn in_subscribe_mode(client: &ClientState) -> bool {
    client.resp == redyn_protocol::RespVersion::Resp2 && !client.subs.is_empty()
}
