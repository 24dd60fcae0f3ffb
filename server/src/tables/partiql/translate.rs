//! PartiQL statements as the table operations DynamoDB would run for them: a request of
//! GetItem, Query, Scan, PutItem, UpdateItem or DeleteItem whose conditions are DynamoDB
//! expression text with `#n`/`:v` placeholders, so the table layer's own expression parser
//! and evaluator do all the work (no second evaluator).

use serde_json::{json, Map, Value as Json};

use super::parser::{Cond, Literal, Operand, Path, PathPart, SetValue, Statement};
use crate::tables::catalog::TableDesc;
use crate::tables::DdbError;

type Req = Map<String, Json>;

/// The table operation a statement becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    Get(Req),
    Query(Req),
    Scan(Req),
    Put(Req),
    Update(Req),
    Delete(Req),
}

/// Expression text under construction: placeholders for every name and value.
struct Expr<'a> {
    names: Map<String, Json>,
    values: Map<String, Json>,
    params: &'a [Json],
}

impl<'a> Expr<'a> {
    fn new(params: &'a [Json]) -> Expr<'a> {
        Expr {
            names: Map::new(),
            values: Map::new(),
            params,
        }
    }

    fn name(&mut self, name: &str) -> String {
        let existing = self.names.iter().find(|(_, v)| v.as_str() == Some(name));
        if let Some((placeholder, _)) = existing {
            return placeholder.clone();
        }
        let placeholder = format!("#n{}", self.names.len());
        self.names.insert(placeholder.clone(), json!(name));
        placeholder
    }

    fn path(&mut self, path: &Path) -> String {
        let mut out = String::new();
        for part in path {
            match part {
                PathPart::Name(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(&self.name(name));
                }
                PathPart::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }

    fn value(&mut self, literal: &Literal) -> Result<String, DdbError> {
        let placeholder = format!(":v{}", self.values.len());
        self.values
            .insert(placeholder.clone(), value_json(literal, self.params)?);
        Ok(placeholder)
    }

    fn operand(&mut self, operand: &Operand) -> Result<String, DdbError> {
        match operand {
            Operand::Path(path) => Ok(self.path(path)),
            Operand::Value(literal) => self.value(literal),
            Operand::Size(path) => Ok(format!("size({})", self.path(path))),
        }
    }

    fn operands(&mut self, operands: &[Operand]) -> Result<String, DdbError> {
        let parts: Vec<String> = operands
            .iter()
            .map(|o| self.operand(o))
            .collect::<Result<_, _>>()?;
        Ok(parts.join(", "))
    }

    /// The condition as DynamoDB expression text; sub-conditions are parenthesised so the
    /// tree's grouping survives whatever the precedence rules.
    fn cond(&mut self, cond: &Cond) -> Result<String, DdbError> {
        Ok(match cond {
            Cond::Compare(a, op, b) => format!("{} {op} {}", self.operand(a)?, self.operand(b)?),
            Cond::Between(a, low, high) => format!(
                "{} BETWEEN {} AND {}",
                self.operand(a)?,
                self.operand(low)?,
                self.operand(high)?
            ),
            Cond::In(a, list) => format!("{} IN ({})", self.operand(a)?, self.operands(list)?),
            Cond::Function(name, args) => format!("{name}({})", self.operands(args)?),
            Cond::Missing(path, true) => format!("attribute_not_exists({})", self.path(path)),
            Cond::Missing(path, false) => format!("attribute_exists({})", self.path(path)),
            Cond::And(a, b) => format!("({}) AND ({})", self.cond(a)?, self.cond(b)?),
            Cond::Or(a, b) => format!("({}) OR ({})", self.cond(a)?, self.cond(b)?),
            Cond::Not(c) => format!("NOT ({})", self.cond(c)?),
        })
    }

    /// Several conditions joined by AND (`None` for none).
    fn all(&mut self, conds: &[&Cond]) -> Result<Option<String>, DdbError> {
        let parts: Vec<String> = conds
            .iter()
            .map(|c| Ok(format!("({})", self.cond(c)?)))
            .collect::<Result<_, DdbError>>()?;
        Ok((!parts.is_empty()).then(|| parts.join(" AND ")))
    }

    /// Adds the placeholder maps a request needs (DynamoDB refuses empty ones).
    fn finish(self, req: &mut Req) {
        if !self.names.is_empty() {
            req.insert("ExpressionAttributeNames".into(), Json::Object(self.names));
        }
        if !self.values.is_empty() {
            req.insert(
                "ExpressionAttributeValues".into(),
                Json::Object(self.values),
            );
        }
    }
}

/// A literal's AttributeValue JSON (`?` takes its parameter's).
pub fn value_json(literal: &Literal, params: &[Json]) -> Result<Json, DdbError> {
    Ok(match literal {
        Literal::Str(s) => json!({ "S": s }),
        Literal::Num(n) => json!({ "N": n }),
        Literal::Bool(b) => json!({ "BOOL": b }),
        Literal::Null => json!({ "NULL": true }),
        Literal::Param(i) => params[*i].clone(),
        Literal::Map(fields) => {
            let mut map = Map::new();
            for (name, value) in fields {
                map.insert(name.clone(), value_json(value, params)?);
            }
            json!({ "M": map })
        }
        Literal::List(items) => {
            json!({ "L": items.iter().map(|i| value_json(i, params)).collect::<Result<Vec<_>, _>>()? })
        }
        Literal::Set(items) => set_json(items, params)?,
    })
}

/// `<<…>>`: a string, number or binary set, by its members' type.
fn set_json(items: &[Literal], params: &[Json]) -> Result<Json, DdbError> {
    let members: Vec<Json> = items
        .iter()
        .map(|i| value_json(i, params))
        .collect::<Result<_, _>>()?;
    let kind_of = |m: &Json| {
        m.as_object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.keys().next().cloned())
    };
    let kind = members.first().and_then(kind_of);
    let same = members.iter().all(|m| kind_of(m) == kind);
    match kind.as_deref() {
        Some(k @ ("S" | "N" | "B")) if same => {
            let values: Vec<Json> = members.iter().map(|m| m[k].clone()).collect();
            Ok(json!({ format!("{k}S"): values }))
        }
        _ => Err(DdbError::validation(
            "A set must have at least one member, all strings, all numbers or all binary",
        )),
    }
}

/// The top-level conjuncts of a WHERE condition.
fn conjuncts(cond: Option<&Cond>) -> Vec<&Cond> {
    fn walk<'c>(cond: &'c Cond, out: &mut Vec<&'c Cond>) {
        match cond {
            Cond::And(a, b) => {
                walk(a, out);
                walk(b, out);
            }
            other => out.push(other),
        }
    }
    let mut out = Vec::new();
    if let Some(cond) = cond {
        walk(cond, &mut out);
    }
    out
}

fn is_attribute(operand: &Operand, name: &str) -> bool {
    matches!(operand, Operand::Path(path) if path.len() == 1 && path[0] == PathPart::Name(name.to_string()))
}

/// The conjunct `name = value` (either way round): its index and value.
fn equality<'c>(conds: &[&'c Cond], name: &str) -> Option<(usize, &'c Literal)> {
    conds.iter().enumerate().find_map(|(i, c)| match c {
        Cond::Compare(a, "=", Operand::Value(v)) if is_attribute(a, name) => Some((i, v)),
        Cond::Compare(Operand::Value(v), "=", b) if is_attribute(b, name) => Some((i, v)),
        _ => None,
    })
}

