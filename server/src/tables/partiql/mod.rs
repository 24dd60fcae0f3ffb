//! PartiQL for DynamoDB (ExecuteStatement, BatchExecuteStatement, ExecuteTransaction):
//! SELECT, INSERT, UPDATE and DELETE statements with `?` parameters, translated into the
//! table operations they stand for ([`translate`]) and run by the same `Tables` functions
//! as the JSON API, so validation, conditions, change records and errors are theirs.
//!
//! - [`lexer`]: tokens; [`parser`]: statements (depth-bounded recursive descent);
//! - [`translate`]: statement → GetItem/Query/Scan/PutItem/UpdateItem/DeleteItem request.

pub mod lexer;
pub mod parser;
pub mod translate;

use base64::Engine as _;
use serde_json::{json, Map, Value as Json};

use super::{DdbError, Tables};
use crate::engine::Locks;
use parser::{Parser, Statement};
use translate::Plan;

type Req = Map<String, Json>;

/// DynamoDB's limit on a statement's length.
const MAX_STATEMENT_CHARS: usize = 8192;
/// Statements in one BatchExecuteStatement / ExecuteTransaction (DynamoDB's limits).
const MAX_BATCH: usize = 25;
const MAX_TRANSACTION: usize = 100;

pub fn syntax_error(message: impl std::fmt::Display) -> DdbError {
    DdbError::validation(format!(
        "Statement wasn't well formed, can't be processed: {message}"
    ))
}

/// Parses one statement and checks its `?` count against the parameters given.
pub fn parse(text: &str, params: &[Json]) -> Result<Statement, DdbError> {
    if text.is_empty() || text.chars().count() > MAX_STATEMENT_CHARS {
        return Err(DdbError::validation(format!(
            "1 validation error detected: Value at 'statement' failed to satisfy constraint: Member must have length less than or equal to {MAX_STATEMENT_CHARS} and greater than or equal to 1"
        )));
    }
    let mut parser = Parser::new(lexer::tokenize(text)?);
    let statement = parser.statement()?;
    if parser.params != params.len() {
        return Err(DdbError::validation(
            "Number of parameters in request and statement don't match.",
        ));
    }
    Ok(statement)
}

/// (table, verb) of every statement of an ExecuteStatement, BatchExecuteStatement or
/// ExecuteTransaction request that parses, for permission checks before running it (one
/// that does not parse fails in the operation itself, before touching any table).
pub fn statement_verbs(req: &Req) -> Vec<(String, &'static str)> {
    statements_of(req)
        .into_iter()
        .filter_map(|(text, params)| parse(text, &params).ok())
        .map(|s| (s.table().to_string(), s.verb()))
        .collect()
}

/// The (statement, parameters) pairs of a request of any of the three operations.
fn statements_of(req: &Req) -> Vec<(&str, Vec<Json>)> {
    fn one(entry: &Map<String, Json>) -> Option<(&str, Vec<Json>)> {
        let text = entry.get("Statement").and_then(Json::as_str)?;
        Some((text, parameters(entry)))
    }
    if req.contains_key("Statement") {
        return one(req).into_iter().collect();
    }
    ["Statements", "TransactStatements"]
        .iter()
        .filter_map(|field| req.get(*field).and_then(Json::as_array))
        .flatten()
        .filter_map(|entry| entry.as_object().and_then(one))
        .collect()
}

fn parameters(entry: &Map<String, Json>) -> Vec<Json> {
    entry
        .get("Parameters")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default()
}

fn required_statement(entry: &Map<String, Json>) -> Result<&str, DdbError> {
    entry.get("Statement").and_then(Json::as_str).ok_or_else(|| {
        DdbError::validation("1 validation error detected: Value null at 'statement' failed to satisfy constraint: Member must not be null")
    })
}

/// NextToken is the LastEvaluatedKey of the Query or Scan, base64 of its JSON.
fn next_token(last_key: &Json) -> String {
    base64::engine::general_purpose::STANDARD.encode(last_key.to_string())
}

