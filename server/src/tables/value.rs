//! DynamoDB attribute values: parsing and printing DynamoDB JSON, validation, storage
//! encoding, and the key-attribute byte encoding used in row keys.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value as Json};

use super::number::Number;
use super::DdbError;
use crate::engine::keys::encode_bytes_escaped;

/// An attribute value (numbers are kept in canonical text form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    S(String),
    N(String),
    B(#[serde(with = "serde_bytes")] Vec<u8>),
    Bool(bool),
    Null,
    M(BTreeMap<String, Value>),
    L(Vec<Value>),
    SS(Vec<String>),
    NS(Vec<String>),
    BS(Vec<serde_bytes::ByteBuf>),
}

/// An item: attribute name → value.
pub type Item = BTreeMap<String, Value>;

/// DynamoDB's limit on nested attribute levels (maps and lists inside an item).
const MAX_NESTING: usize = 32;

fn invalid(msg: impl Into<String>) -> DdbError {
    DdbError::validation(msg)
}

fn b64_decode(text: &str) -> Result<Vec<u8>, DdbError> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| invalid("Invalid Base64 value"))
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn no_duplicates<T: Ord + Clone + std::fmt::Debug>(items: &[T]) -> Result<(), DdbError> {
    let mut sorted = items.to_vec();
    sorted.sort();
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        return Err(invalid(format!(
            "Input collection {items:?} contains duplicates."
        )));
    }
    Ok(())
}

impl Value {
    /// Parses DynamoDB JSON (`{"S": "x"}`, `{"N": "1"}`, `{"M": {...}}`…).
    pub fn from_json(json: &Json) -> Result<Value, DdbError> {
        Value::from_json_at(json, 1)
    }

    /// Parses a value nested `depth` levels deep (1 = an attribute of the item).
    fn from_json_at(json: &Json, depth: usize) -> Result<Value, DdbError> {
        if depth > MAX_NESTING {
            return Err(invalid("Nesting Levels have exceeded supported limits"));
        }
        let obj = json
            .as_object()
            .filter(|o| o.len() == 1)
            .ok_or_else(|| invalid("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"))?;
        let (tag, v) = obj.iter().next().expect("one entry");
        let text = |v: &Json| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| invalid(format!("Invalid {tag} value")))
        };
        let list = |v: &Json| {
            v.as_array()
                .cloned()
                .ok_or_else(|| invalid(format!("Invalid {tag} value")))
        };
        let number = |t: String| Number::parse(&t).map(|n| n.to_canonical()).map_err(invalid);
        Ok(match tag.as_str() {
            "S" => Value::S(text(v)?),
            "N" => Value::N(number(text(v)?)?),
            "B" => Value::B(b64_decode(&text(v)?)?),
            "BOOL" => Value::Bool(v.as_bool().ok_or_else(|| invalid("Invalid BOOL value"))?),
            "NULL" => {
                if v.as_bool() != Some(true) {
                    return Err(invalid("One or more parameter values were invalid: Null attribute value types must have the value of true"));
                }
                Value::Null
            }
            "M" => {
                let map = v.as_object().ok_or_else(|| invalid("Invalid M value"))?;
                Value::M(item_from_json_at(map, depth + 1)?)
            }
            "L" => Value::L(
                list(v)?
                    .iter()
                    .map(|v| Value::from_json_at(v, depth + 1))
                    .collect::<Result<_, _>>()?,
            ),
            "SS" | "NS" | "BS" => {
                let items = list(v)?;
                if items.is_empty() {
                    let kind = match tag.as_str() {
                        "SS" => "string",
                        "NS" => "number",
                        _ => "binary",
                    };
                    return Err(invalid(format!(
                        "One or more parameter values were invalid: An {kind} set  may not be empty"
                    )));
                }
                let strings = items.iter().map(text).collect::<Result<Vec<_>, _>>()?;
                match tag.as_str() {
                    "SS" => {
                        no_duplicates(&strings)?;
                        Value::SS(strings)
                    }
                    "NS" => {
                        let numbers = strings
                            .into_iter()
                            .map(number)
                            .collect::<Result<Vec<_>, _>>()?;
                        no_duplicates(&numbers)?;
                        Value::NS(numbers)
                    }
                    _ => {
                        let blobs = strings
                            .iter()
                            .map(|s| b64_decode(s))
                            .collect::<Result<Vec<_>, _>>()?;
                        no_duplicates(&blobs)?;
                        Value::BS(blobs.into_iter().map(serde_bytes::ByteBuf::from).collect())
                    }
                }
            }
            other => return Err(invalid(format!("Unsupported attribute value type {other}"))),
        })
    }

    /// Prints DynamoDB JSON.
    pub fn to_json(&self) -> Json {
        match self {
            Value::S(s) => json!({ "S": s }),
            Value::N(n) => json!({ "N": n }),
            Value::B(b) => json!({ "B": b64(b) }),
            Value::Bool(b) => json!({ "BOOL": b }),
            Value::Null => json!({ "NULL": true }),
            Value::M(m) => json!({ "M": item_to_json(m) }),
            Value::L(l) => json!({ "L": l.iter().map(Value::to_json).collect::<Vec<_>>() }),
            Value::SS(s) => json!({ "SS": s }),
            Value::NS(n) => json!({ "NS": n }),
            Value::BS(b) => json!({ "BS": b.iter().map(|x| b64(x)).collect::<Vec<_>>() }),
        }
    }

    /// The DynamoDB type name (`S`, `N`, `B`, `BOOL`, `NULL`, `M`, `L`, `SS`, `NS`, `BS`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::S(_) => "S",
            Value::N(_) => "N",
            Value::B(_) => "B",
            Value::Bool(_) => "BOOL",
            Value::Null => "NULL",
            Value::M(_) => "M",
            Value::L(_) => "L",
            Value::SS(_) => "SS",
            Value::NS(_) => "NS",
            Value::BS(_) => "BS",
        }
    }

    /// Approximate stored size (DynamoDB's accounting: names + values).
    pub fn size(&self) -> usize {
        match self {
            Value::S(s) | Value::N(s) => s.len(),
            Value::B(b) => b.len(),
            Value::Bool(_) | Value::Null => 1,
            Value::M(m) => 3 + m.iter().map(|(k, v)| k.len() + v.size() + 1).sum::<usize>(),
            Value::L(l) => 3 + l.iter().map(|v| v.size() + 1).sum::<usize>(),
            Value::SS(s) | Value::NS(s) => s.iter().map(String::len).sum(),
            Value::BS(b) => b.iter().map(|x| x.len()).sum(),
        }
    }

    /// Order-preserving bytes of a key attribute (S, N or B).
    pub fn key_bytes(&self) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        match self {
            Value::S(s) => encode_bytes_escaped(s.as_bytes(), &mut out),
            Value::B(b) => encode_bytes_escaped(b, &mut out),
            Value::N(n) => out = Number::parse(n).ok()?.encode(),
            _ => return None,
        }
        Some(out)
    }

    /// Numeric value of an `N`.
    pub fn number(&self) -> Option<Number> {
        match self {
            Value::N(n) => Number::parse(n).ok(),
            _ => None,
        }
    }
}

