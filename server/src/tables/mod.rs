//! Native DynamoDB-model tables: typed items addressed by a partition key and an optional
//! sort key, with DynamoDB's request and response shapes (see `cmd/ddb.rs`).
//!
//! Storage: the catalog in fjall keyspace `tables` (name → postcard [`TableDesc`]), items in
//! keyspace `items` under `slot(2) ‖ table id(4) ‖ len(4) ‖ partition key ‖ sort key` (key
//! attributes in order-preserving encodings), so one partition's items are one contiguous,
//! sort-key-ordered range: Query is a range scan. Writes lock the item's shard, like Redis
//! commands, and commit through the engine's one write path (`Txn`).

pub mod batch;
pub mod catalog;
pub mod expr;
pub mod iso_time;
pub mod number;
pub mod ops;
pub mod partiql;
pub mod records;
pub mod tags;
pub mod ttl;
pub mod value;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::RwLock;

use crate::engine::{Engine, Family, Rows, Txn, FIRST_TABLE_SPACE};
pub use catalog::TableDesc;

/// A DynamoDB-style error: its exception name and message.
#[derive(Debug, Clone, PartialEq)]
pub struct DdbError {
    pub kind: &'static str,
    pub message: String,
    /// Extra members of the HTTP API's error body (the old `Item` of a failed condition,
    /// `CancellationReasons`); the RESP error text carries only kind and message.
    pub detail: Option<serde_json::Map<String, serde_json::Value>>,
}

impl DdbError {
    pub fn validation(message: impl Into<String>) -> DdbError {
        DdbError {
            kind: "ValidationException",
            message: message.into(),
            detail: None,
        }
    }

    pub fn not_found(table: &str) -> DdbError {
        DdbError {
            kind: "ResourceNotFoundException",
            message: format!("Requested resource not found: Table: {table} not found"),
            detail: None,
        }
    }

    pub fn in_use(message: impl Into<String>) -> DdbError {
        DdbError {
            kind: "ResourceInUseException",
            message: message.into(),
            detail: None,
        }
    }

    pub fn conditional_failed() -> DdbError {
        DdbError {
            kind: "ConditionalCheckFailedException",
            message: "The conditional request failed".into(),
            detail: None,
        }
    }

    pub fn internal(message: impl Into<String>) -> DdbError {
        DdbError {
            kind: "InternalServerError",
            message: message.into(),
            detail: None,
        }
    }
}

impl DdbError {
    /// Adds a member to the HTTP error body.
    pub fn with_detail(mut self, name: &str, value: serde_json::Value) -> DdbError {
        self.detail
            .get_or_insert_with(Default::default)
            .insert(name.to_string(), value);
        self
    }
}

impl From<fjall::Error> for DdbError {
    fn from(e: fjall::Error) -> Self {
        DdbError::internal(format!("storage error: {e}"))
    }
}

impl From<crate::engine::EngineError> for DdbError {
    fn from(e: crate::engine::EngineError) -> Self {
        DdbError::internal(e.to_string())
    }
}

/// All tables: the catalog and item storage (item counts are the engine's, per table id).
pub struct Tables {
    pub(crate) engine: Arc<Engine>,
    pub(crate) items: Rows,
    pub(crate) tables: RwLock<BTreeMap<String, Arc<TableDesc>>>,
    next_id: AtomicU32,
    /// Recent TransactWriteItems ClientRequestTokens and their responses (idempotency).
    pub(crate) request_tokens: parking_lot::Mutex<HashMap<String, (Instant, serde_json::Value)>>,
    /// Change log and pub/sub for tables with streams (installed at server start).
    pub streams: std::sync::OnceLock<records::StreamSink>,
}

impl Tables {
    /// Loads the catalog.
    pub fn open(engine: Arc<Engine>) -> Result<Tables, DdbError> {
        let catalog = engine.rows(Family::Catalog);
        let items = engine.rows(Family::Items);
        let mut tables = BTreeMap::new();
        let mut max_id = FIRST_TABLE_SPACE;
        for guard in catalog.iter() {
            let (_, raw) = guard.into_inner()?;
            let desc = TableDesc::decode(&raw)
                .map_err(|e| DdbError::internal(format!("corrupt catalog: {e}")))?;
            max_id = max_id.max(desc.id + 1);
            tables.insert(desc.name.clone(), Arc::new(desc));
        }
        Ok(Tables {
            engine,
            items,
            tables: RwLock::new(tables),
            next_id: AtomicU32::new(max_id),
            request_tokens: Default::default(),
            streams: std::sync::OnceLock::new(),
        })
    }

    /// Commits item writes with the change records their changes produce.
    pub(crate) fn commit_changes(
        &self,
        txn: Txn<'_>,
        changes: &[records::ItemChange<'_>],
    ) -> Result<(), DdbError> {
        match self.streams.get() {
            Some(sink) => sink.commit(txn, changes)?,
            None => txn.commit()?,
        }
        Ok(())
    }

    pub(crate) fn allocate_id(&self) -> u32 {
        self.next_id.fetch_add(1, Ordering::SeqCst)
    }

    pub(crate) fn table(&self, name: &str) -> Result<Arc<TableDesc>, DdbError> {
        self.tables
            .read()
            .get(name)
            .cloned()
            .ok_or_else(|| DdbError::not_found(name))
    }

    /// (table name, item count) of every table (metrics).
    pub fn item_counts_by_table(&self) -> Vec<(String, u64)> {
        self.tables
            .read()
            .values()
            .map(|t| (t.name.clone(), self.item_count(t.id)))
            .collect()
    }

    pub(crate) fn item_count(&self, id: u32) -> u64 {
        self.engine.key_count(id)
    }
}