fn start_key(token: &str) -> Result<Json, DdbError> {
    base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()
        .and_then(|raw| serde_json::from_slice::<Json>(&raw).ok())
        .filter(Json::is_object)
        .ok_or_else(|| DdbError::validation(format!("Invalid NextToken: {token}")))
}

/// A batch entry's error code: the exception's name as BatchStatementError spells it.
fn batch_code(kind: &str) -> String {
    match kind {
        "ValidationException" => "ValidationError".to_string(),
        other => other.trim_end_matches("Exception").to_string(),
    }
}

impl Tables {
    /// Parses and translates one statement against its table's key schema.
    fn plan(&self, entry: &Map<String, Json>) -> Result<(Statement, Plan), DdbError> {
        let params = parameters(entry);
        let statement = parse(required_statement(entry)?, &params)?;
        let table = self.table(statement.table())?;
        let plan = translate::translate(&statement, &table, &params)?;
        Ok((statement, plan))
    }

    /// Runs a plan and shapes its answer as ExecuteStatement's.
    fn run_plan(&self, locks: Locks, plan: Plan, req: &Req) -> Result<Json, DdbError> {
        let pass = |mut inner: Req, fields: &[&str]| {
            for field in fields {
                if let Some(value) = req.get(*field) {
                    inner.insert(field.to_string(), value.clone());
                }
            }
            inner
        };
        match plan {
            Plan::Get(inner) => {
                let reply = self.get_item(locks, &pass(inner, &["ConsistentRead"]))?;
                Ok(json!({ "Items": reply.get("Item").into_iter().collect::<Vec<_>>() }))
            }
            Plan::Query(inner) | Plan::Scan(inner) => {
                let mut inner = pass(inner, &["ConsistentRead", "Limit"]);
                if let Some(token) = req.get("NextToken") {
                    let token = token.as_str().unwrap_or_default();
                    inner.insert("ExclusiveStartKey".into(), start_key(token)?);
                }
                self.page_of(locks, inner)
            }
            Plan::Put(inner) => {
                self.put_item(locks, &inner).map_err(|e| match e.kind {
                    "ConditionalCheckFailedException" => DdbError {
                        kind: "DuplicateItemException",
                        message: "Duplicate primary key exists in table".into(),
                        detail: None,
                    },
                    _ => e,
                })?;
                Ok(json!({ "Items": [] }))
            }
            Plan::Update(inner) => {
                let inner = pass(inner, &["ReturnValuesOnConditionCheckFailure"]);
                self.update_item(locks, &inner)?;
                Ok(json!({ "Items": [] }))
            }
            Plan::Delete(inner) => {
                let inner = pass(inner, &["ReturnValuesOnConditionCheckFailure"]);
                self.delete_item(locks, &inner)?;
                Ok(json!({ "Items": [] }))
            }
        }
    }

    /// One page of a Query (with a key condition) or Scan.
    fn page_of(&self, locks: Locks, inner: Req) -> Result<Json, DdbError> {
        let reply = match inner.contains_key("KeyConditionExpression") {
            true => self.query(locks, &inner)?,
            false => self.scan(locks, &inner)?,
        };
        let mut out = json!({ "Items": reply.get("Items").cloned().unwrap_or(json!([])) });
        if let Some(last) = reply.get("LastEvaluatedKey") {
            out["NextToken"] = json!(next_token(last));
        }
        Ok(out)
    }

    pub fn execute_statement(&self, locks: Locks, req: &Req) -> Result<Json, DdbError> {
        let (_, plan) = self.plan(req)?;
        self.run_plan(locks, plan, req)
    }

    /// Statements run one by one, each answering for itself; all must read or all write,
    /// and reads must name one item by its full key (they are GetItems).
    pub fn batch_execute_statement(&self, locks: Locks, req: &Req) -> Result<Json, DdbError> {
        let entries = statement_list(req, "Statements", MAX_BATCH)?;
        let plans: Vec<Result<(Statement, Plan), DdbError>> =
            entries.iter().map(|e| self.plan(e)).collect();
        let reads = plans.iter().flatten().filter(|(s, _)| s.is_read()).count();
        let parsed = plans.iter().flatten().count();
        if reads != 0 && reads != parsed {
            return Err(DdbError::validation(
                "Statements in a batch must be either all reads or all writes",
            ));
        }
        let responses: Vec<Json> = entries
            .iter()
            .zip(plans)
            .map(|(entry, plan)| self.batch_entry(locks, entry, plan))
            .collect();
        Ok(json!({ "Responses": responses }))
    }

