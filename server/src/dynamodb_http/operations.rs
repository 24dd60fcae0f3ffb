//! The DynamoDB operations the listener serves: each runs the table-layer function its
//! DDB.* command runs, under that command's ACL permission with the table names as keys.

use serde_json::{json, Map, Value as Json};

use super::errors::error;
use crate::acl::selector::KeyAccess;
use crate::acl::user::{Request, User};
use crate::acl::Acl;
use crate::engine::Locks;
use crate::tables::{DdbError, Tables};

pub type Req = Map<String, Json>;
type Run = fn(&Tables, Locks, &Req) -> Result<Json, DdbError>;

/// One operation of `DynamoDB_20120810`.
pub struct Operation {
    pub name: &'static str,
    pub run: Run,
    /// The RESP command whose ACL permission the operation needs.
    pub command: &'static str,
    pub write: bool,
    /// Runs on the blocking pool (table creation/deletion sync the catalog; Query and
    /// Scan read many items), as the DDB.* command is offloaded.
    pub blocking: bool,
}

macro_rules! op {
    ($name:literal, $run:expr, $command:literal, $write:expr, $blocking:expr) => {
        Operation {
            name: $name,
            run: $run,
            command: $command,
            write: $write,
            blocking: $blocking,
        }
    };
}

// One line per operation reads as a table; rustfmt would spread each over seven lines.
#[rustfmt::skip]
pub const OPERATIONS: &[Operation] = &[
    //  name                         table-layer function            ACL command              write  blocking
    op!("CreateTable",               Tables::create_table,           "ddb.createtable",       true,  true),
    op!("DescribeTable",             Tables::describe_table,         "ddb.describetable",     false, false),
    op!("ListTables",                Tables::list_tables,            "ddb.listtables",        false, false),
    op!("DeleteTable",               Tables::delete_table,           "ddb.deletetable",       true,  true),
    op!("UpdateTable",               Tables::update_table,           "ddb.updatetimetolive",  true,  true),
    op!("PutItem",                   Tables::put_item,               "ddb.putitem",           true,  false),
    op!("GetItem",                   Tables::get_item,               "ddb.getitem",           false, false),
    op!("UpdateItem",                Tables::update_item,            "ddb.updateitem",        true,  false),
    op!("DeleteItem",                Tables::delete_item,            "ddb.deleteitem",        true,  false),
    op!("BatchGetItem",              Tables::batch_get_item,         "ddb.batchgetitem",      false, false),
    op!("BatchWriteItem",            Tables::batch_write_item,       "ddb.batchwriteitem",    true,  false),
    op!("TransactGetItems",          Tables::transact_get_items,     "ddb.transactgetitems",  false, false),
    op!("TransactWriteItems",        Tables::transact_write_items,   "ddb.transactwriteitems", true, false),
    op!("Query",                     Tables::query,                  "ddb.query",             false, true),
    op!("Scan",                      Tables::scan,                   "ddb.scan",              false, true),
    op!("UpdateTimeToLive",          Tables::update_time_to_live,    "ddb.updatetimetolive",  true,  true),
    op!("DescribeTimeToLive",        Tables::describe_time_to_live,  "ddb.describetimetolive", false, false),
    op!("DescribeLimits",            describe_limits,                "ddb.listtables",        false, false),
    op!("DescribeContinuousBackups", describe_continuous_backups,    "ddb.describetable",     false, false),
    // Tags change the catalog entry as UpdateTable does, and are read like DescribeTable.
    op!("TagResource",               Tables::tag_resource,           "ddb.updatetimetolive",  true,  true),
    op!("UntagResource",             Tables::untag_resource,         "ddb.updatetimetolive",  true,  true),
    op!("ListTagsOfResource",        Tables::list_tags_of_resource,  "ddb.describetable",     false, false),
    // PartiQL: the permission is checked per statement (see `authorize_request`).
    op!("ExecuteStatement",          Tables::execute_statement,      "ddb.scan",              false, true),
    op!("BatchExecuteStatement",     Tables::batch_execute_statement, "ddb.scan",             false, true),
    op!("ExecuteTransaction",        Tables::execute_transaction,    "ddb.transactwriteitems", true, true),
];

