//! Change streams: pub/sub, keyspace notifications (and, later, table change records and
//! the durable change log).

pub mod changelog;
pub mod notify;
pub mod pubsub;
pub mod tracking;

pub use pubsub::{PubSub, PushMessage, SubscriberHandle};