    fn batch_entry(
        &self,
        locks: Locks,
        entry: &Map<String, Json>,
        plan: Result<(Statement, Plan), DdbError>,
    ) -> Json {
        let table = plan.as_ref().ok().map(|(s, _)| s.table().to_string());
        let result = plan.and_then(|(_, plan)| match plan {
            Plan::Query(_) | Plan::Scan(_) => Err(DdbError::validation(
                "Select statements in a batch must name one item by its full primary key",
            )),
            plan => self.run_plan(locks, plan, entry),
        });
        let mut out = match result {
            Ok(reply) => match reply["Items"].get(0) {
                Some(item) => json!({ "Item": item }),
                None => json!({}),
            },
            Err(e) => json!({ "Error": { "Code": batch_code(e.kind), "Message": e.message } }),
        };
        if let Some(table) = table {
            out["TableName"] = json!(table);
        }
        out
    }

    /// All statements in one transaction: TransactGetItems for reads (full keys), or
    /// TransactWriteItems for writes, with the INSERT/UPDATE conditions of each.
    pub fn execute_transaction(&self, locks: Locks, req: &Req) -> Result<Json, DdbError> {
        let entries = statement_list(req, "TransactStatements", MAX_TRANSACTION)?;
        let plans: Vec<(Statement, Plan)> = entries
            .iter()
            .map(|e| self.plan(e))
            .collect::<Result<_, _>>()?;
        let reads = plans.iter().filter(|(s, _)| s.is_read()).count();
        if reads == plans.len() {
            let items: Vec<Json> = plans
                .into_iter()
                .map(|(_, plan)| match plan {
                    Plan::Get(get) => Ok(json!({ "Get": get })),
                    _ => Err(DdbError::validation(
                        "Select statements in a transaction must name one item by its full primary key",
                    )),
                })
                .collect::<Result<_, _>>()?;
            let mut inner = Req::new();
            inner.insert("TransactItems".into(), Json::Array(items));
            return self.transact_get_items(locks, &inner);
        }
        if reads != 0 {
            return Err(DdbError::validation(
                "Statements in a transaction must be either all reads or all writes",
            ));
        }
        let items: Vec<Json> = plans
            .into_iter()
            .map(|(_, plan)| match plan {
                Plan::Put(put) => json!({ "Put": put }),
                Plan::Update(update) => json!({ "Update": update }),
                Plan::Delete(delete) => json!({ "Delete": delete }),
                _ => unreachable!("writes translate to Put, Update or Delete"),
            })
            .collect();
        let mut inner = Req::new();
        inner.insert("TransactItems".into(), Json::Array(items));
        if let Some(token) = req.get("ClientRequestToken") {
            inner.insert("ClientRequestToken".into(), token.clone());
        }
        self.transact_write_items(locks, &inner)?;
        Ok(json!({}))
    }
}

/// The statement entries of a batch or transaction, with DynamoDB's length checks.
fn statement_list<'r>(
    req: &'r Req,
    field: &str,
    max: usize,
) -> Result<Vec<&'r Map<String, Json>>, DdbError> {
    let member = {
        let mut m = field.to_string();
        m[..1].make_ascii_lowercase();
        m
    };
    let list = req.get(field).and_then(Json::as_array).ok_or_else(|| {
        DdbError::validation(format!("1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"))
    })?;
    if list.is_empty() || list.len() > max {
        return Err(DdbError::validation(format!(
            "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length less than or equal to {max} and greater than or equal to 1"
        )));
    }
    list.iter()
        .map(|e| {
            e.as_object()
                .ok_or_else(|| DdbError::validation(format!("Each of {field} must be an object")))
        })
        .collect()
}
