//! Expression tokens and placeholders, and key conditions (built on the general condition
//! parser in `eval.rs`).

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use super::eval::{parse_condition, Cond, Operand, PathPart};
use super::value::Value;
use super::DdbError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token {
    Name(String),
    Value(String),
    Op(String),
    LParen,
    RParen,
    Comma,
    Dot,
    LBracket,
    RBracket,
    Number(usize),
}

/// Words that are operators rather than attribute names.
const KEYWORDS: &[&str] = &[
    "AND",
    "OR",
    "NOT",
    "BETWEEN",
    "IN",
    "BEGINS_WITH",
    "SET",
    "REMOVE",
    "ADD",
    "DELETE",
];

pub(crate) fn tokenize(text: &str, what: &str) -> Result<Vec<Token>, DdbError> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                tokens.push(Token::LParen);
                i += 1;
            }
            ')' => {
                tokens.push(Token::RParen);
                i += 1;
            }
            ',' => {
                tokens.push(Token::Comma);
                i += 1;
            }
            '.' => {
                tokens.push(Token::Dot);
                i += 1;
            }
            '[' => {
                tokens.push(Token::LBracket);
                i += 1;
            }
            ']' => {
                tokens.push(Token::RBracket);
                i += 1;
            }
            '+' | '-' => {
                tokens.push(Token::Op(c.to_string()));
                i += 1;
            }
            c if c.is_ascii_digit() => {
                let start = i;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                let digits: String = chars[start..i].iter().collect();
                tokens.push(Token::Number(digits.parse().unwrap_or(usize::MAX)));
            }
            '=' => {
                tokens.push(Token::Op("=".into()));
                i += 1;
            }
            '<' | '>' => {
                let op = if chars.get(i + 1) == Some(&'=') {
                    i += 2;
                    format!("{c}=")
                } else if c == '<' && chars.get(i + 1) == Some(&'>') {
                    i += 2;
                    "<>".into()
                } else {
                    i += 1;
                    c.to_string()
                };
                tokens.push(Token::Op(op));
            }
            ':' | '#' | '_' => {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                tokens.push(if c == ':' {
                    Token::Value(word)
                } else {
                    Token::Name(word)
                });
            }
            c if c.is_alphabetic() => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let upper = word.to_ascii_uppercase();
                tokens.push(if KEYWORDS.contains(&upper.as_str()) {
                    Token::Op(upper)
                } else {
                    Token::Name(word)
                });
            }
            other => {
                return Err(DdbError::validation(format!(
                    "Invalid {what}: Syntax error; token: \"{other}\", near: \"{text}\""
                )))
            }
        }
    }
    Ok(tokens)
}

/// Placeholders of an expression: `ExpressionAttributeNames` and `ExpressionAttributeValues`.
pub struct Placeholders {
    names: BTreeMap<String, String>,
    values: BTreeMap<String, Value>,
}

impl Placeholders {
    pub fn from_request(req: &Map<String, Json>) -> Result<Placeholders, DdbError> {
        let names = match req.get("ExpressionAttributeNames") {
            Some(Json::Object(m)) => m
                .iter()
                .map(|(k, v)| {
                    v.as_str()
                        .map(|s| (k.clone(), s.to_string()))
                        .ok_or_else(|| {
                            DdbError::validation("ExpressionAttributeNames must map to strings")
                        })
                })
                .collect::<Result<_, _>>()?,
            _ => BTreeMap::new(),
        };
        let values = match req.get("ExpressionAttributeValues") {
            Some(Json::Object(m)) => m
                .iter()
                .map(|(k, v)| Ok((k.clone(), Value::from_json(v)?)))
                .collect::<Result<_, DdbError>>()?,
            _ => BTreeMap::new(),
        };
        Ok(Placeholders { names, values })
    }

    pub(crate) fn name(&self, token: &str) -> Result<String, DdbError> {
        if token.starts_with('#') {
            self.names.get(token).cloned().ok_or_else(|| {
                DdbError::validation(format!(
                    "An expression attribute name used in the document path is not defined; attribute name: {token}"
                ))
            })
        } else {
            Ok(token.to_string())
        }
    }

    pub(crate) fn value(&self, token: &str) -> Result<Value, DdbError> {
        self.values.get(token).cloned().ok_or_else(|| {
            DdbError::validation(format!(
                "An expression attribute value used in expression is not defined; attribute value: {token}"
            ))
        })
    }
}

/// A condition on the sort key.
#[derive(Debug, Clone, PartialEq)]
pub enum SortCondition {
    Cmp(String, Value),
    Between(Value, Value),
    BeginsWith(Value),
}