/// A condition Query accepts on the sort key.
fn is_sort_condition(cond: &Cond, name: &str) -> bool {
    match cond {
        Cond::Compare(a, op, Operand::Value(_)) => {
            is_attribute(a, name) && ["=", "<", "<=", ">", ">="].contains(op)
        }
        Cond::Between(a, Operand::Value(_), Operand::Value(_)) => is_attribute(a, name),
        Cond::Function("begins_with", args) => {
            args.len() == 2 && is_attribute(&args[0], name) && matches!(args[1], Operand::Value(_))
        }
        _ => false,
    }
}

/// The full primary key named by equalities in `conds`, and the conjuncts left over.
fn full_key<'c>(
    table: &TableDesc,
    conds: &[&'c Cond],
    params: &[Json],
) -> Option<Result<(Json, Vec<&'c Cond>), DdbError>> {
    let mut key = Map::new();
    let mut used = Vec::new();
    for attr in std::iter::once(&table.hash_key).chain(table.range_key.iter()) {
        let (index, value) = equality(conds, &attr.name)?;
        match value_json(value, params) {
            Ok(v) => key.insert(attr.name.clone(), v),
            Err(e) => return Some(Err(e)),
        };
        used.push(index);
    }
    let rest = conds
        .iter()
        .enumerate()
        .filter(|(i, _)| !used.contains(i))
        .map(|(_, c)| *c)
        .collect();
    Some(Ok((Json::Object(key), rest)))
}