/// Parses an item (attribute name → DynamoDB JSON value).
pub fn item_from_json(map: &Map<String, Json>) -> Result<Item, DdbError> {
    item_from_json_at(map, 1)
}

fn item_from_json_at(map: &Map<String, Json>, depth: usize) -> Result<Item, DdbError> {
    map.iter()
        .map(|(k, v)| Ok((k.clone(), Value::from_json_at(v, depth)?)))
        .collect()
}

pub fn item_to_json(item: &Item) -> Json {
    Json::Object(item.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
}

/// Approximate item size in bytes (for the 400 KB limit).
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + v.size()).sum()
}

const FORMAT_V1: u8 = 1;

pub fn encode_item(item: &Item) -> Vec<u8> {
    let mut out = vec![FORMAT_V1];
    out.extend(postcard::to_allocvec(item).expect("serialising an item cannot fail"));
    out
}

pub fn decode_item(raw: &[u8]) -> Result<Item, DdbError> {
    match raw.split_first() {
        Some((&FORMAT_V1, body)) => {
            postcard::from_bytes(body).map_err(|e| DdbError::internal(format!("corrupt item: {e}")))
        }
        _ => Err(DdbError::internal("unknown item format")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_and_storage() {
        let json = json!({
            "id": {"S": "u1"}, "n": {"N": "1.50"}, "b": {"B": "aGk="}, "t": {"BOOL": true},
            "z": {"NULL": true}, "m": {"M": {"x": {"N": "1"}}}, "l": {"L": [{"S": "a"}]},
            "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]}, "bs": {"BS": ["aGk="]}
        });
        let item = item_from_json(json.as_object().unwrap()).unwrap();
        assert_eq!(item["n"], Value::N("1.5".into()));
        let back = item_to_json(&item);
        assert_eq!(back["n"], json!({"N": "1.5"}));
        assert_eq!(back["bs"], json!({"BS": ["aGk="]}));
        assert_eq!(decode_item(&encode_item(&item)).unwrap(), item);
    }

    #[test]
    fn validation_errors() {
        let bad = |j: Json| Value::from_json(&j).unwrap_err().message;
        assert!(bad(json!({"SS": []})).contains("may not be empty"));
        assert!(bad(json!({"SS": ["a", "a"]})).contains("contains duplicates"));
        assert!(bad(json!({"N": "x"})).contains("numeric"));
        assert!(bad(json!({"NULL": false})).contains("Null attribute"));
        assert!(bad(json!({"S": "a", "N": "1"})).contains("exactly one"));
    }
}
