//! Condition, filter and update expressions: parsing (DynamoDB's grammar, with `#name` and
//! `:value` placeholders and nested paths `a.b[2].c`) and evaluation against an item.

use std::cmp::Ordering;

use super::expr::{tokenize, Placeholders, Token};
use super::number::Number;
use super::value::{Item, Value};
use super::DdbError;

/// One step of a document path.
#[derive(Debug, Clone, PartialEq)]
pub enum PathPart {
    Attr(String),
    Index(usize),
}

pub type Path = Vec<PathPart>;

#[derive(Debug, Clone)]
pub enum Operand {
    Path(Path),
    Value(Value),
    Size(Path),
}

#[derive(Debug, Clone)]
pub enum Cond {
    Cmp(Operand, String, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    Exists(Path),
    NotExists(Path),
    Type(Path, Operand),
    BeginsWith(Operand, Operand),
    Contains(Operand, Operand),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
}

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    ph: &'a Placeholders,
    what: &'static str,
    text: &'a str,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, ph: &'a Placeholders, what: &'static str) -> Result<Self, DdbError> {
        Ok(Parser {
            tokens: tokenize(text, what)?,
            pos: 0,
            ph,
            what,
            text,
        })
    }

    fn error(&self) -> DdbError {
        let near = self
            .tokens
            .get(self.pos)
            .map_or("<end>".to_string(), |t| format!("{t:?}"));
        DdbError::validation(format!(
            "Invalid {}: Syntax error; token: {near}, near: \"{}\"",
            self.what, self.text
        ))
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expect(&mut self, token: Token) -> Result<(), DdbError> {
        if self.next() == Some(token) {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Token::Op(o)) if o == op)
    }

    fn at_end(&self) -> bool {
        self.pos >= self.tokens.len()
    }

    fn path(&mut self) -> Result<Path, DdbError> {
        let mut path = match self.next() {
            Some(Token::Name(n)) => vec![PathPart::Attr(self.ph.name(&n)?)],
            _ => return Err(self.error()),
        };
        loop {
            match self.peek() {
                Some(Token::Dot) => {
                    self.pos += 1;
                    match self.next() {
                        Some(Token::Name(n)) => path.push(PathPart::Attr(self.ph.name(&n)?)),
                        _ => return Err(self.error()),
                    }
                }
                Some(Token::LBracket) => {
                    self.pos += 1;
                    match self.next() {
                        Some(Token::Number(i)) => path.push(PathPart::Index(i)),
                        _ => return Err(self.error()),
                    }
                    self.expect(Token::RBracket)?;
                }
                _ => return Ok(path),
            }
        }
    }

    fn function_name(&self) -> Option<String> {
        match (self.peek(), self.tokens.get(self.pos + 1)) {
            (Some(Token::Name(n)), Some(Token::LParen)) => Some(n.to_ascii_lowercase()),
            (Some(Token::Op(o)), Some(Token::LParen)) if o == "BEGINS_WITH" => {
                Some("begins_with".into())
            }
            _ => None,
        }
    }

    fn operand(&mut self) -> Result<Operand, DdbError> {
        if self.function_name().as_deref() == Some("size") {
            self.pos += 2;
            let path = self.path()?;
            self.expect(Token::RParen)?;
            return Ok(Operand::Size(path));
        }
        match self.peek() {
            Some(Token::Value(v)) => {
                let v = v.clone();
                self.pos += 1;
                Ok(Operand::Value(self.ph.value(&v)?))
            }
            Some(Token::Name(_)) => Ok(Operand::Path(self.path()?)),
            _ => Err(self.error()),
        }
    }

    fn condition(&mut self) -> Result<Cond, DdbError> {
        let mut left = self.and()?;
        while self.is_op("OR") {
            self.pos += 1;
            left = Cond::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Cond, DdbError> {
        let mut left = self.not()?;
        while self.is_op("AND") {
            self.pos += 1;
            left = Cond::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Cond, DdbError> {
        if self.is_op("NOT") {
            self.pos += 1;
            return Ok(Cond::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Cond, DdbError> {
        if self.peek() == Some(&Token::LParen) {
            self.pos += 1;
            let inner = self.condition()?;
            self.expect(Token::RParen)?;
            return Ok(inner);
        }
        if let Some(f) = self.function_name() {
            if f != "size" {
                self.pos += 2;
                let cond = match f.as_str() {
                    "attribute_exists" => Cond::Exists(self.path()?),
                    "attribute_not_exists" => Cond::NotExists(self.path()?),
                    "attribute_type" => {
                        let p = self.path()?;
                        self.expect(Token::Comma)?;
                        Cond::Type(p, self.operand()?)
                    }
                    "begins_with" | "contains" => {
                        let a = self.operand()?;
                        self.expect(Token::Comma)?;
                        let b = self.operand()?;
                        if f == "contains" {
                            Cond::Contains(a, b)
                        } else {
                            Cond::BeginsWith(a, b)
                        }
                    }
                    other => {
                        return Err(DdbError::validation(format!(
                            "Invalid {}: Invalid function name; function: {other}",
                            self.what
                        )))
                    }
                };
                self.expect(Token::RParen)?;
                return Ok(cond);
            }
        }
        let left = self.operand()?;
        match self.next() {
            Some(Token::Op(op)) if ["=", "<>", "<", "<=", ">", ">="].contains(&op.as_str()) => {
                Ok(Cond::Cmp(left, op, self.operand()?))
            }
            Some(Token::Op(op)) if op == "BETWEEN" => {
                let lo = self.operand()?;
                if !self.is_op("AND") {
                    return Err(self.error());
                }
                self.pos += 1;
                Ok(Cond::Between(left, lo, self.operand()?))
            }
            Some(Token::Op(op)) if op == "IN" => {
                self.expect(Token::LParen)?;
                let mut list = vec![self.operand()?];
                while self.peek() == Some(&Token::Comma) {
                    self.pos += 1;
                    list.push(self.operand()?);
                }
                self.expect(Token::RParen)?;
                Ok(Cond::In(left, list))
            }
            _ => Err(self.error()),
        }
    }
}

/// Parses a ConditionExpression or FilterExpression.
pub fn parse_condition(
    text: &str,
    ph: &Placeholders,
    what: &'static str,
) -> Result<Cond, DdbError> {
    let mut parser = Parser::new(text, ph, what)?;
    let cond = parser.condition()?;
    if !parser.at_end() {
        return Err(parser.error());
    }
    Ok(cond)
}

/// Parses a ProjectionExpression: comma-separated document paths.
pub fn parse_projection(text: &str, ph: &Placeholders) -> Result<Vec<Path>, DdbError> {
    let mut p = Parser::new(text, ph, "ProjectionExpression")?;
    let mut paths = vec![p.path()?];
    while p.peek() == Some(&Token::Comma) {
        p.pos += 1;
        paths.push(p.path()?);
    }
    if !p.at_end() {
        return Err(p.error());
    }
    Ok(paths)
}

/// The parts of `item` named by `paths`, nested as in the item (selected list elements are
/// kept in order, compacted, as DynamoDB returns them).
pub fn project(item: &Item, paths: &[Path]) -> Item {
    let mut out = Item::new();
    for path in paths {
        let Some(value) = resolve(item, path) else {
            continue;
        };
        let (PathPart::Attr(first), rest) = path.split_first().expect("non-empty path") else {
            continue;
        };
        let slot = out
            .entry(first.clone())
            .or_insert_with(|| container_for(rest.first()));
        place(slot, rest, value.clone());
    }
    out
}

fn container_for(part: Option<&PathPart>) -> Value {
    match part {
        Some(PathPart::Index(_)) => Value::L(Vec::new()),
        _ => Value::M(Default::default()),
    }
}

fn place(slot: &mut Value, rest: &[PathPart], value: Value) {
    let Some((part, tail)) = rest.split_first() else {
        *slot = value;
        return;
    };
    match (part, slot) {
        (PathPart::Attr(name), Value::M(m)) => {
            let next = m
                .entry(name.clone())
                .or_insert_with(|| container_for(tail.first()));
            place(next, tail, value);
        }
        (PathPart::Index(_), Value::L(l)) => {
            l.push(container_for(tail.first()));
            let last = l.last_mut().expect("just pushed");
            place(last, tail, value);
        }
        _ => {}
    }
}

/// Resolves a path in an item.
pub fn resolve<'i>(item: &'i Item, path: &Path) -> Option<&'i Value> {
    let mut current: Option<&Value> = None;
    for (i, part) in path.iter().enumerate() {
        current = match (i, part, current) {
            (0, PathPart::Attr(name), _) => item.get(name),
            (_, PathPart::Attr(name), Some(Value::M(m))) => m.get(name),
            (_, PathPart::Index(n), Some(Value::L(l))) => l.get(*n),
            _ => None,
        };
        current?;
    }
    current
}

fn operand_value(item: &Item, op: &Operand) -> Option<Value> {
    match op {
        Operand::Value(v) => Some(v.clone()),
        Operand::Path(p) => resolve(item, p).cloned(),
        Operand::Size(p) => {
            let size = match resolve(item, p)? {
                Value::S(s) => s.chars().count(),
                Value::B(b) => b.len(),
                Value::M(m) => m.len(),
                Value::L(l) => l.len(),
                Value::SS(s) | Value::NS(s) => s.len(),
                Value::BS(b) => b.len(),
                _ => return None,
            };
            Some(Value::N(size.to_string()))
        }
    }
}

/// Orders two values of the same scalar type (N numerically, S and B bytewise).
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::N(_), Value::N(_)) => Some(a.number()?.cmp(&b.number()?)),
        (Value::S(x), Value::S(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::B(x), Value::B(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match compare(a, b) {
        Some(o) => o == Ordering::Equal,
        None => a == b,
    }
}

/// Evaluates a condition against an item (absent item = empty item).
pub fn evaluate(cond: &Cond, item: &Item) -> bool {
    let val = |op: &Operand| operand_value(item, op);
    match cond {
        Cond::Cmp(a, op, b) => match (val(a), val(b)) {
            (Some(x), Some(y)) => match op.as_str() {
                "=" => equal(&x, &y),
                "<>" => !equal(&x, &y),
                _ => compare(&x, &y).is_some_and(|o| match op.as_str() {
                    "<" => o == Ordering::Less,
                    "<=" => o != Ordering::Greater,
                    ">" => o == Ordering::Greater,
                    _ => o != Ordering::Less,
                }),
            },
            // Comparing with a missing attribute: only <> holds.
            _ => op == "<>" && val(a).is_some() != val(b).is_some(),
        },
        Cond::Between(a, lo, hi) => match (val(a), val(lo), val(hi)) {
            (Some(x), Some(l), Some(h)) => {
                compare(&x, &l).is_some_and(|o| o != Ordering::Less)
                    && compare(&x, &h).is_some_and(|o| o != Ordering::Greater)
            }
            _ => false,
        },
        Cond::In(a, list) => {
            val(a).is_some_and(|x| list.iter().any(|o| val(o).is_some_and(|y| equal(&x, &y))))
        }
        Cond::Exists(p) => resolve(item, p).is_some(),
        Cond::NotExists(p) => resolve(item, p).is_none(),
        Cond::Type(p, t) => match (resolve(item, p), val(t)) {
            (Some(v), Some(Value::S(t))) => v.type_name() == t,
            _ => false,
        },
        Cond::BeginsWith(a, b) => match (val(a), val(b)) {
            (Some(Value::S(x)), Some(Value::S(y))) => x.starts_with(&y),
            (Some(Value::B(x)), Some(Value::B(y))) => x.starts_with(&y),
            _ => false,
        },
        Cond::Contains(a, b) => match (val(a), val(b)) {
            (Some(Value::S(x)), Some(Value::S(y))) => x.contains(&y),
            (Some(Value::SS(set)), Some(Value::S(y))) => set.contains(&y),
            (Some(Value::NS(set)), Some(n @ Value::N(_))) => {
                set.iter().any(|s| equal(&Value::N(s.clone()), &n))
            }
            (Some(Value::BS(set)), Some(Value::B(y))) => {
                set.iter().any(|b| b.as_slice() == y.as_slice())
            }
            (Some(Value::L(list)), Some(y)) => list.iter().any(|v| equal(v, &y)),
            _ => false,
        },
        Cond::And(a, b) => evaluate(a, item) && evaluate(b, item),
        Cond::Or(a, b) => evaluate(a, item) || evaluate(b, item),
        Cond::Not(a) => !evaluate(a, item),
    }
}

/// The right-hand side of a SET action.
#[derive(Debug, Clone)]
pub enum SetValue {
    Operand(Operand),
    IfNotExists(Path, Box<SetValue>),
    ListAppend(Box<SetValue>, Box<SetValue>),
    Plus(Box<SetValue>, Box<SetValue>),
    Minus(Box<SetValue>, Box<SetValue>),
}

#[derive(Debug, Clone)]
pub enum Action {
    Set(Path, SetValue),
    Remove(Path),
    Add(Path, Value),
    Delete(Path, Value),
}

impl Parser<'_> {
    fn set_operand(&mut self) -> Result<SetValue, DdbError> {
        match self.function_name().as_deref() {
            Some("if_not_exists") => {
                self.pos += 2;
                let path = self.path()?;
                self.expect(Token::Comma)?;
                let fallback = self.set_operand()?;
                self.expect(Token::RParen)?;
                Ok(SetValue::IfNotExists(path, Box::new(fallback)))
            }
            Some("list_append") => {
                self.pos += 2;
                let a = self.set_operand()?;
                self.expect(Token::Comma)?;
                let b = self.set_operand()?;
                self.expect(Token::RParen)?;
                Ok(SetValue::ListAppend(Box::new(a), Box::new(b)))
            }
            _ => Ok(SetValue::Operand(self.operand()?)),
        }
    }

    fn set_value(&mut self) -> Result<SetValue, DdbError> {
        let left = self.set_operand()?;
        if self.is_op("+") || self.is_op("-") {
            let plus = self.is_op("+");
            self.pos += 1;
            let right = self.set_operand()?;
            return Ok(if plus {
                SetValue::Plus(Box::new(left), Box::new(right))
            } else {
                SetValue::Minus(Box::new(left), Box::new(right))
            });
        }
        Ok(left)
    }

    fn value_operand(&mut self) -> Result<Value, DdbError> {
        match self.next() {
            Some(Token::Value(v)) => self.ph.value(&v),
            _ => Err(self.error()),
        }
    }
}

/// Parses an UpdateExpression into its actions.
pub fn parse_update(text: &str, ph: &Placeholders) -> Result<Vec<Action>, DdbError> {
    let mut p = Parser::new(text, ph, "UpdateExpression")?;
    let mut actions = Vec::new();
    let mut seen = Vec::new();
    while !p.at_end() {
        let clause = match p.next() {
            Some(Token::Op(op)) if ["SET", "REMOVE", "ADD", "DELETE"].contains(&op.as_str()) => op,
            _ => return Err(p.error()),
        };
        if seen.contains(&clause) {
            return Err(DdbError::validation(format!(
                "Invalid UpdateExpression: The \"{clause}\" section can only be used once in an update expression;"
            )));
        }
        seen.push(clause.clone());
        loop {
            let path = p.path()?;
            actions.push(match clause.as_str() {
                "SET" => {
                    p.expect(Token::Op("=".into()))?;
                    Action::Set(path, p.set_value()?)
                }
                "REMOVE" => Action::Remove(path),
                "ADD" => Action::Add(path, p.value_operand()?),
                _ => Action::Delete(path, p.value_operand()?),
            });
            if p.peek() == Some(&Token::Comma) {
                p.pos += 1;
            } else {
                break;
            }
        }
    }
    if actions.is_empty() {
        return Err(DdbError::validation(
            "Invalid UpdateExpression: The expression can not be empty;",
        ));
    }
    Ok(actions)
}

fn eval_set_value(item: &Item, v: &SetValue) -> Result<Value, DdbError> {
    let missing = || {
        DdbError::validation(
            "The provided expression refers to an attribute that does not exist in the item",
        )
    };
    Ok(match v {
        SetValue::Operand(op) => operand_value(item, op).ok_or_else(missing)?,
        SetValue::IfNotExists(path, fallback) => match resolve(item, path) {
            Some(v) => v.clone(),
            None => eval_set_value(item, fallback)?,
        },
        SetValue::ListAppend(a, b) => match (eval_set_value(item, a)?, eval_set_value(item, b)?) {
            (Value::L(mut x), Value::L(y)) => {
                x.extend(y);
                Value::L(x)
            }
            _ => {
                return Err(DdbError::validation(
                    "An operand in the update expression has an incorrect data type",
                ))
            }
        },
        SetValue::Plus(a, b) | SetValue::Minus(a, b) => {
            let (x, y) = (eval_set_value(item, a)?, eval_set_value(item, b)?);
            let (Some(x), Some(y)) = (x.number(), y.number()) else {
                return Err(DdbError::validation(
                    "An operand in the update expression has an incorrect data type",
                ));
            };
            let negate = matches!(v, SetValue::Minus(..));
            Value::N(add_numbers(&x, &y, negate)?)
        }
    })
}

/// Decimal addition through the canonical text of both numbers (exact for integers and
/// short decimals, which is what counters use).
fn add_numbers(x: &Number, y: &Number, negate: bool) -> Result<String, DdbError> {
    let parse = |n: &Number| n.to_canonical();
    let (a, b) = (parse(x), parse(y));
    let scale = |s: &str| s.split_once('.').map_or(0, |(_, f)| f.len());
    let digits = scale(&a).max(scale(&b));
    let to_int = |s: &str| -> Option<i128> {
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        let mut text = format!("{int}{frac}");
        text.extend(std::iter::repeat_n('0', digits - frac.len()));
        text.parse().ok()
    };
    let result = match (to_int(&a), to_int(&b)) {
        (Some(i), Some(j)) => {
            let sum = if negate {
                i.checked_sub(j)
            } else {
                i.checked_add(j)
            };
            sum.map(|s| {
                if digits == 0 {
                    s.to_string()
                } else {
                    let neg = s < 0;
                    let abs = s.unsigned_abs().to_string();
                    let padded = format!("{abs:0>width$}", width = digits + 1);
                    let (ip, fp) = padded.split_at(padded.len() - digits);
                    format!("{}{ip}.{fp}", if neg { "-" } else { "" })
                }
            })
        }
        _ => None,
    };
    let text = result.unwrap_or_else(|| {
        let f = if negate {
            x.to_f64() - y.to_f64()
        } else {
            x.to_f64() + y.to_f64()
        };
        f.to_string()
    });
    Number::parse(&text)
        .map(|n| n.to_canonical())
        .map_err(DdbError::validation)
}

/// Writes `value` at `path` (creating the top-level attribute; nested parents must exist).
fn assign(item: &mut Item, path: &Path, value: Value) -> Result<(), DdbError> {
    let invalid = || {
        DdbError::validation(
            "The document path provided in the update expression is invalid for update",
        )
    };
    let (first, rest) = path.split_first().expect("non-empty path");
    let PathPart::Attr(name) = first else {
        return Err(invalid());
    };
    if rest.is_empty() {
        item.insert(name.clone(), value);
        return Ok(());
    }
    let mut current = item.get_mut(name).ok_or_else(invalid)?;
    for (i, part) in rest.iter().enumerate() {
        let last = i + 1 == rest.len();
        current = match (part, current) {
            (PathPart::Attr(n), Value::M(m)) if last => {
                m.insert(n.clone(), value);
                return Ok(());
            }
            (PathPart::Index(n), Value::L(l)) if last => {
                if *n < l.len() {
                    l[*n] = value;
                } else {
                    l.push(value);
                }
                return Ok(());
            }
            (PathPart::Attr(n), Value::M(m)) => m.get_mut(n).ok_or_else(invalid)?,
            (PathPart::Index(n), Value::L(l)) => l.get_mut(*n).ok_or_else(invalid)?,
            _ => return Err(invalid()),
        };
    }
    Ok(())
}

fn remove(item: &mut Item, path: &Path) {
    let Some((PathPart::Attr(name), rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        item.remove(name);
        return;
    }
    let Some(mut current) = item.get_mut(name) else {
        return;
    };
    for (i, part) in rest.iter().enumerate() {
        let last = i + 1 == rest.len();
        match (part, current) {
            (PathPart::Attr(n), Value::M(m)) if last => {
                m.remove(n);
                return;
            }
            (PathPart::Index(n), Value::L(l)) if last => {
                if *n < l.len() {
                    l.remove(*n);
                }
                return;
            }
            (PathPart::Attr(n), Value::M(m)) => match m.get_mut(n) {
                Some(next) => current = next,
                None => return,
            },
            (PathPart::Index(n), Value::L(l)) => match l.get_mut(*n) {
                Some(next) => current = next,
                None => return,
            },
            _ => return,
        }
    }
}

fn set_merge<T: Clone + PartialEq>(base: &[T], other: &[T], union: bool) -> Vec<T> {
    if union {
        let mut out = base.to_vec();
        for x in other {
            if !out.contains(x) {
                out.push(x.clone());
            }
        }
        out
    } else {
        base.iter()
            .filter(|x| !other.contains(x))
            .cloned()
            .collect()
    }
}

/// Applies update actions to an item. All right-hand sides are evaluated against the item
/// as it was before the update, as DynamoDB does.
pub fn apply_update(item: &mut Item, actions: &[Action]) -> Result<(), DdbError> {
    let before = item.clone();
    let type_error =
        || DdbError::validation("An operand in the update expression has an incorrect data type");
    for action in actions {
        match action {
            Action::Set(path, v) => assign(item, path, eval_set_value(&before, v)?)?,
            Action::Remove(path) => remove(item, path),
            Action::Add(path, v) => {
                let current = resolve(&before, path).cloned();
                let new = match (current, v) {
                    (None, v) => v.clone(),
                    (Some(n @ Value::N(_)), m @ Value::N(_)) => Value::N(add_numbers(
                        &n.number().ok_or_else(type_error)?,
                        &m.number().ok_or_else(type_error)?,
                        false,
                    )?),
                    (Some(Value::SS(a)), Value::SS(b)) => Value::SS(set_merge(&a, b, true)),
                    (Some(Value::NS(a)), Value::NS(b)) => Value::NS(set_merge(&a, b, true)),
                    (Some(Value::BS(a)), Value::BS(b)) => Value::BS(set_merge(&a, b, true)),
                    _ => return Err(type_error()),
                };
                assign(item, path, new)?;
            }
            Action::Delete(path, v) => {
                let current = resolve(&before, path).cloned();
                let remaining = match (current, v) {
                    (None, _) => continue,
                    (Some(Value::SS(a)), Value::SS(b)) => Some(Value::SS(set_merge(&a, b, false)))
                        .filter(|s| !matches!(s, Value::SS(v) if v.is_empty())),
                    (Some(Value::NS(a)), Value::NS(b)) => Some(Value::NS(set_merge(&a, b, false)))
                        .filter(|s| !matches!(s, Value::NS(v) if v.is_empty())),
                    (Some(Value::BS(a)), Value::BS(b)) => Some(Value::BS(set_merge(&a, b, false)))
                        .filter(|s| !matches!(s, Value::BS(v) if v.is_empty())),
                    _ => return Err(type_error()),
                };
                match remaining {
                    Some(v) => assign(item, path, v)?,
                    None => remove(item, path),
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ph() -> Placeholders {
        let req = json!({
            "ExpressionAttributeNames": {"#p": "Price", "#s": "Status"},
            "ExpressionAttributeValues": {
                ":lo": {"N": "10"}, ":hi": {"N": "100"}, ":one": {"N": "1"}, ":s": {"S": "ok"},
                ":t": {"S": "N"}, ":l": {"L": [{"S": "x"}]}, ":set": {"SS": ["b", "c"]}, ":pre": {"S": "Bi"}
            }
        });
        Placeholders::from_request(req.as_object().unwrap()).unwrap()
    }

    fn item() -> Item {
        let j = json!({"Price": {"N": "50"}, "Status": {"S": "ok"}, "Title": {"S": "Bicycle 123"},
                       "Tags": {"SS": ["a", "b"]}, "Info": {"M": {"Dims": {"L": [{"N": "1"}, {"N": "2"}]}}}});
        super::super::value::item_from_json(j.as_object().unwrap()).unwrap()
    }

    #[test]
    fn conditions_evaluate_like_dynamodb() {
        let ph = ph();
        let check = |text: &str| {
            evaluate(
                &parse_condition(text, &ph, "ConditionExpression").unwrap(),
                &item(),
            )
        };
        assert!(check("#p BETWEEN :lo AND :hi"));
        assert!(check("#p > :lo AND #s = :s"));
        assert!(!check("#p < :lo OR NOT #s = :s"));
        assert!(check(
            "attribute_exists(Info.Dims[1]) AND attribute_not_exists(Nope)"
        ));
        assert!(check("attribute_type(#p, :t)"));
        assert!(check("begins_with(Title, :pre)"));
        assert!(!check("contains(Tags, :s)"));
        assert!(check("size(Info.Dims) > :one"));
        assert!(check("#s IN (:lo, :s)"));
        assert!(check("(#p = :lo) OR (#p <> :lo)"));
        assert!(parse_condition("#p = ", &ph, "ConditionExpression").is_err());
        assert!(parse_condition("#p = :missing", &ph, "ConditionExpression").is_err());
    }

    #[test]
    fn updates_apply_like_dynamodb() {
        let ph = ph();
        let mut it = item();
        let actions = parse_update(
            "SET #p = #p + :one, Count = if_not_exists(Count, :lo), Hist = list_append(if_not_exists(Hist, :l), :l), Info.Dims[0] = :hi REMOVE #s ADD Tags :set DELETE Tags :set",
            &ph,
        )
        .unwrap();
        apply_update(&mut it, &actions).unwrap();
        assert_eq!(it["Price"], Value::N("51".into()));
        assert_eq!(it["Count"], Value::N("10".into()));
        assert!(matches!(&it["Hist"], Value::L(l) if l.len() == 2));
        assert!(!it.contains_key("Status"));
        assert_eq!(
            resolve(
                &it,
                &vec![
                    PathPart::Attr("Info".into()),
                    PathPart::Attr("Dims".into()),
                    PathPart::Index(0)
                ]
            ),
            Some(&Value::N("100".into()))
        );
        assert!(parse_update("SET a = :one SET b = :one", &ph).is_err());
        assert_eq!(
            add_numbers(
                &Number::parse("1.5").unwrap(),
                &Number::parse("2.25").unwrap(),
                false
            )
            .unwrap(),
            "3.75"
        );
        assert_eq!(
            add_numbers(
                &Number::parse("1").unwrap(),
                &Number::parse("3").unwrap(),
                true
            )
            .unwrap(),
            "-2"
        );
    }
}
