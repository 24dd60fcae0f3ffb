//! Table operations with DynamoDB's request/response JSON: CreateTable, DescribeTable,
//! ListTables, DeleteTable, PutItem, GetItem, DeleteItem, Query, Scan, UpdateTimeToLive,
//! DescribeTimeToLive.

use std::ops::Bound;
use std::sync::Arc;

use serde_json::{json, Map, Value as Json};

use super::catalog::{ItemKey, KeyAttr, StreamSpec, TableDesc};
use super::expr::{
    apply_update, evaluate, parse_condition, parse_key_condition, parse_projection, parse_update,
    Cond, Path, Placeholders, SortCondition,
};
use super::records::{ItemChange, Origin};
use super::value::{
    decode_item, encode_item, item_from_json, item_size, item_to_json, Item, Value,
};
use super::{DdbError, Tables};
use crate::engine::keys::{key_slot, prefix_successor, SLOTS};
use crate::engine::{Family, Locks, Row};

type Req = Map<String, Json>;

/// An item before and after a write (`None` = absent).
pub(crate) type Change = (Option<Item>, Option<Item>);

/// DynamoDB's item size limit.
const MAX_ITEM_BYTES: usize = 400 * 1024;
/// Query/Scan page limit.
const MAX_PAGE_BYTES: usize = 1024 * 1024;

/// Parameters of the legacy API and expression kinds this version does not evaluate yet.
const UNSUPPORTED: &[&str] = &[
    "Expected",
    "AttributeUpdates",
    "KeyConditions",
    "QueryFilter",
    "ScanFilter",
    "AttributesToGet",
    "ConditionalOperator",
];

fn reject_unsupported(req: &Req) -> Result<(), DdbError> {
    match UNSUPPORTED.iter().find(|p| req.contains_key(**p)) {
        Some(p) => Err(DdbError::validation(format!(
            "{p} is not supported by redyn yet"
        ))),
        None => Ok(()),
    }
}

