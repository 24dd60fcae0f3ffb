//! Evaluation of parsed expressions against an item: conditions, update actions, projections.

use std::cmp::Ordering;

use super::ast::{Action, Cond, Operand, Path, PathPart, SetValue};
use crate::tables::number::Number;
use crate::tables::value::{Item, Value};
use crate::tables::DdbError;

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
    use super::super::parser::{parse_condition, parse_update};
    use super::super::tokenizer::Placeholders;
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
        crate::tables::value::item_from_json(j.as_object().unwrap()).unwrap()
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
