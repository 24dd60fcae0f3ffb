//! Table change records, shaped like DynamoDB Streams records, for tables created with a
//! StreamSpecification: written to the table's durable change log (`__stream__:<table>`) in
//! the same batch as the item change, and published on the pub/sub channel of that name.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{json, Value as Json};

use super::catalog::TableDesc;
use super::value::{item_size, item_to_json, Item};
use crate::engine::Txn;
use crate::stream::changelog::{
    ChangeLog, Fields, RecordBuilder, RecordRequest, StreamId, STREAM_KEY_PREFIX,
};
use crate::stream::PubSub;

/// Where change records go, installed at server start.
pub struct StreamSink {
    pub log: Arc<ChangeLog>,
    pub pubsub: Arc<PubSub>,
}

/// Who made a change: a client, or DynamoDB's TTL service.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Client,
    TimeToLive,
}

/// One item change to record.
pub struct ItemChange<'a> {
    pub table: &'a TableDesc,
    /// Slot of the item's partition (its change record is accounted to that shard).
    pub slot: u16,
    pub old: Option<&'a Item>,
    pub new: Option<&'a Item>,
    pub origin: Origin,
}

impl ItemChange<'_> {
    /// Whether the table streams and the change is one DynamoDB records (an unchanged item
    /// and the delete of a missing item produce no record).
    pub fn recorded(&self) -> bool {
        self.table.stream.as_ref().is_some_and(|s| s.enabled)
            && self.old != self.new
            && (self.old.is_some() || self.new.is_some())
    }

    fn event_name(&self) -> &'static str {
        match (self.old, self.new) {
            (None, _) => "INSERT",
            (_, None) => "REMOVE",
            _ => "MODIFY",
        }
    }

    /// The DynamoDB Streams record for this change, with its sequence number.
    pub fn record(&self, id: StreamId) -> Json {
        let view = self
            .table
            .stream
            .as_ref()
            .map_or("NEW_AND_OLD_IMAGES", |s| s.view_type.as_str());
        let keys = self
            .table
            .key_item(self.new.or(self.old).expect("some image"));
        let mut dynamodb = json!({
            "ApproximateCreationDateTime": id.ms / 1000,
            "Keys": item_to_json(&keys),
            "SequenceNumber": format!("{:013}{:08}", id.ms, id.seq),
            "SizeBytes": self.new.or(self.old).map_or(0, item_size),
            "StreamViewType": view,
        });
        if matches!(view, "NEW_IMAGE" | "NEW_AND_OLD_IMAGES") {
            if let Some(new) = self.new {
                dynamodb["NewImage"] = item_to_json(new);
            }
        }
        if matches!(view, "OLD_IMAGE" | "NEW_AND_OLD_IMAGES") {
            if let Some(old) = self.old {
                dynamodb["OldImage"] = item_to_json(old);
            }
        }
        let mut record = json!({
            "eventID": format!("{:x}{:08x}", id.ms, id.seq),
            "eventName": self.event_name(),
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "local",
            "dynamodb": dynamodb,
            "eventSourceARN": self.table.stream_arn(),
        });
        if self.origin == Origin::TimeToLive {
            record["userIdentity"] =
                json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"});
        }
        record
    }

    pub fn fields(&self, id: StreamId) -> Fields {
        vec![
            (b"eventName".to_vec(), self.event_name().as_bytes().to_vec()),
            (b"record".to_vec(), self.record(id).to_string().into_bytes()),
        ]
    }
}

impl StreamSink {
    /// Commits `txn` together with the records of `changes`, then publishes them.
    pub fn commit(
        &self,
        txn: Txn<'_>,
        changes: &[ItemChange<'_>],
    ) -> Result<(), crate::engine::EngineError> {
        let recorded: Vec<&ItemChange> = changes.iter().filter(|c| c.recorded()).collect();
        if recorded.is_empty() {
            return txn.commit();
        }
        let builders: Vec<Box<dyn Fn(StreamId) -> Fields + '_>> = recorded
            .iter()
            .map(|c| Box::new(move |id| c.fields(id)) as Box<dyn Fn(StreamId) -> Fields>)
            .collect();
        let requests: Vec<RecordRequest> = recorded
            .iter()
            .zip(&builders)
            .map(|(c, b)| RecordRequest {
                stream: c.table.name.as_bytes().to_vec(),
                slot: c.slot,
                build: b.as_ref() as RecordBuilder,
            })
            .collect();
        let built = self.log.commit_with_records(&requests, txn)?;
        for (change, (_, fields)) in recorded.iter().zip(built) {
            let mut channel = STREAM_KEY_PREFIX.to_vec();
            channel.extend_from_slice(change.table.name.as_bytes());
            let record = fields
                .into_iter()
                .find(|(f, _)| f == b"record")
                .map(|(_, v)| v)
                .unwrap_or_default();
            self.pubsub
                .publish(&Bytes::from(channel), &Bytes::from(record));
        }
        Ok(())
    }
}
