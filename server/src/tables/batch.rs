//! BatchGetItem, BatchWriteItem, TransactGetItems and TransactWriteItems.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value as Json};

use super::catalog::{ItemKey, TableDesc};
use super::expr::{
    apply_update, evaluate, parse_condition, parse_update, Action, Cond, Placeholders,
};
use super::value::{item_from_json, Item};
use super::{DdbError, Tables};
use crate::engine::Locks;

type Req = Map<String, Json>;

/// How long a ClientRequestToken makes a TransactWriteItems call idempotent (as DynamoDB).
const TOKEN_TTL: Duration = Duration::from_secs(600);

fn object<'a>(v: &'a Json, what: &str) -> Result<&'a Map<String, Json>, DdbError> {
    v.as_object()
        .ok_or_else(|| DdbError::validation(format!("{what} must be an object")))
}

fn request_items(req: &Req) -> Result<&Map<String, Json>, DdbError> {
    req.get("RequestItems")
        .and_then(Json::as_object)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| DdbError::validation("1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1"))
}

/// One operation of a TransactWriteItems request.
enum WriteOp {
    Check,
    Put(Item),
    Update(Vec<Action>),
    Delete,
}

struct TransactItem {
    table: Arc<TableDesc>,
    key: ItemKey,
    key_item: Item,
    condition: Option<Cond>,
    op: WriteOp,
}

impl Tables {
    pub fn batch_get_item(&self, locks: Locks, req: &Req) -> Result<Json, DdbError> {
        let mut responses = Map::new();
        let mut total = 0;
        for (name, spec) in request_items(req)? {
            let spec = object(spec, "RequestItems entry")?;
            let keys = spec
                .get("Keys")
                .and_then(Json::as_array)
                .cloned()
                .unwrap_or_default();
            total += keys.len();
            if total > 100 {
                return Err(DdbError::validation(
                    "Too many items requested for the BatchGetItem call",
                ));
            }
            let mut items = Vec::new();
            for key in keys {
                let mut get = spec.clone();
                get.remove("Keys");
                get.insert("TableName".into(), json!(name));
                get.insert("Key".into(), key);
                let got = self.get_item(locks, &get)?;
                if let Some(item) = got.get("Item") {
                    items.push(item.clone());
                }
            }
            responses.insert(name.clone(), Json::Array(items));
        }
        Ok(json!({ "Responses": responses, "UnprocessedKeys": {} }))
    }

    pub fn batch_write_item(&self, locks: Locks, req: &Req) -> Result<Json, DdbError> {
        let requests = request_items(req)?;
        let count: usize = requests
            .values()
            .filter_map(Json::as_array)
            .map(Vec::len)
            .sum();
        if count > 25 {
            return Err(DdbError::validation(
                "Too many items requested for the BatchWriteItem call",
            ));
        }
        // Validate everything before writing anything.
        for name in requests.keys() {
            self.table(name)?;
        }
        for (name, writes) in requests {
            for write in writes.as_array().cloned().unwrap_or_default() {
                let write = object(&write, "WriteRequest")?;
                let mut inner = match (write.get("PutRequest"), write.get("DeleteRequest")) {
                    (Some(put), None) => object(put, "PutRequest")?.clone(),
                    (None, Some(del)) => object(del, "DeleteRequest")?.clone(),
                    _ => return Err(DdbError::validation("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes")),
                };
                inner.insert("TableName".into(), json!(name));
                if write.contains_key("PutRequest") {
                    self.put_item(locks, &inner)?;
                } else {
                    self.delete_item(locks, &inner)?;
                }
            }
        }
        Ok(json!({ "UnprocessedItems": {} }))
    }