fn missing_key() -> DdbError {
    DdbError::validation("Where clause does not contain a mandatory equality on all key attributes")
}

fn base(table: &TableDesc) -> Req {
    let mut req = Req::new();
    req.insert("TableName".into(), json!(table.name));
    req
}

pub fn translate(
    statement: &Statement,
    table: &TableDesc,
    params: &[Json],
) -> Result<Plan, DdbError> {
    match statement {
        Statement::Select {
            projection, filter, ..
        } => select(table, projection.as_deref(), filter.as_ref(), params),
        Statement::Insert { item, .. } => insert(table, item, params),
        Statement::Update {
            set,
            remove,
            filter,
            ..
        } => update(table, set, remove, filter.as_ref(), params),
        Statement::Delete { filter, .. } => delete(table, filter.as_ref(), params),
    }
}

fn select(
    table: &TableDesc,
    projection: Option<&[Path]>,
    filter: Option<&Cond>,
    params: &[Json],
) -> Result<Plan, DdbError> {
    let mut req = base(table);
    let mut expr = Expr::new(params);
    if let Some(paths) = projection {
        let text: Vec<String> = paths.iter().map(|p| expr.path(p)).collect();
        req.insert("ProjectionExpression".into(), json!(text.join(", ")));
    }
    let conds = conjuncts(filter);
    // The whole key and nothing else: one GetItem.
    if let Some(found) = full_key(table, &conds, params) {
        let (key, rest) = found?;
        if rest.is_empty() {
            req.insert("Key".into(), key);
            expr.finish(&mut req);
            return Ok(Plan::Get(req));
        }
    }
    let Some((hash_at, _)) = equality(&conds, &table.hash_key.name) else {
        if let Some(text) = filter.map(|f| expr.cond(f)).transpose()? {
            req.insert("FilterExpression".into(), json!(text));
        }
        expr.finish(&mut req);
        return Ok(Plan::Scan(req));
    };
    // A partition: Query, with one sort-key condition in the key condition if there is one.
    let sort_at = table.range_key.as_ref().and_then(|range| {
        conds
            .iter()
            .position(|c| is_sort_condition(c, &range.name))
            .filter(|i| *i != hash_at)
    });
    let key_parts: Vec<&Cond> = [Some(hash_at), sort_at]
        .into_iter()
        .flatten()
        .map(|i| conds[i])
        .collect();
    let key_text = expr.all(&key_parts)?.expect("the partition key condition");
    req.insert("KeyConditionExpression".into(), json!(key_text));
    let rest: Vec<&Cond> = conds
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != hash_at && Some(*i) != sort_at)
        .map(|(_, c)| *c)
        .collect();
    if let Some(text) = expr.all(&rest)? {
        req.insert("FilterExpression".into(), json!(text));
    }
    expr.finish(&mut req);
    Ok(Plan::Query(req))
}

