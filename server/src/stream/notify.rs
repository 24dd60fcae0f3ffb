//! Keyspace notifications, formatted exactly as Redis does: for an event `del` on key `k`
//! in db 0, `__keyspace@0__:k` receives `del` (class `K`) and `__keyevent@0__:del`
//! receives `k` (class `E`), if the event's class is enabled by `notify-keyspace-events`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Weak};

use bytes::Bytes;

use super::changelog::ChangeLog;
use super::PubSub;
use crate::engine::{Engine, KeyEvent};

const KEYSPACE: u32 = 1 << 0;
const KEYEVENT: u32 = 1 << 1;
const KEY_MISS: u32 = 1 << 2;
const NEW_KEY: u32 = 1 << 3;

/// Event classes in Redis's canonical order, with their bits.
const CLASSES: &[(char, u32)] = &[
    ('g', 1 << 4),
    ('$', 1 << 5),
    ('l', 1 << 6),
    ('s', 1 << 7),
    ('h', 1 << 8),
    ('z', 1 << 9),
    ('x', 1 << 10),
    ('e', 1 << 11),
    ('t', 1 << 12),
    ('d', 1 << 13),
];

/// `A`: every class except key-miss and new-key events.
fn all_classes() -> u32 {
    CLASSES.iter().fold(0, |acc, (_, bit)| acc | bit)
}

/// Parses a `notify-keyspace-events` value into a bit set (`None` for a bad character).
pub fn parse_flags(value: &str) -> Option<u32> {
    let mut flags = 0;
    for c in value.chars() {
        flags |= match c {
            'A' => all_classes(),
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            'm' => KEY_MISS,
            'n' => NEW_KEY,
            other => CLASSES.iter().find(|(ch, _)| *ch == other)?.1,
        };
    }
    Some(flags)
}

/// The canonical spelling CONFIG GET reports (e.g. "KEA" -> "AKE").
pub fn flags_to_string(flags: u32) -> String {
    let mut out = String::new();
    if flags & all_classes() == all_classes() {
        out.push('A');
    } else {
        for (c, bit) in CLASSES {
            if flags & bit != 0 {
                out.push(*c);
            }
        }
    }
    for (c, bit) in [
        ('K', KEYSPACE),
        ('E', KEYEVENT),
        ('m', KEY_MISS),
        ('n', NEW_KEY),
    ] {
        if flags & bit != 0 {
            out.push(c);
        }
    }
    out
}

fn class_bit(class: char) -> u32 {
    if class == 'n' {
        return NEW_KEY;
    }
    CLASSES
        .iter()
        .find(|(c, _)| *c == class)
        .map_or(0, |(_, bit)| *bit)
}

/// Routes committed keyspace events to pub/sub according to the configured flags.
pub struct Notifications {
    flags: AtomicU32,
}

impl Notifications {
    /// Installs the engine's notifier; returns the handle CONFIG SET updates.
    pub fn install(
        engine: &Engine,
        pubsub: &Arc<PubSub>,
        changelog: &Arc<ChangeLog>,
    ) -> Arc<Notifications> {
        let notifications = Arc::new(Notifications {
            flags: AtomicU32::new(0),
        });
        let weak_pubsub: Weak<PubSub> = Arc::downgrade(pubsub);
        let weak_log: Weak<ChangeLog> = Arc::downgrade(changelog);
        let weak_self = Arc::downgrade(&notifications);
        let _ = engine.notifier.set(Box::new(move |event: &KeyEvent| {
            if let (Some(pubsub), Some(log), Some(this)) = (
                weak_pubsub.upgrade(),
                weak_log.upgrade(),
                weak_self.upgrade(),
            ) {
                this.publish(&pubsub, &log, event);
            }
        }));
        notifications
    }

    /// Applies a (validated) `notify-keyspace-events` value.
    pub fn configure(&self, engine: &Engine, value: &str) {
        let flags = parse_flags(value).unwrap_or(0);
        self.flags.store(flags, Ordering::Relaxed);
        let active = flags & (KEYSPACE | KEYEVENT) != 0 && flags & !(KEYSPACE | KEYEVENT) != 0;
        engine.notify_enabled.store(active, Ordering::Relaxed);
    }

    fn publish(&self, pubsub: &PubSub, log: &ChangeLog, event: &KeyEvent) {
        let flags = self.flags.load(Ordering::Relaxed);
        if flags & class_bit(event.class) == 0 {
            return;
        }
        // Notified events are also kept in the db's durable change log
        // (`__stream__:__keyspace@<db>__`), so a consumer of Redis-type changes (session
        // hashes, leaderboards) can resume after a disconnect instead of losing messages.
        let log_name = format!("__keyspace@{}__", event.space);
        if let Err(e) = log.append(
            log_name.as_bytes(),
            &[(b"event", event.event.as_bytes()), (b"key", &event.key)],
        ) {
            tracing::warn!("change log append failed: {e}");
        }
        let key = Bytes::copy_from_slice(&event.key);
        if flags & KEYSPACE != 0 {
            let mut channel = format!("__keyspace@{}__:", event.space).into_bytes();
            channel.extend_from_slice(&event.key);
            pubsub.publish(
                &Bytes::from(channel),
                &Bytes::from_static(event.event.as_bytes()),
            );
        }
        if flags & KEYEVENT != 0 {
            let channel = format!("__keyevent@{}__:{}", event.space, event.event);
            pubsub.publish(&Bytes::from(channel), &key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_normalise_like_redis() {
        assert_eq!(flags_to_string(parse_flags("KEA").unwrap()), "AKE");
        assert_eq!(flags_to_string(parse_flags("Kg$").unwrap()), "g$K");
        assert_eq!(flags_to_string(parse_flags("").unwrap()), "");
        assert!(parse_flags("Q").is_none());
    }
}
