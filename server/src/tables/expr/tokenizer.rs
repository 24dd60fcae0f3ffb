//! Lexing of DynamoDB expressions into tokens, and the request's placeholders
//! (`ExpressionAttributeNames` for `#name`, `ExpressionAttributeValues` for `:value`).

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use crate::tables::value::Value;
use crate::tables::DdbError;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
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

/// The token of a character that is a token by itself (punctuation, `+`, `-`, `=`).
fn single_char_token(c: char) -> Option<Token> {
    Some(match c {
        '(' => Token::LParen,
        ')' => Token::RParen,
        ',' => Token::Comma,
        '.' => Token::Dot,
        '[' => Token::LBracket,
        ']' => Token::RBracket,
        '+' | '-' | '=' => Token::Op(c.to_string()),
        _ => return None,
    })
}

/// Splits an expression into tokens; `what` names the expression in the syntax error.
pub(super) fn tokenize(text: &str, what: &str) -> Result<Vec<Token>, DdbError> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if let Some(token) = single_char_token(c) {
            tokens.push(token);
            i += 1;
            continue;
        }
        match c {
            c if c.is_whitespace() => i += 1,
            c if c.is_ascii_digit() => {
                let start = i;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                let digits: String = chars[start..i].iter().collect();
                tokens.push(Token::Number(digits.parse().unwrap_or(usize::MAX)));
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

    pub(super) fn name(&self, token: &str) -> Result<String, DdbError> {
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

    pub(super) fn value(&self, token: &str) -> Result<Value, DdbError> {
        self.values.get(token).cloned().ok_or_else(|| {
            DdbError::validation(format!(
                "An expression attribute value used in expression is not defined; attribute value: {token}"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_of_paths_operators_and_keywords() {
        let tokens = tokenize("#a.b[2] <= :v and begins_with(x, :p) <> c", "X").unwrap();
        assert_eq!(
            tokens,
            vec![
                Token::Name("#a".into()),
                Token::Dot,
                Token::Name("b".into()),
                Token::LBracket,
                Token::Number(2),
                Token::RBracket,
                Token::Op("<=".into()),
                Token::Value(":v".into()),
                Token::Op("AND".into()),
                Token::Op("BEGINS_WITH".into()),
                Token::LParen,
                Token::Name("x".into()),
                Token::Comma,
                Token::Value(":p".into()),
                Token::RParen,
                Token::Op("<>".into()),
                Token::Name("c".into()),
            ]
        );
    }

    #[test]
    fn unknown_character_is_a_syntax_error() {
        let err = tokenize("a ! b", "FilterExpression").unwrap_err();
        assert_eq!(
            err.message,
            "Invalid FilterExpression: Syntax error; token: \"!\", near: \"a ! b\""
        );
    }
}
