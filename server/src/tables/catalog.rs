//! The table catalog: key schema, attribute definitions and settings of each table,
//! persisted in fjall (keyspace `tables`).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};

use super::value::{Item, Value};
use super::DdbError;

/// What every table ARN starts with (region `local`, account zero, as DynamoDB Local).
pub const TABLE_ARN_PREFIX: &str = "arn:aws:dynamodb:local:000000000000:table/";

/// A key attribute: its name and scalar type (`S`, `N` or `B`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAttr {
    pub name: String,
    pub kind: String,
}

/// Stream settings (stored now, used by change streams).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamSpec {
    pub enabled: bool,
    pub view_type: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableDesc {
    pub name: String,
    /// Space id of the table's items in row keys.
    pub id: u32,
    pub hash_key: KeyAttr,
    pub range_key: Option<KeyAttr>,
    pub attribute_definitions: Vec<KeyAttr>,
    pub stream: Option<StreamSpec>,
    pub ttl_attribute: Option<String>,
    /// Unix seconds.
    pub created_at: f64,
    /// TagResource's (key, value) pairs, in key order. Kept with the rest of the table's
    /// catalog entry, so they are as durable as the table and go with DeleteTable.
    pub tags: Vec<(String, String)>,
}

/// A catalog entry as written before tags existed. postcard is not self-describing, so an
/// old entry lacks the trailing `tags` and fails to decode as [`TableDesc`]: it is read
/// with this layout instead (and rewritten in the new one at its next change).
#[derive(Deserialize)]
struct TableDescV1 {
    name: String,
    id: u32,
    hash_key: KeyAttr,
    range_key: Option<KeyAttr>,
    attribute_definitions: Vec<KeyAttr>,
    stream: Option<StreamSpec>,
    ttl_attribute: Option<String>,
    created_at: f64,
}

impl From<TableDescV1> for TableDesc {
    fn from(old: TableDescV1) -> TableDesc {
        TableDesc {
            name: old.name,
            id: old.id,
            hash_key: old.hash_key,
            range_key: old.range_key,
            attribute_definitions: old.attribute_definitions,
            stream: old.stream,
            ttl_attribute: old.ttl_attribute,
            created_at: old.created_at,
            tags: Vec::new(),
        }
    }
}

/// The encoded key of an item: partition key bytes and sort key bytes (empty if none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemKey {
    pub partition: Vec<u8>,
    pub sort: Vec<u8>,
}

impl TableDesc {
    /// Decodes a catalog entry in the current layout or the one before tags.
    pub fn decode(raw: &[u8]) -> Result<TableDesc, postcard::Error> {
        postcard::from_bytes::<TableDesc>(raw)
            .or_else(|_| postcard::from_bytes::<TableDescV1>(raw).map(TableDesc::from))
    }

    pub fn arn(&self) -> String {
        format!("{TABLE_ARN_PREFIX}{}", self.name)
    }

    /// The label of the table's stream: its creation time in ISO-8601 with milliseconds,
    /// as DynamoDB labels streams (one stream per table here, made with the table).
    pub fn stream_label(&self) -> String {
        super::iso_time::iso_millis((self.created_at * 1000.0) as i64)
    }

    pub fn stream_arn(&self) -> String {
        format!("{}/stream/{}", self.arn(), self.stream_label())
    }

    fn key_attrs(&self) -> impl Iterator<Item = &KeyAttr> {
        std::iter::once(&self.hash_key).chain(self.range_key.iter())
    }

    /// Validates an item's key attributes and returns its encoded key.
    pub fn item_key(&self, item: &Item, missing_msg: bool) -> Result<ItemKey, DdbError> {
        let mut parts = Vec::new();
        for attr in self.key_attrs() {
            let value = item.get(&attr.name).ok_or_else(|| {
                DdbError::validation(if missing_msg {
                    format!(
                        "One or more parameter values were invalid: Missing the key {} in the item",
                        attr.name
                    )
                } else {
                    "The provided key element does not match the schema".to_string()
                })
            })?;
            if value.type_name() != attr.kind {
                return Err(DdbError::validation(format!(
                    "One or more parameter values were invalid: Type mismatch for key {} expected: {} actual: {}",
                    attr.name,
                    attr.kind,
                    value.type_name()
                )));
            }
            if matches!(value, Value::S(s) if s.is_empty())
                || matches!(value, Value::B(b) if b.is_empty())
            {
                return Err(DdbError::validation(format!(
                    "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: {}",
                    attr.name
                )));
            }
            check_key_size(value, parts.is_empty())?;
            parts.push(value.key_bytes().expect("scalar key"));
        }
        Ok(ItemKey {
            partition: parts[0].clone(),
            sort: parts.get(1).cloned().unwrap_or_default(),
        })
    }