    pub fn transact_get_items(&self, locks: Locks, req: &Req) -> Result<Json, DdbError> {
        let items = req
            .get("TransactItems")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        if items.is_empty() || items.len() > 100 {
            return Err(DdbError::validation("1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100"));
        }
        let gets = items
            .iter()
            .map(|item| {
                item.get("Get").and_then(Json::as_object).ok_or_else(|| {
                    DdbError::validation("TransactItems can only contain Get operations")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Hold every involved shard so the reads form one consistent snapshot.
        let mut slots = Vec::new();
        for get in &gets {
            let table = self.table(
                get.get("TableName")
                    .and_then(Json::as_str)
                    .unwrap_or_default(),
            )?;
            let key = item_from_json(
                get.get("Key")
                    .and_then(Json::as_object)
                    .ok_or_else(|| DdbError::validation("Get requires Key"))?,
            )?;
            slots.push(crate::engine::keys::key_slot(
                &table.key_of(&key)?.partition,
            ));
        }
        let held = locks.acquire(&self.engine, slots.into_iter());
        let responses = gets
            .into_iter()
            .map(|get| self.get_item(held.held(), get))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(json!({ "Responses": responses }))
    }

    fn parse_transact_item(&self, entry: &Json) -> Result<TransactItem, DdbError> {
        let entry = object(entry, "TransactWriteItem")?;
        if entry.len() != 1 {
            return Err(DdbError::validation(
                "TransactItems can only contain one of Check, Put, Update or Delete",
            ));
        }
        let (kind, body) = entry.iter().next().expect("one entry");
        let body = object(body, kind)?;
        let table = self.table(
            body.get("TableName")
                .and_then(Json::as_str)
                .unwrap_or_default(),
        )?;
        let ph = Placeholders::from_request(body)?;
        let condition = body
            .get("ConditionExpression")
            .and_then(Json::as_str)
            .map(|c| parse_condition(c, &ph, "ConditionExpression"))
            .transpose()?;
        let key_json = |field: &str| -> Result<Item, DdbError> {
            item_from_json(
                body.get(field)
                    .and_then(Json::as_object)
                    .ok_or_else(|| DdbError::validation(format!("{kind} requires {field}")))?,
            )
        };
        let (key_item, op) = match kind.as_str() {
            "ConditionCheck" => (key_json("Key")?, WriteOp::Check),
            "Delete" => (key_json("Key")?, WriteOp::Delete),
            "Put" => {
                let item = key_json("Item")?;
                (table.key_item(&item), WriteOp::Put(item))
            }
            "Update" => {
                let text = body
                    .get("UpdateExpression")
                    .and_then(Json::as_str)
                    .unwrap_or_default();
                (key_json("Key")?, WriteOp::Update(parse_update(text, &ph)?))
            }
            other => {
                return Err(DdbError::validation(format!(
                    "Unknown TransactWriteItem operation {other}"
                )))
            }
        };
        if condition.is_none() && matches!(op, WriteOp::Check) {
            return Err(DdbError::validation(
                "ConditionCheck requires a ConditionExpression",
            ));
        }
        let key = match &op {
            WriteOp::Put(item) => table.item_key(item, true)?,
            _ => table.key_of(&key_item)?,
        };
        Ok(TransactItem {
            table,
            key,
            key_item,
            condition,
            op,
        })
    }

    /// All-or-nothing writes across shards: every involved shard is locked, every condition
    /// checked against the current items, and only if all pass is one batch committed.
    pub fn transact_write_items(&self, locks: Locks, req: &Req) -> Result<Json, DdbError> {
        let token = req
            .get("ClientRequestToken")
            .and_then(Json::as_str)
            .map(str::to_string);
        if let Some(token) = &token {
            let mut seen = self.request_tokens.lock();
            seen.retain(|_, (at, _)| at.elapsed() < TOKEN_TTL);
            if let Some((_, response)) = seen.get(token) {
                return Ok(response.clone());
            }
        }
        let entries = req
            .get("TransactItems")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        if entries.is_empty() || entries.len() > 100 {
            return Err(DdbError::validation("1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100 and greater than or equal to 1"));
        }
        let items = entries
            .iter()
            .map(|e| self.parse_transact_item(e))
            .collect::<Result<Vec<_>, _>>()?;
        for (i, a) in items.iter().enumerate() {
            if items[..i]
                .iter()
                .any(|b| b.table.id == a.table.id && b.key == a.key)
            {
                return Err(DdbError::validation(
                    "Transaction request cannot include multiple operations on one item",
                ));
            }
        }
        let targets: Vec<(Arc<TableDesc>, ItemKey)> = items
            .iter()
            .map(|t| (t.table.clone(), t.key.clone()))
            .collect();
        self.mutate_items(locks, &targets, |current| {
            let empty = Item::new();
            let failed: Vec<bool> = items
                .iter()
                .zip(current)
                .map(|(t, old)| {
                    t.condition
                        .as_ref()
                        .is_some_and(|c| !evaluate(c, old.as_ref().unwrap_or(&empty)))
                })
                .collect();
            if failed.iter().any(|f| *f) {
                return Err(cancelled(&entries, &failed, current));
            }
            items
                .iter()
                .zip(current)
                .map(|(t, old)| {
                    Ok(match &t.op {
                        WriteOp::Check => old.clone(),
                        WriteOp::Put(item) => Some(item.clone()),
                        WriteOp::Delete => None,
                        WriteOp::Update(actions) => {
                            let mut item = old.clone().unwrap_or_else(|| t.key_item.clone());
                            apply_update(&mut item, actions)?;
                            Some(item)
                        }
                    })
                })
                .collect()
        })?;
        let response = json!({});
        if let Some(token) = token {
            self.request_tokens
                .lock()
                .insert(token, (Instant::now(), response.clone()));
        }
        Ok(response)
    }
}

/// TransactionCanceledException: the message lists each item's code, and the HTTP body's
/// `CancellationReasons` has one entry per item (with the old item where that entry asked
/// `ReturnValuesOnConditionCheckFailure: ALL_OLD`).
fn cancelled(entries: &[Json], failed: &[bool], current: &[Option<Item>]) -> DdbError {
    let codes: Vec<&str> = failed
        .iter()
        .map(|f| if *f { "ConditionalCheckFailed" } else { "None" })
        .collect();
    let reasons: Vec<Json> = entries
        .iter()
        .zip(failed)
        .zip(current)
        .map(|((entry, failed), old)| {
            if !failed {
                return json!({"Code": "None"});
            }
            let body = entry
                .as_object()
                .and_then(|e| e.values().next())
                .and_then(Json::as_object);
            let base = DdbError::conditional_failed();
            let error = match body {
                Some(body) => super::ops::with_old_item(base, body, old.as_ref()),
                None => base,
            };
            let mut reason = json!({"Code": "ConditionalCheckFailed", "Message": error.message});
            if let Some(item) = error.detail.and_then(|mut d| d.remove("Item")) {
                reason["Item"] = item;
            }
            reason
        })
        .collect();
    DdbError {
        kind: "TransactionCanceledException",
        message: format!(
            "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
            codes.join(", ")
        ),
        detail: None,
    }
    .with_detail("CancellationReasons", Json::Array(reasons))
}
