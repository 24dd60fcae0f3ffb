//! Table tags: TagResource, UntagResource, ListTagsOfResource and CreateTable's `Tags`.
//!
//! Tags live in the table's catalog entry ([`TableDesc::tags`]), so they are written with
//! the same durable catalog write as the table and vanish with DeleteTable. The checks and
//! their texts are DynamoDB's (as clients observe them; the 50-tag limit is a
//! ValidationException there, not LimitExceededException).

use std::sync::Arc;

use serde_json::{json, Map, Value as Json};

use super::catalog::{TableDesc, TABLE_ARN_PREFIX};
use super::{DdbError, Tables};
use crate::engine::Locks;

type Req = Map<String, Json>;

/// Tags one resource may carry.
pub const MAX_TAGS: usize = 50;
const MAX_KEY_CHARS: usize = 128;
const MAX_VALUE_CHARS: usize = 256;

fn null_member(member: &str) -> DdbError {
    DdbError::validation(format!(
        "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
    ))
}

fn too_many() -> DdbError {
    DdbError::validation("Number of Tags exceed the current limit for the provided ResourceArn")
}

/// The table name a table ARN names, with DynamoDB's checks on the ARN's shape
/// (`arn:aws:dynamodb:<region>:<account digits>:table/<name of 3+ chars>`). `Ok(None)` is
/// a well-formed ARN of another region or account: no table of this server.
fn table_name_of(arn: Option<&str>) -> Result<Option<&str>, DdbError> {
    let arn = arn
        .filter(|a| !a.is_empty())
        .ok_or_else(|| DdbError::validation("Invalid TableArn"))?;
    let invalid = || {
        DdbError::validation(format!(
            "Invalid TableArn: Invalid ResourceArn provided as input {arn}"
        ))
    };
    let rest = arn.strip_prefix("arn:aws:dynamodb:").ok_or_else(invalid)?;
    let (head, name) = rest.split_once(":table/").ok_or_else(invalid)?;
    let (region, account) = head.rsplit_once(':').ok_or_else(invalid)?;
    let well_formed = !region.is_empty()
        && !account.is_empty()
        && account.bytes().all(|b| b.is_ascii_digit())
        && name.chars().count() >= 3
        && !name.contains('/');
    if !well_formed {
        return Err(invalid());
    }
    Ok(arn.starts_with(TABLE_ARN_PREFIX).then_some(name))
}

/// Checks one tag key (TagResource, UntagResource and CreateTable share the rules).
fn check_key(key: Option<&str>) -> Result<&str, DdbError> {
    let shown = key.unwrap_or("null");
    let key = key
        .filter(|k| (1..=MAX_KEY_CHARS).contains(&k.chars().count()))
        .ok_or_else(|| {
            DdbError::validation(format!("The Tag Key provided is invalid, Key: {shown}"))
        })?;
    if key.starts_with("aws:") {
        return Err(DdbError::validation(format!(
            "Tag Key cannot be prefixed with aws:, Key: {key}"
        )));
    }
    Ok(key)
}

/// Parses and checks a `Tags` list: keys, values, duplicates and the count.
fn parse_tags(tags: &[Json]) -> Result<Vec<(String, String)>, DdbError> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(tags.len());
    for tag in tags {
        let key = check_key(tag.get("Key").and_then(Json::as_str))?;
        let value = tag.get("Value").and_then(Json::as_str);
        let value = value
            .filter(|v| v.chars().count() <= MAX_VALUE_CHARS)
            .ok_or_else(|| {
                DdbError::validation(format!(
                    "The Tag Value provided is invalid, Value: {}",
                    value.unwrap_or("null")
                ))
            })?;
        if out.iter().any(|(k, _)| k == key) {
            return Err(DdbError::validation(format!(
                "Duplicate Tag Keys provided as input: Duplicate Tag Key found {key}"
            )));
        }
        out.push((key.to_string(), value.to_string()));
    }
    if out.len() > MAX_TAGS {
        return Err(too_many());
    }
    Ok(out)
}

/// The tags CreateTable's optional `Tags` parameter gives the new table, sorted by key.
pub fn create_table_tags(req: &Req) -> Result<Vec<(String, String)>, DdbError> {
    let Some(tags) = req.get("Tags") else {
        return Ok(Vec::new());
    };
    let tags = tags.as_array().ok_or_else(|| null_member("tags"))?;
    let mut parsed = parse_tags(tags)?;
    parsed.sort();
    Ok(parsed)
}

fn tags_json(tags: &[(String, String)]) -> Json {
    Json::Array(
        tags.iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect(),
    )
}

impl Tables {
    /// Replaces a table's tags with what `change` makes of them, under the catalog's write
    /// lock so that concurrent tag changes cannot undo each other.
    fn change_tags(
        &self,
        name: &str,
        not_found: impl FnOnce() -> DdbError,
        change: impl FnOnce(&mut Vec<(String, String)>) -> Result<(), DdbError>,
    ) -> Result<(), DdbError> {
        let mut tables = self.tables.write();
        let table = tables.get(name).ok_or_else(not_found)?;
        let mut desc: TableDesc = (**table).clone();
        change(&mut desc.tags)?;
        desc.tags.sort();
        if desc.tags != table.tags {
            self.persist_table(name, Some(&desc))?;
            tables.insert(name.to_string(), Arc::new(desc));
        }
        Ok(())
    }