/// INSERT never replaces an item: PutItem on condition that none has the key.
fn insert(
    table: &TableDesc,
    item: &[(String, Literal)],
    params: &[Json],
) -> Result<Plan, DdbError> {
    let mut req = base(table);
    let mut attributes = Map::new();
    for (name, value) in item {
        attributes.insert(name.clone(), value_json(value, params)?);
    }
    req.insert("Item".into(), Json::Object(attributes));
    let mut expr = Expr::new(params);
    let condition = format!("attribute_not_exists({})", expr.name(&table.hash_key.name));
    req.insert("ConditionExpression".into(), json!(condition));
    expr.finish(&mut req);
    Ok(Plan::Put(req))
}

/// UPDATE changes an existing item only: UpdateItem on condition that it exists, plus the
/// WHERE clause's other conditions.
fn update(
    table: &TableDesc,
    set: &[(Path, SetValue)],
    remove: &[Path],
    filter: Option<&Cond>,
    params: &[Json],
) -> Result<Plan, DdbError> {
    let conds = conjuncts(filter);
    let (key, rest) = full_key(table, &conds, params).ok_or_else(missing_key)??;
    let mut req = base(table);
    req.insert("Key".into(), key);
    let mut expr = Expr::new(params);
    let mut clauses = Vec::new();
    if !set.is_empty() {
        let mut actions = Vec::new();
        for (path, value) in set {
            let target = expr.path(path);
            let value = match value {
                SetValue::Plain(o) => expr.operand(o)?,
                SetValue::Arith(a, op, b) => {
                    format!("{} {op} {}", expr.operand(a)?, expr.operand(b)?)
                }
            };
            actions.push(format!("{target} = {value}"));
        }
        clauses.push(format!("SET {}", actions.join(", ")));
    }
    if !remove.is_empty() {
        let paths: Vec<String> = remove.iter().map(|p| expr.path(p)).collect();
        clauses.push(format!("REMOVE {}", paths.join(", ")));
    }
    req.insert("UpdateExpression".into(), json!(clauses.join(" ")));
    let mut condition = format!("attribute_exists({})", expr.name(&table.hash_key.name));
    if let Some(extra) = expr.all(&rest)? {
        condition = format!("{condition} AND {extra}");
    }
    req.insert("ConditionExpression".into(), json!(condition));
    expr.finish(&mut req);
    Ok(Plan::Update(req))
}