fn required_str<'a>(req: &'a Req, field: &str) -> Result<&'a str, DdbError> {
    req.get(field).and_then(Json::as_str).ok_or_else(|| {
        let mut camel = field.to_string();
        camel[..1].make_ascii_lowercase();
        DdbError::validation(format!(
            "1 validation error detected: Value null at '{camel}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

fn required_item(req: &Req, field: &str) -> Result<Item, DdbError> {
    let map = req
        .get(field)
        .and_then(Json::as_object)
        .ok_or_else(|| DdbError::validation(format!("1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null")))?;
    item_from_json(map)
}

fn validate_table_name(name: &str) -> Result<(), DdbError> {
    let ok = (3..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(DdbError::validation(format!(
            "1 validation error detected: Value '{name}' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
        )))
    }
}

/// Adds the old item to a failed condition's error when `req` asks for it with
/// `ReturnValuesOnConditionCheckFailure: ALL_OLD` (and the item exists).
pub(crate) fn with_old_item(error: DdbError, req: &Req, old: Option<&Item>) -> DdbError {
    let wanted = req
        .get("ReturnValuesOnConditionCheckFailure")
        .and_then(Json::as_str)
        == Some("ALL_OLD");
    match old {
        Some(item) if wanted => error.with_detail("Item", item_to_json(item)),
        _ => error,
    }
}

/// Secondary indexes are refused clearly rather than ignored: a Query on an index that
/// does not exist would otherwise fail later, far from the cause.
fn reject_indexes(req: &Req) -> Result<(), DdbError> {
    for field in ["GlobalSecondaryIndexes", "LocalSecondaryIndexes"] {
        if req
            .get(field)
            .and_then(Json::as_array)
            .is_some_and(|a| !a.is_empty())
        {
            return Err(DdbError::validation(format!(
                "{field} are not supported by redyn: create the table without secondary indexes"
            )));
        }
    }
    Ok(())
}

/// The stream settings after UpdateTable's StreamSpecification, with DynamoDB's checks.
fn stream_update(table: &TableDesc, spec: &Json) -> Result<StreamSpec, DdbError> {
    let enabled = spec["StreamEnabled"].as_bool().ok_or_else(|| {
        DdbError::validation("1 validation error detected: Value null at 'streamSpecification.streamEnabled' failed to satisfy constraint: Member must not be null")
    })?;
    let current = table.stream.as_ref().filter(|s| s.enabled);
    if !enabled {
        return match current {
            Some(s) => Ok(StreamSpec {
                enabled: false,
                view_type: s.view_type.clone(),
            }),
            None => Err(DdbError::validation(format!(
                "Table does not have an enabled stream: TableName: {}",
                table.name
            ))),
        };
    }
    let view_type = spec["StreamViewType"].as_str().ok_or_else(|| {
        DdbError::validation("One or more parameter values were invalid: StreamViewType must be set when StreamEnabled is true")
    })?;
    if !["NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY"].contains(&view_type) {
        return Err(DdbError::validation(format!("1 validation error detected: Value '{view_type}' at 'streamSpecification.streamViewType' failed to satisfy constraint: Member must satisfy enum value set: [NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES, KEYS_ONLY]")));
    }
    if current.is_some() {
        return Err(DdbError::validation(format!(
            "Table already has an enabled stream: TableName: {}",
            table.name
        )));
    }
    Ok(StreamSpec {
        enabled: true,
        view_type: view_type.to_string(),
    })
}

/// Row key prefix of one partition of a table.
fn partition_prefix(table: &TableDesc, partition: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(10 + partition.len());
    out.extend_from_slice(&key_slot(partition).to_be_bytes());
    out.extend_from_slice(&table.id.to_be_bytes());
    out.extend_from_slice(&(partition.len() as u32).to_be_bytes());
    out.extend_from_slice(partition);
    out
}

fn row_key(table: &TableDesc, key: &ItemKey) -> Vec<u8> {
    let mut out = partition_prefix(table, &key.partition);
    out.extend_from_slice(&key.sort);
    out
}

/// Whether an item has expired under the table's TTL attribute (hidden from reads).
pub(crate) fn expired(table: &TableDesc, item: &Item) -> bool {
    let Some(attr) = &table.ttl_attribute else {
        return false;
    };
    let now = crate::engine::now_ms() as f64 / 1000.0;
    matches!(item.get(attr), Some(v @ Value::N(_)) if v.number().is_some_and(|n| n.to_f64() < now))
}

fn project(item: Item, projection: &Option<Vec<Path>>) -> Item {
    match projection {
        Some(paths) => super::expr::project(&item, paths),
        None => item,
    }
}

fn projection_of(req: &Req, ph: &Placeholders) -> Result<Option<Vec<Path>>, DdbError> {
    req.get("ProjectionExpression")
        .and_then(Json::as_str)
        .map(|p| parse_projection(p, ph))
        .transpose()
}

fn parse_key_schema(req: &Req) -> Result<(KeyAttr, Option<KeyAttr>, Vec<KeyAttr>), DdbError> {
    let defs: Vec<KeyAttr> = req
        .get("AttributeDefinitions")
        .and_then(Json::as_array)
        .ok_or_else(|| DdbError::validation("1 validation error detected: Value null at 'attributeDefinitions' failed to satisfy constraint: Member must not be null"))?
        .iter()
        .map(|d| {
            let name = d["AttributeName"].as_str().unwrap_or_default().to_string();
            let kind = d["AttributeType"].as_str().unwrap_or_default().to_string();
            if !["S", "N", "B"].contains(&kind.as_str()) {
                return Err(DdbError::validation(format!(
                    "1 validation error detected: Value '{kind}' at 'attributeDefinitions.1.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]"
                )));
            }
            Ok(KeyAttr { name, kind })
        })
        .collect::<Result<_, _>>()?;
    let schema = req
        .get("KeySchema")
        .and_then(Json::as_array)
        .ok_or_else(|| DdbError::validation("1 validation error detected: Value null at 'keySchema' failed to satisfy constraint: Member must not be null"))?;
    let find = |name: &str| defs.iter().find(|d| d.name == name).cloned();
    let mut hash = None;
    let mut range = None;
    for (i, element) in schema.iter().enumerate() {
        let name = element["AttributeName"].as_str().unwrap_or_default();
        let def = find(name).ok_or_else(|| {
            DdbError::validation("One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions.")
        })?;
        match (element["KeyType"].as_str(), i) {
            (Some("HASH"), 0) => hash = Some(def),
            (Some("RANGE"), 1) => range = Some(def),
            _ => {
                return Err(DdbError::validation(
                    "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
                ))
            }
        }
    }
    let hash = hash.ok_or_else(|| {
        DdbError::validation("Invalid KeySchema: Some index key attribute have no definition")
    })?;
    if defs.len() != 1 + usize::from(range.is_some()) {
        return Err(DdbError::validation(
            "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
        ));
    }
    Ok((hash, range, defs))
}

impl Tables {
    /// Writes (or with `None` removes) a table's catalog entry, durably: table definitions
    /// are rare and a client must not see a table vanish after a crash.
    pub(crate) fn persist_table(
        &self,
        name: &str,
        desc: Option<&TableDesc>,
    ) -> Result<(), DdbError> {
        let raw = desc.map(|d| postcard::to_allocvec(d).expect("serialising a table cannot fail"));
        let mut txn = self.engine.unsharded_txn();
        let slot = key_slot(name.as_bytes());
        txn.row_write(Family::Catalog, 0, slot, name.as_bytes().to_vec(), raw)?;
        txn.commit()?;
        self.engine.persist()?;
        Ok(())
    }

    fn describe_json(&self, desc: &TableDesc, status: &str) -> Json {
        desc.describe(status, self.item_count(desc.id), 0)
    }

    pub fn create_table(&self, _locks: Locks, req: &Req) -> Result<Json, DdbError> {
        let name = required_str(req, "TableName")?;
        validate_table_name(name)?;
        reject_indexes(req)?;
        let (hash_key, range_key, attribute_definitions) = parse_key_schema(req)?;
        let stream = req.get("StreamSpecification").map(|s| StreamSpec {
            enabled: s["StreamEnabled"].as_bool().unwrap_or(false),
            view_type: s["StreamViewType"]
                .as_str()
                .unwrap_or("NEW_AND_OLD_IMAGES")
                .to_string(),
        });
        let tags = super::tags::create_table_tags(req)?;
        let mut tables = self.tables.write();
        if tables.contains_key(name) {
            return Err(DdbError::in_use(format!("Table already exists: {name}")));
        }
        let desc = TableDesc {
            name: name.to_string(),
            id: self.allocate_id(),
            hash_key,
            range_key,
            attribute_definitions,
            stream,
            ttl_attribute: None,
            created_at: (crate::engine::now_ms() as f64 / 1000.0).floor(),
            tags,
        };
        self.persist_table(&desc.name, Some(&desc))?;
        let json = json!({ "TableDescription": self.describe_json(&desc, "ACTIVE") });
        tables.insert(desc.name.clone(), Arc::new(desc));
        Ok(json)
    }

    pub fn describe_table(&self, _locks: Locks, req: &Req) -> Result<Json, DdbError> {
        let table = self.table(required_str(req, "TableName")?)?;
        Ok(json!({ "Table": self.describe_json(&table, "ACTIVE") }))
    }

    pub fn list_tables(&self, _locks: Locks, req: &Req) -> Result<Json, DdbError> {
        let limit = match req.get("Limit") {
            None => 100,
            Some(l) => match l.as_u64() {
                Some(n @ 1..=100) => n as usize,
                _ => return Err(DdbError::validation("1 validation error detected: Value at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100 and greater than or equal to 1")),
            },
        };
        let start = req.get("ExclusiveStartTableName").and_then(Json::as_str);
        let tables = self.tables.read();
        let names: Vec<&String> = tables
            .keys()
            .filter(|n| start.is_none_or(|s| n.as_str() > s))
            .take(limit + 1)
            .collect();
        let mut out = json!({ "TableNames": names.iter().take(limit).collect::<Vec<_>>() });
        if names.len() > limit {
            out["LastEvaluatedTableName"] = json!(names[limit - 1]);
        }
        Ok(out)
    }

    pub fn delete_table(&self, locks: Locks, req: &Req) -> Result<Json, DdbError> {
        let name = required_str(req, "TableName")?;
        let table = self.table(name)?;
        let description = self.describe_json(&table, "DELETING");
        self.tables.write().remove(name);
        self.persist_table(name, None)?;
        // Drop the items slot by slot, one batch per slot under that slot's shard lock.
        for slot in 0..SLOTS {
            let mut prefix = slot.to_be_bytes().to_vec();
            prefix.extend_from_slice(&table.id.to_be_bytes());
            let keys: Vec<_> = self
                .items
                .prefix(&prefix)
                .map(|g| g.key())
                .collect::<Result<_, _>>()?;
            if !keys.is_empty() {
                let mut txn = self
                    .engine
                    .txn_slots(locks, table.id, std::iter::once(slot));
                for k in keys {
                    txn.row_write(Family::Items, table.id, slot, k.to_vec(), None)?;
                }
                txn.commit()?;
            }
        }
        self.engine.forget_space(table.id);
        self.engine.persist()?;
        Ok(json!({ "TableDescription": description }))
    }

    fn return_values(req: &Req) -> Result<bool, DdbError> {
        match req.get("ReturnValues").and_then(Json::as_str) {
            None | Some("NONE") => Ok(false),
            Some("ALL_OLD") => Ok(true),
            Some(other) => Err(DdbError::validation(format!(
                "ReturnValues {other} is not supported by redyn yet for this operation (NONE, ALL_OLD)"
            ))),
        }
    }

    /// Reads one item under its shard lock, lets `change` decide the new item (`None` =
    /// delete), and commits it in one batch. Returns (old, new); the old item is `None` if
    /// absent or expired.
    fn mutate_item(
        &self,
        locks: Locks,
        table: &Arc<TableDesc>,
        key: &ItemKey,
        change: impl FnOnce(Option<&Item>) -> Result<Option<Item>, DdbError>,
    ) -> Result<Change, DdbError> {
        let targets = [(table.clone(), key.clone())];
        let mut result =
            self.mutate_items(locks, &targets, |old| Ok(vec![change(old[0].as_ref())?]))?;
        Ok(result.remove(0))
    }

    /// Reads several items under the locks of all their shards, lets `change` decide their
    /// new values (`None` = delete), and commits everything in one atomic batch: the basis
    /// of TransactWriteItems. Returns (old, new) per item.
    pub(crate) fn mutate_items(
        &self,
        locks: Locks,
        targets: &[(Arc<TableDesc>, ItemKey)],
        change: impl FnOnce(&[Option<Item>]) -> Result<Vec<Option<Item>>, DdbError>,
    ) -> Result<Vec<Change>, DdbError> {
        let slot_of = |key: &ItemKey| key_slot(&key.partition);
        let mut txn = self.engine.txn_slots(
            locks,
            targets.first().map_or(0, |(t, _)| t.id),
            targets.iter().map(|(_, k)| slot_of(k)),
        );
        let mut stored = Vec::with_capacity(targets.len());
        for (table, key) in targets {
            stored.push(match txn.row_get(Family::Items, &row_key(table, key))? {
                Some(raw) => Some(decode_item(&raw)?),
                None => None,
            });
        }
        let live: Vec<Option<Item>> = targets
            .iter()
            .zip(&stored)
            .map(|((table, _), item)| item.clone().filter(|i| !expired(table, i)))
            .collect();
        let new = change(&live)?;
        for (((table, key), old), new) in targets.iter().zip(&stored).zip(&new) {
            if let Some(item) = new {
                if item_size(item) > MAX_ITEM_BYTES {
                    return Err(DdbError::validation(
                        "Item size has exceeded the maximum allowed size",
                    ));
                }
            }
            let row = row_key(table, key);
            let value = match new {
                Some(item) => Some(encode_item(item)),
                None if old.is_some() => None,
                None => continue,
            };
            txn.row_write(Family::Items, table.id, slot_of(key), row, value)?;
        }
        let changes: Vec<ItemChange> = targets
            .iter()
            .zip(&live)
            .zip(&new)
            .map(|(((table, key), old), new)| ItemChange {
                table,
                slot: slot_of(key),
                old: old.as_ref(),
                new: new.as_ref(),
                origin: Origin::Client,
            })
            .collect();
        self.commit_changes(txn, &changes)?;
        Ok(live.into_iter().zip(new).collect())
    }

    /// The request's ConditionExpression, if any.
    fn condition_of(req: &Req, ph: &Placeholders) -> Result<Option<Cond>, DdbError> {
        req.get("ConditionExpression")
            .and_then(Json::as_str)
            .map(|c| parse_condition(c, ph, "ConditionExpression"))
            .transpose()
    }

    /// Fails with ConditionalCheckFailedException when `cond` is false for `old`; the
    /// error carries the old item when the request says
    /// `ReturnValuesOnConditionCheckFailure: ALL_OLD`.
    fn check(cond: &Option<Cond>, old: Option<&Item>, req: &Req) -> Result<(), DdbError> {
        let empty = Item::new();
        match cond {
            Some(c) if !evaluate(c, old.unwrap_or(&empty)) => {
                Err(with_old_item(DdbError::conditional_failed(), req, old))
            }
            _ => Ok(()),
        }
    }

    pub fn put_item(&self, locks: Locks, req: &Req) -> Result<Json, DdbError> {
        reject_unsupported(req)?;
        let table = self.table(required_str(req, "TableName")?)?;
        let return_old = Self::return_values(req)?;
        let ph = Placeholders::from_request(req)?;
        let cond = Self::condition_of(req, &ph)?;
        let item = required_item(req, "Item")?;
        let key = table.item_key(&item, true)?;
        let (old, _) = self.mutate_item(locks, &table, &key, |old| {
            Self::check(&cond, old, req)?;
            Ok(Some(item))
        })?;
        Ok(match (return_old, old) {
            (true, Some(old)) => json!({ "Attributes": item_to_json(&old) }),
            _ => json!({}),
        })
    }

    pub fn delete_item(&self, locks: Locks, req: &Req) -> Result<Json, DdbError> {
        reject_unsupported(req)?;
        let table = self.table(required_str(req, "TableName")?)?;
        let return_old = Self::return_values(req)?;
        let ph = Placeholders::from_request(req)?;
        let cond = Self::condition_of(req, &ph)?;
        let key = table.key_of(&required_item(req, "Key")?)?;
        let (old, _) = self.mutate_item(locks, &table, &key, |old| {
            Self::check(&cond, old, req)?;
            Ok(None)
        })?;
        Ok(match (return_old, old) {
            (true, Some(old)) => json!({ "Attributes": item_to_json(&old) }),
            _ => json!({}),
        })
    }

    pub fn update_item(&self, locks: Locks, req: &Req) -> Result<Json, DdbError> {
        reject_unsupported(req)?;
        let table = self.table(required_str(req, "TableName")?)?;
        let key_item = required_item(req, "Key")?;
        let key = table.key_of(&key_item)?;
        let ph = Placeholders::from_request(req)?;
        let cond = Self::condition_of(req, &ph)?;
        let actions = match req.get("UpdateExpression").and_then(Json::as_str) {
            Some(text) => parse_update(text, &ph)?,
            None => Vec::new(),
        };
        let key_names: Vec<String> = table.key_item(&key_item).into_keys().collect();
        for action in &actions {
            let path = match action {
                super::expr::Action::Set(p, _)
                | super::expr::Action::Remove(p)
                | super::expr::Action::Add(p, _)
                | super::expr::Action::Delete(p, _) => p,
            };
            if let Some(super::expr::PathPart::Attr(name)) = path.first() {
                if key_names.contains(name) {
                    return Err(DdbError::validation(format!(
                        "One or more parameter values were invalid: Cannot update attribute {name}. This attribute is part of the key"
                    )));
                }
            }
        }
        let return_values = req
            .get("ReturnValues")
            .and_then(Json::as_str)
            .unwrap_or("NONE");
        if !["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"].contains(&return_values) {
            return Err(DdbError::validation(format!(
                "1 validation error detected: Value '{return_values}' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]"
            )));
        }
        let (old, new) = self.mutate_item(locks, &table, &key, |old| {
            Self::check(&cond, old, req)?;
            let mut item = old.cloned().unwrap_or_else(|| key_item.clone());
            apply_update(&mut item, &actions)?;
            Ok(Some(item))
        })?;
        let new = new.unwrap_or_default();
        // UPDATED_*: the top-level attributes the update changed.
        let changed = |a: &Item, b: &Item| -> Item {
            a.iter()
                .filter(|(k, v)| !key_names.contains(k) && b.get(*k) != Some(*v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        let old_item = old.unwrap_or_default();
        let attributes = match return_values {
            "ALL_OLD" => old_item,
            "ALL_NEW" => new,
            "UPDATED_OLD" => changed(&old_item, &new),
            "UPDATED_NEW" => changed(&new, &old_item),
            _ => Item::new(),
        };
        Ok(if attributes.is_empty() {
            json!({})
        } else {
            json!({ "Attributes": item_to_json(&attributes) })
        })
    }

    pub fn get_item(&self, _locks: Locks, req: &Req) -> Result<Json, DdbError> {
        reject_unsupported(req)?;
        let table = self.table(required_str(req, "TableName")?)?;
        let key = table.key_of(&required_item(req, "Key")?)?;
        let ph = Placeholders::from_request(req)?;
        let projection = projection_of(req, &ph)?;
        let item = match self.items.get(&row_key(&table, &key))? {
            Some(raw) => Some(decode_item(&raw)?).filter(|i| !expired(&table, i)),
            None => None,
        };
        Ok(match item {
            Some(item) => json!({ "Item": item_to_json(&project(item, &projection)) }),
            None => json!({}),
        })
    }

    pub fn update_time_to_live(&self, _locks: Locks, req: &Req) -> Result<Json, DdbError> {
        let table = self.table(required_str(req, "TableName")?)?;
        let spec = req
            .get("TimeToLiveSpecification")
            .ok_or_else(|| DdbError::validation("1 validation error detected: Value null at 'timeToLiveSpecification' failed to satisfy constraint: Member must not be null"))?;
        let enabled = spec["Enabled"].as_bool().unwrap_or(false);
        let attr = spec["AttributeName"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut desc = (*table).clone();
        desc.ttl_attribute = enabled.then(|| attr.clone());
        self.persist_table(&desc.name, Some(&desc))?;
        self.tables
            .write()
            .insert(desc.name.clone(), Arc::new(desc));
        Ok(json!({ "TimeToLiveSpecification": { "Enabled": enabled, "AttributeName": attr } }))
    }

    /// UpdateTable: turns the stream on or off or changes its view type; BillingMode and
    /// ProvisionedThroughput are accepted (redyn has no capacity modes). Index changes are
    /// refused like secondary indexes at CreateTable.
    pub fn update_table(&self, _locks: Locks, req: &Req) -> Result<Json, DdbError> {
        let table = self.table(required_str(req, "TableName")?)?;
        if req.contains_key("GlobalSecondaryIndexUpdates") || req.contains_key("ReplicaUpdates") {
            return Err(DdbError::validation(
                "Secondary indexes and replicas are not supported by redyn",
            ));
        }
        let mut desc = (*table).clone();
        if let Some(spec) = req.get("StreamSpecification") {
            desc.stream = Some(stream_update(&table, spec)?);
        }
        if desc != *table {
            self.persist_table(&desc.name, Some(&desc))?;
            self.tables
                .write()
                .insert(desc.name.clone(), Arc::new(desc.clone()));
        }
        Ok(json!({ "TableDescription": self.describe_json(&desc, "ACTIVE") }))
    }

    pub fn describe_time_to_live(&self, _locks: Locks, req: &Req) -> Result<Json, DdbError> {
        let table = self.table(required_str(req, "TableName")?)?;
        Ok(match &table.ttl_attribute {
            Some(attr) => {
                json!({ "TimeToLiveDescription": { "TimeToLiveStatus": "ENABLED", "AttributeName": attr } })
            }
            None => json!({ "TimeToLiveDescription": { "TimeToLiveStatus": "DISABLED" } }),
        })
    }

    pub fn query(&self, _locks: Locks, req: &Req) -> Result<Json, DdbError> {
        reject_unsupported(req)?;
        let table = self.table(required_str(req, "TableName")?)?;
        let ph = Placeholders::from_request(req)?;
        let text = required_str(req, "KeyConditionExpression")?;
        let cond = parse_key_condition(text, &ph)?;
        let (pk_name, pk_value) = &cond.partition;
        if *pk_name != table.hash_key.name {
            return Err(DdbError::validation(format!(
                "Query condition missed key schema element: {}",
                table.hash_key.name
            )));
        }
        if pk_value.type_name() != table.hash_key.kind {
            return Err(DdbError::validation("One or more parameter values were invalid: Condition parameter type does not match schema type"));
        }
        let prefix = partition_prefix(&table, &pk_value.key_bytes().expect("scalar"));
        let (mut lower, mut upper) = sort_bounds(&table, &prefix, &cond.sort)?;
        let forward = req
            .get("ScanIndexForward")
            .and_then(Json::as_bool)
            .unwrap_or(true);
        if let Some(start) = req.get("ExclusiveStartKey").and_then(Json::as_object) {
            let start_row = row_key(&table, &table.key_of(&item_from_json(start)?)?);
            if forward {
                lower = Bound::Excluded(start_row);
            } else {
                upper = Bound::Excluded(start_row);
            }
        }
        let rows = self.items.range::<Vec<u8>, _>((lower, upper), !forward);
        self.page(&table, req, &ph, Box::new(rows))
    }

    pub fn scan(&self, _locks: Locks, req: &Req) -> Result<Json, DdbError> {
        reject_unsupported(req)?;
        let table = self.table(required_str(req, "TableName")?)?;
        let ph = Placeholders::from_request(req)?;
        let (segment, total) = match (req.get("Segment"), req.get("TotalSegments")) {
            (None, None) => (0u64, 1u64),
            (Some(s), Some(t)) => match (s.as_u64(), t.as_u64()) {
                (Some(s), Some(t)) if (1..=1_000_000).contains(&t) && s < t => (s, t),
                _ => return Err(DdbError::validation("The Segment parameter is zero-based and must be less than parameter TotalSegments")),
            },
            _ => return Err(DdbError::validation("The TotalSegments parameter is required but was not present in the request when Segment parameter is present")),
        };
        // Segments are slot ranges: parallel scanners never overlap.
        let first = (segment * u64::from(SLOTS) / total) as u16;
        let end = ((segment + 1) * u64::from(SLOTS) / total) as u32;
        let mut start_after: Option<Vec<u8>> = None;
        let mut first_slot = first;
        if let Some(start) = req.get("ExclusiveStartKey").and_then(Json::as_object) {
            let key = table.key_of(&item_from_json(start)?)?;
            first_slot = key_slot(&key.partition);
            start_after = Some(row_key(&table, &key));
        }
        let items = &self.items;
        let table_id = table.id;
        let rows = (u32::from(first_slot)..end).flat_map(move |slot| {
            let mut prefix = (slot as u16).to_be_bytes().to_vec();
            prefix.extend_from_slice(&table_id.to_be_bytes());
            let upper = prefix_successor(&prefix).expect("non-empty prefix");
            let lower = match &start_after {
                Some(row) if row.starts_with(&prefix) => Bound::Excluded(row.clone()),
                _ => Bound::Included(prefix),
            };
            items.range::<Vec<u8>, _>((lower, Bound::Excluded(upper)), false)
        });
        self.page(&table, req, &ph, Box::new(rows))
    }

    /// Collects one page of a Query/Scan: Limit, the 1 MB page size, Select COUNT,
    /// projection and LastEvaluatedKey.
    fn page(
        &self,
        table: &TableDesc,
        req: &Req,
        ph: &Placeholders,
        rows: Box<dyn Iterator<Item = Row> + '_>,
    ) -> Result<Json, DdbError> {
        let limit = match req.get("Limit") {
            None => usize::MAX,
            Some(l) => match l.as_u64() {
                Some(n) if n >= 1 => n as usize,
                _ => return Err(DdbError::validation("1 validation error detected: Value at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1")),
            },
        };
        let count_only = match req.get("Select").and_then(Json::as_str) {
            None | Some("ALL_ATTRIBUTES") => false,
            Some("COUNT") => true,
            Some(other) => {
                return Err(DdbError::validation(format!(
                    "Select {other} is not supported by redyn yet"
                )))
            }
        };
        let projection = projection_of(req, ph)?;
        let filter = req
            .get("FilterExpression")
            .and_then(Json::as_str)
            .map(|f| parse_condition(f, ph, "FilterExpression"))
            .transpose()?;
        let (mut items, mut scanned, mut bytes) = (Vec::new(), 0usize, 0usize);
        let mut last: Option<Item> = None;
        let mut stopped_early = false;
        for guard in rows {
            if scanned == limit || bytes >= MAX_PAGE_BYTES {
                stopped_early = true;
                break;
            }
            let (_, raw) = guard.into_inner()?;
            let item = decode_item(&raw)?;
            scanned += 1;
            bytes += raw.len();
            last = Some(table.key_item(&item));
            if !expired(table, &item) && filter.as_ref().is_none_or(|f| evaluate(f, &item)) {
                items.push(item);
            }
        }
        // DynamoDB returns a LastEvaluatedKey whenever the page stopped at Limit, even if
        // nothing follows; it must also when the size limit cut the page.
        let stopped_at_limit = stopped_early || scanned == limit;
        let mut out = json!({ "Count": items.len(), "ScannedCount": scanned });
        if !count_only {
            out["Items"] = Json::Array(
                items
                    .into_iter()
                    .map(|i| item_to_json(&project(i, &projection)))
                    .collect(),
            );
        }
        if let (true, Some(last)) = (stopped_at_limit, last) {
            out["LastEvaluatedKey"] = item_to_json(&last);
        }
        Ok(out)
    }
}

/// Lower and upper bound of a row-key range.
type RowRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// Row-key bounds of a Query within one partition.
fn sort_bounds(
    table: &TableDesc,
    prefix: &[u8],
    sort: &Option<(String, SortCondition)>,
) -> Result<RowRange, DdbError> {
    let end = prefix_successor(prefix).expect("non-empty prefix");
    let Some((name, cond)) = sort else {
        return Ok((Bound::Included(prefix.to_vec()), Bound::Excluded(end)));
    };
    let range = table
        .range_key
        .as_ref()
        .filter(|r| r.name == *name)
        .ok_or_else(|| {
            DdbError::validation(format!(
                "Query condition missed key schema element: {}",
                table.hash_key.name
            ))
        })?;
    let key = |v: &Value| -> Result<Vec<u8>, DdbError> {
        if v.type_name() != range.kind {
            return Err(DdbError::validation("One or more parameter values were invalid: Condition parameter type does not match schema type"));
        }
        let mut row = prefix.to_vec();
        row.extend(v.key_bytes().expect("scalar"));
        Ok(row)
    };
    let all_from = Bound::Included(prefix.to_vec());
    Ok(match cond {
        SortCondition::Cmp(op, v) => match op.as_str() {
            "=" => (Bound::Included(key(v)?), Bound::Included(key(v)?)),
            "<" => (all_from, Bound::Excluded(key(v)?)),
            "<=" => (all_from, Bound::Included(key(v)?)),
            ">" => (Bound::Excluded(key(v)?), Bound::Excluded(end)),
            _ => (Bound::Included(key(v)?), Bound::Excluded(end)),
        },
        SortCondition::Between(lo, hi) => (Bound::Included(key(lo)?), Bound::Included(key(hi)?)),
        SortCondition::BeginsWith(v) => {
            let raw = match v {
                Value::S(s) if range.kind == "S" => s.as_bytes().to_vec(),
                Value::B(b) if range.kind == "B" => b.clone(),
                _ => return Err(DdbError::validation("Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N")),
            };
            // The escaped encoding maps each byte independently, so a string prefix is a
            // byte prefix of the encoding (without the terminator).
            let mut from = prefix.to_vec();
            for b in raw {
                from.push(b);
                if b == 0 {
                    from.push(0xff);
                }
            }
            let to = prefix_successor(&from).expect("non-empty");
            (Bound::Included(from), Bound::Excluded(to))
        }
    })
}