    pub fn tag_resource(&self, _locks: Locks, req: &Req) -> Result<Json, DdbError> {
        let arn = req.get("ResourceArn").and_then(Json::as_str);
        let tags = req.get("Tags").and_then(Json::as_array);
        let name = table_name_of(arn)?;
        let tags = tags.ok_or_else(|| null_member("tags"))?;
        if tags.is_empty() {
            return Err(DdbError::validation(
                "Atleast one Tag needs to be provided as Input.",
            ));
        }
        let new = parse_tags(tags)?;
        let arn = arn.unwrap_or_default();
        let not_found = || resource_not_found(arn);
        self.change_tags(name.ok_or_else(not_found)?, not_found, |current| {
            for (key, value) in new {
                // An existing key takes the new value, as in DynamoDB.
                current.retain(|(k, _)| *k != key);
                current.push((key, value));
            }
            match current.len() > MAX_TAGS {
                true => Err(too_many()),
                false => Ok(()),
            }
        })?;
        Ok(json!({}))
    }

    pub fn untag_resource(&self, _locks: Locks, req: &Req) -> Result<Json, DdbError> {
        let arn = req.get("ResourceArn").and_then(Json::as_str);
        let keys = req.get("TagKeys").and_then(Json::as_array);
        let name = table_name_of(arn)?;
        let keys = keys.ok_or_else(|| null_member("tagKeys"))?;
        if keys.is_empty() {
            return Err(DdbError::validation(
                "Atleast one Tag Key needs to be provided as Input.",
            ));
        }
        if keys.len() > MAX_TAGS {
            return Err(too_many());
        }
        let keys: Vec<&str> = keys
            .iter()
            .map(|k| check_key(k.as_str()))
            .collect::<Result<_, _>>()?;
        // UntagResource's not-found text names no ARN (DynamoDB's own inconsistency).
        let not_found = || DdbError {
            kind: "ResourceNotFoundException",
            message: "Requested resource not found".into(),
            detail: None,
        };
        self.change_tags(name.ok_or_else(not_found)?, not_found, |current| {
            current.retain(|(k, _)| !keys.contains(&k.as_str()));
            Ok(())
        })?;
        Ok(json!({}))
    }

    /// All tags at once: 50 at most, so DynamoDB's NextToken is never needed.
    pub fn list_tags_of_resource(&self, _locks: Locks, req: &Req) -> Result<Json, DdbError> {
        let arn = req.get("ResourceArn").and_then(Json::as_str);
        let name = table_name_of(arn)?;
        let arn = arn.unwrap_or_default();
        let table = name
            .and_then(|n| self.tables.read().get(n).cloned())
            .ok_or_else(|| resource_not_found(arn))?;
        Ok(json!({ "Tags": tags_json(&table.tags) }))
    }
}

fn resource_not_found(arn: &str) -> DdbError {
    // "ResourcArn" is DynamoDB's spelling in this message.
    DdbError {
        kind: "ResourceNotFoundException",
        message: format!("Requested resource not found: ResourcArn: {arn} not found"),
        detail: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_are_checked_like_dynamodb() {
        let ours = format!("{TABLE_ARN_PREFIX}Users");
        assert_eq!(table_name_of(Some(&ours)).unwrap(), Some("Users"));
        let other = "arn:aws:dynamodb:us-east-1:123456789012:table/Users";
        assert_eq!(table_name_of(Some(other)).unwrap(), None);
        assert_eq!(table_name_of(None).unwrap_err().message, "Invalid TableArn");
        for bad in [
            "a:b:c:d:e:f/g",
            "arn:aws:dynamodb:local:000000000000:table/ab",
            "arn:aws:dynamodb:local:acct:table/Users",
            "arn:aws:dynamodb:local:000000000000:table/Users/stream/1",
        ] {
            assert_eq!(
                table_name_of(Some(bad)).unwrap_err().message,
                format!("Invalid TableArn: Invalid ResourceArn provided as input {bad}")
            );
        }
    }

    #[test]
    fn tag_rules_follow_dynamodb() {
        let tag = |k: &str, v: &str| json!({"Key": k, "Value": v});
        let err = |tags: Vec<Json>| parse_tags(&tags).unwrap_err().message;
        assert_eq!(
            parse_tags(&[tag("a", ""), tag(&"k".repeat(128), &"v".repeat(256))]).unwrap()[0],
            ("a".to_string(), String::new())
        );
        assert_eq!(
            err(vec![tag(&"k".repeat(129), "v")]),
            format!("The Tag Key provided is invalid, Key: {}", "k".repeat(129))
        );
        assert_eq!(
            err(vec![tag("", "v")]),
            "The Tag Key provided is invalid, Key: "
        );
        assert_eq!(
            err(vec![tag("k", &"v".repeat(257))]),
            format!(
                "The Tag Value provided is invalid, Value: {}",
                "v".repeat(257)
            )
        );
        assert_eq!(
            err(vec![json!({"Key": "k"})]),
            "The Tag Value provided is invalid, Value: null"
        );
        assert_eq!(
            err(vec![tag("aws:x", "v")]),
            "Tag Key cannot be prefixed with aws:, Key: aws:x"
        );
        assert_eq!(
            err(vec![tag("d", "1"), tag("d", "2")]),
            "Duplicate Tag Keys provided as input: Duplicate Tag Key found d"
        );
        let many: Vec<Json> = (0..51).map(|i| tag(&format!("k{i}"), "v")).collect();
        assert_eq!(err(many), too_many().message);
    }
}