fn delete(table: &TableDesc, filter: Option<&Cond>, params: &[Json]) -> Result<Plan, DdbError> {
    let conds = conjuncts(filter);
    let (key, rest) = full_key(table, &conds, params).ok_or_else(missing_key)??;
    let mut req = base(table);
    req.insert("Key".into(), key);
    let mut expr = Expr::new(params);
    if let Some(condition) = expr.all(&rest)? {
        req.insert("ConditionExpression".into(), json!(condition));
    }
    expr.finish(&mut req);
    Ok(Plan::Delete(req))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::catalog::KeyAttr;
    use crate::tables::partiql::parse;

    fn table() -> TableDesc {
        let key = |name: &str, kind: &str| KeyAttr {
            name: name.into(),
            kind: kind.into(),
        };
        TableDesc {
            name: "T".into(),
            id: 1,
            hash_key: key("pk", "S"),
            range_key: Some(key("sk", "N")),
            attribute_definitions: vec![key("pk", "S"), key("sk", "N")],
            stream: None,
            ttl_attribute: None,
            created_at: 0.0,
            tags: Vec::new(),
        }
    }

    fn plan(text: &str, params: &[Json]) -> Plan {
        translate(&parse(text, params).unwrap(), &table(), params).unwrap()
    }

    #[test]
    fn selects_become_get_query_or_scan() {
        let Plan::Get(get) = plan("SELECT a, b.c FROM T WHERE pk = 'x' AND sk = 1", &[]) else {
            panic!("a full key is a GetItem")
        };
        assert_eq!(get["Key"], json!({"pk": {"S": "x"}, "sk": {"N": "1"}}));
        assert_eq!(get["ProjectionExpression"], "#n0, #n1.#n2");
        let Plan::Query(query) = plan(
            "SELECT * FROM T WHERE pk = ? AND sk > 3 AND v <> 'z'",
            &[json!({"S": "p"})],
        ) else {
            panic!("a partition is a Query")
        };
        assert_eq!(
            query["KeyConditionExpression"],
            "(#n0 = :v0) AND (#n1 > :v1)"
        );
        assert_eq!(query["FilterExpression"], "(#n2 <> :v2)");
        assert_eq!(query["ExpressionAttributeValues"][":v0"], json!({"S": "p"}));
        let Plan::Scan(scan) = plan(r#"SELECT * FROM "T" WHERE pk = 'a' OR v IN [1, 2]"#, &[])
        else {
            panic!("anything else is a Scan")
        };
        assert_eq!(
            scan["FilterExpression"],
            "(#n0 = :v0) OR (#n1 IN (:v1, :v2))"
        );
        let Plan::Scan(all) = plan("select * from T", &[]) else {
            panic!()
        };
        assert!(
            !all.contains_key("FilterExpression") && !all.contains_key("ExpressionAttributeNames")
        );
    }

    #[test]
    fn writes_carry_dynamodb_partiql_conditions() {
        let Plan::Put(put) = plan("INSERT INTO T VALUE {'pk': 'a', 'sk': 1, 'tags': <<'x', 'y'>>, 'm': {'n': [true, null]}}", &[]) else {
            panic!()
        };
        assert_eq!(put["Item"]["tags"], json!({"SS": ["x", "y"]}));
        assert_eq!(
            put["Item"]["m"],
            json!({"M": {"n": {"L": [{"BOOL": true}, {"NULL": true}]}}})
        );
        assert_eq!(put["ConditionExpression"], "attribute_not_exists(#n0)");
        let Plan::Update(update) = plan(
            "UPDATE T SET n = n + ?, s = 'v' REMOVE old WHERE pk = 'a' AND sk = 1 AND n < 10",
            &[json!({"N": "1"})],
        ) else {
            panic!()
        };
        assert_eq!(
            update["UpdateExpression"],
            "SET #n0 = #n0 + :v0, #n1 = :v1 REMOVE #n2"
        );
        assert_eq!(
            update["ConditionExpression"],
            "attribute_exists(#n3) AND (#n0 < :v2)"
        );
        let Plan::Delete(delete) = plan("DELETE FROM T WHERE sk = 2 AND pk = 'a'", &[]) else {
            panic!()
        };
        assert_eq!(delete["Key"], json!({"pk": {"S": "a"}, "sk": {"N": "2"}}));
        assert!(!delete.contains_key("ConditionExpression"));
        let partial = parse("DELETE FROM T WHERE pk = 'a'", &[]).unwrap();
        assert_eq!(
            translate(&partial, &table(), &[]).unwrap_err().message,
            "Where clause does not contain a mandatory equality on all key attributes"
        );
    }

    #[test]
    fn bad_statements_are_refused_with_validation_errors() {
        let err = |text: &str, params: &[Json]| parse(text, params).unwrap_err().message;
        assert!(err("SELECT FROM T", &[]).starts_with("Statement wasn't well formed"));
        assert!(err("SELECT * FROM T WHERE", &[]).starts_with("Statement wasn't well formed"));
        assert!(err("DROP TABLE T", &[]).starts_with("Statement wasn't well formed"));
        assert!(err("SELECT * FROM T extra", &[]).starts_with("Statement wasn't well formed"));
        assert_eq!(
            err("SELECT * FROM T WHERE pk = ?", &[]),
            "Number of parameters in request and statement don't match."
        );
        // Nesting is bounded: no stack overflow from a hostile statement.
        let deep = format!(
            "SELECT * FROM T WHERE {}pk = 'a'{}",
            "(".repeat(500),
            ")".repeat(500)
        );
        assert!(err(&deep, &[]).contains("nested more than"));
        let deep_value = format!("INSERT INTO T VALUE {}", "[".repeat(100));
        assert!(err(&deep_value, &[]).contains("nested more than"));
        assert!(err(&"x".repeat(8193), &[]).contains("less than or equal to 8192"));
    }
}