/// A parsed key condition: the partition key value and an optional sort-key condition.
#[derive(Debug, Clone)]
pub struct KeyCondition {
    pub partition: (String, Value),
    pub sort: Option<(String, SortCondition)>,
}

/// Parses a KeyConditionExpression with the general condition parser, then checks it has
/// the shape DynamoDB allows: `pk = :v` and at most one sort-key condition (=, <, <=, >, >=,
/// BETWEEN, begins_with), joined by AND.
pub fn parse_key_condition(text: &str, ph: &Placeholders) -> Result<KeyCondition, DdbError> {
    let what = "KeyConditionExpression";
    let invalid = |detail: &str| DdbError::validation(format!("Invalid {what}: {detail}"));
    let mut terms = Vec::new();
    flatten_and(parse_condition(text, ph, what)?, &mut terms);
    let attr = |path: &[PathPart]| match path {
        [PathPart::Attr(name)] => Ok(name.clone()),
        _ => Err(invalid(
            "Key conditions may only name top-level key attributes",
        )),
    };
    let mut partition = None;
    let mut sort = None;
    for term in terms {
        let (name, cond) = match term {
            Cond::Cmp(Operand::Path(p), op, Operand::Value(v)) if op != "<>" => {
                (attr(&p)?, SortCondition::Cmp(op, v))
            }
            Cond::Between(Operand::Path(p), Operand::Value(lo), Operand::Value(hi)) => {
                (attr(&p)?, SortCondition::Between(lo, hi))
            }
            Cond::BeginsWith(Operand::Path(p), Operand::Value(v)) => {
                (attr(&p)?, SortCondition::BeginsWith(v))
            }
            _ => {
                return Err(invalid(
                    "Unsupported operator or function in a key condition",
                ))
            }
        };
        match cond {
            SortCondition::Cmp(op, v) if op == "=" && partition.is_none() => {
                partition = Some((name, v))
            }
            cond if sort.is_none() => sort = Some((name, cond)),
            _ => return Err(invalid("The expression can only contain two conditions")),
        }
    }
    let partition =
        partition.ok_or_else(|| DdbError::validation("Query key condition not supported"))?;
    Ok(KeyCondition { partition, sort })
}

fn flatten_and(cond: Cond, out: &mut Vec<Cond>) {
    match cond {
        Cond::And(a, b) => {
            flatten_and(*a, out);
            flatten_and(*b, out);
        }
        other => out.push(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ph() -> Placeholders {
        let req = json!({
            "ExpressionAttributeNames": {"#c": "CustomerID", "#o": "OrderID"},
            "ExpressionAttributeValues": {":c": {"S": "c1"}, ":lo": {"N": "1"}, ":hi": {"N": "9"}, ":p": {"S": "2024"}}
        });
        Placeholders::from_request(req.as_object().unwrap()).unwrap()
    }

    #[test]
    fn key_conditions() {
        let kc = parse_key_condition("#c = :c", &ph()).unwrap();
        assert_eq!(kc.partition, ("CustomerID".into(), Value::S("c1".into())));
        assert!(kc.sort.is_none());
        let kc = parse_key_condition("#c = :c AND #o BETWEEN :lo AND :hi", &ph()).unwrap();
        assert_eq!(
            kc.sort.unwrap().1,
            SortCondition::Between(Value::N("1".into()), Value::N("9".into()))
        );
        let kc = parse_key_condition("(#c = :c) and begins_with(#o, :p)", &ph()).unwrap();
        assert_eq!(
            kc.sort.unwrap().1,
            SortCondition::BeginsWith(Value::S("2024".into()))
        );
        let kc = parse_key_condition("CustomerID = :c AND OrderID >= :lo", &ph()).unwrap();
        assert_eq!(kc.sort.unwrap().0, "OrderID");
        assert!(parse_key_condition("#c = ", &ph()).is_err());
        assert!(parse_key_condition("#c = :missing", &ph()).is_err());
    }

    #[test]
    fn projections() {
        use crate::tables::eval::{parse_projection, PathPart};
        let paths = parse_projection("a, #c.x[2]", &ph()).unwrap();
        assert_eq!(paths[0], vec![PathPart::Attr("a".into())]);
        assert_eq!(
            paths[1],
            vec![
                PathPart::Attr("CustomerID".into()),
                PathPart::Attr("x".into()),
                PathPart::Index(2)
            ]
        );
        assert!(parse_projection("a b", &ph()).is_err());
    }
}