    /// Validates a `Key` parameter: exactly the key attributes.
    pub fn key_of(&self, key: &Item) -> Result<ItemKey, DdbError> {
        if key.len() != self.key_attrs().count() {
            return Err(DdbError::validation(
                "The provided key element does not match the schema",
            ));
        }
        self.item_key(key, false)
    }

    /// The key attributes of an item (for LastEvaluatedKey, stream records).
    pub fn key_item(&self, item: &Item) -> Item {
        self.key_attrs()
            .filter_map(|a| item.get(&a.name).map(|v| (a.name.clone(), v.clone())))
            .collect()
    }

    /// The `TableDescription` JSON.
    pub fn describe(&self, status: &str, item_count: u64, size_bytes: u64) -> Json {
        let mut schema = vec![json!({"AttributeName": self.hash_key.name, "KeyType": "HASH"})];
        if let Some(r) = &self.range_key {
            schema.push(json!({"AttributeName": r.name, "KeyType": "RANGE"}));
        }
        let mut desc = json!({
            "TableName": self.name,
            "TableStatus": status,
            "TableArn": self.arn(),
            "TableId": format!("{:08x}-0000-4000-8000-000000000000", self.id),
            "KeySchema": schema,
            "AttributeDefinitions": self.attribute_definitions.iter()
                .map(|a| json!({"AttributeName": a.name, "AttributeType": a.kind}))
                .collect::<Vec<_>>(),
            "CreationDateTime": self.created_at,
            "ItemCount": item_count,
            "TableSizeBytes": size_bytes,
            "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
            "ProvisionedThroughput": {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0, "WriteCapacityUnits": 0},
        });
        if let Some(stream) = &self.stream {
            desc["StreamSpecification"] =
                json!({"StreamEnabled": stream.enabled, "StreamViewType": stream.view_type});
            if stream.enabled {
                desc["LatestStreamArn"] = json!(self.stream_arn());
                desc["LatestStreamLabel"] = json!(self.stream_label());
            }
        }
        desc
    }
}

/// DynamoDB's key size limits: 2048 bytes for a partition key, 1024 for a sort key.
fn check_key_size(value: &Value, is_partition: bool) -> Result<(), DdbError> {
    let size = match value {
        Value::S(s) => s.len(),
        Value::B(b) => b.len(),
        other => other.key_bytes().map_or(0, |k| k.len()),
    };
    if is_partition && size > 2048 {
        return Err(DdbError::validation(
            "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of 2048 bytes",
        ));
    }
    if !is_partition && size > 1024 {
        return Err(DdbError::validation(
            "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layout written before tags existed ([`TableDescV1`]'s fields, serialisable).
    #[derive(Serialize)]
    struct Before {
        name: String,
        id: u32,
        hash_key: KeyAttr,
        range_key: Option<KeyAttr>,
        attribute_definitions: Vec<KeyAttr>,
        stream: Option<StreamSpec>,
        ttl_attribute: Option<String>,
        created_at: f64,
    }

    #[test]
    fn entries_written_before_tags_still_load() {
        let key = KeyAttr {
            name: "pk".into(),
            kind: "S".into(),
        };
        let old = Before {
            name: "T".into(),
            id: 9,
            hash_key: key.clone(),
            range_key: None,
            attribute_definitions: vec![key],
            stream: Some(StreamSpec {
                enabled: true,
                view_type: "KEYS_ONLY".into(),
            }),
            ttl_attribute: Some("exp".into()),
            created_at: 1_795_964_400.0,
        };
        let desc = TableDesc::decode(&postcard::to_allocvec(&old).unwrap()).unwrap();
        assert_eq!((desc.name.as_str(), desc.id, desc.tags.len()), ("T", 9, 0));
        assert_eq!(desc.ttl_attribute.as_deref(), Some("exp"));
        assert_eq!(desc.stream_label(), "2026-11-29T15:00:00.000");
        let mut tagged = desc.clone();
        tagged.tags = vec![("env".into(), "ci".into())];
        let raw = postcard::to_allocvec(&tagged).unwrap();
        assert_eq!(TableDesc::decode(&raw).unwrap(), tagged);
    }
}