pub fn find(name: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|op| op.name == name)
}

/// DynamoDB's default account and table quotas (redyn enforces none of them).
fn describe_limits(_: &Tables, _: Locks, _: &Req) -> Result<Json, DdbError> {
    Ok(json!({
        "AccountMaxReadCapacityUnits": 80000,
        "AccountMaxWriteCapacityUnits": 80000,
        "TableMaxReadCapacityUnits": 40000,
        "TableMaxWriteCapacityUnits": 40000,
    }))
}

/// Point-in-time recovery does not exist in redyn: reported disabled, for existing tables.
fn describe_continuous_backups(tables: &Tables, locks: Locks, req: &Req) -> Result<Json, DdbError> {
    tables.describe_table(locks, req)?;
    Ok(json!({
        "ContinuousBackupsDescription": {
            "ContinuousBackupsStatus": "DISABLED",
            "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"},
        }
    }))
}

/// The table names a request touches (its ACL keys).
pub fn table_names(req: &Req) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    if let Some(name) = req.get("TableName").and_then(Json::as_str) {
        names.push(name.to_string());
    }
    // Tag operations name their table by ARN.
    if let Some((_, name)) = req
        .get("ResourceArn")
        .and_then(Json::as_str)
        .and_then(|arn| arn.split_once(":table/"))
    {
        names.push(name.to_string());
    }
    if let Some(items) = req.get("RequestItems").and_then(Json::as_object) {
        names.extend(items.keys().cloned());
    }
    for entry in req
        .get("TransactItems")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        let inner = entry.as_object().and_then(|e| e.values().next());
        if let Some(name) = inner.and_then(|b| b["TableName"].as_str()) {
            names.push(name.to_string());
        }
    }
    names
}

/// Checks `user`'s permission for a table operation: the operation's command over the table
/// names it touches or, for PartiQL, each statement's equivalent command over its table
/// (SELECT reads as DDB.SCAN, INSERT/UPDATE/DELETE write as DDB.PUTITEM/UPDATEITEM/DELETEITEM).
pub fn authorize_request(
    acl: &Acl,
    user: &User,
    op: &Operation,
    req: &Req,
) -> Result<(), DdbError> {
    if !matches!(
        op.name,
        "ExecuteStatement" | "BatchExecuteStatement" | "ExecuteTransaction"
    ) {
        let tables = table_names(req);
        return authorize(acl, user, op.name, op.command, &tables, op.write);
    }
    for (table, command, write) in statement_permissions(req) {
        authorize(acl, user, op.name, command, &[table], write)?;
    }
    Ok(())
}

/// (table, ACL command, write) of each PartiQL statement in a request.
fn statement_permissions(req: &Req) -> Vec<(String, &'static str, bool)> {
    let verbs = crate::tables::partiql::statement_verbs(req);
    verbs
        .into_iter()
        .map(|(table, verb)| {
            let command = match verb {
                "SELECT" => "ddb.scan",
                "INSERT" => "ddb.putitem",
                "UPDATE" => "ddb.updateitem",
                _ => "ddb.deleteitem",
            };
            (table, command, verb != "SELECT")
        })
        .collect()
}

/// Checks `user`'s permission to run `command` over `keys`: AccessDeniedException (as
/// DynamoDB answers an IAM denial) when the ACL refuses.
pub fn authorize(
    acl: &Acl,
    user: &User,
    operation: &str,
    command: &str,
    keys: &[String],
    write: bool,
) -> Result<(), DdbError> {
    if user.is_unrestricted() {
        return Ok(());
    }
    let Some(id) = acl.index.lookup(command) else {
        return Err(DdbError::internal(format!("unknown ACL command {command}")));
    };
    let request = Request {
        command: id,
        keys: keys
            .iter()
            .map(|k| {
                let access = KeyAccess {
                    read: !write,
                    write,
                };
                (k.as_bytes().into(), access)
            })
            .collect(),
        ..Request::default()
    };
    user.check(&request).map_err(|_| {
        error(
            "AccessDeniedException",
            format!(
                "User: {} is not authorized to perform: dynamodb:{operation} on resource: {}",
                user.name,
                keys.first().map_or("*", String::as_str)
            ),
        )
    })
}
