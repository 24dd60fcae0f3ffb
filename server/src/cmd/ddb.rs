//! Native table commands, one per DynamoDB operation: the single argument is the DynamoDB
//! JSON request body and the reply is the JSON response body (a bulk string), so the same
//! handlers can later serve DynamoDB's HTTP API. Errors: `ERR <ExceptionName>: <message>`.

use bytes::Bytes;
use redyn_protocol::Reply;
use serde_json::{Map, Value as Json};

use super::{CmdResult, CommandSpec, Ctx, Flag, NO_KEYS};
use crate::engine::Locks;
use crate::tables::{DdbError, Tables};
use Flag::*;

/// A table operation: runs under the command's lock scope, so inside MULTI/EXEC it joins
/// the transaction (EXEC's locks) instead of locking its shards again.
type Operation = fn(&Tables, Locks, &Map<String, Json>) -> Result<Json, DdbError>;

macro_rules! ddb_command {
    ($name:literal, $flags:expr, $summary:literal, $handler:ident) => {
        CommandSpec::new(
            $name, 2, $flags, NO_KEYS, "tables", "0.1.0", $summary, $handler,
        )
    };
}

fn run(ctx: &mut Ctx, args: &[Bytes], op: Operation) -> CmdResult {
    let request: Json = serde_json::from_slice(&args[1]).map_err(|e| DdbError {
        kind: "SerializationException",
        message: format!("Start of structure or map found where not expected: {e}"),
        detail: None,
    })?;
    let request = request.as_object().ok_or_else(|| DdbError {
        kind: "SerializationException",
        message: "The request body must be a JSON object".into(),
        detail: None,
    })?;
    let response = op(&ctx.server.tables, ctx.locks, request)?;
    Ok(Reply::text(response.to_string()))
}

macro_rules! handlers {
    ($($handler:ident => $op:path),* $(,)?) => {
        $(fn $handler(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
            run(ctx, args, $op)
        })*
    };
}

handlers! {
    create_table => Tables::create_table,
    describe_table => Tables::describe_table,
    list_tables => Tables::list_tables,
    delete_table => Tables::delete_table,
    put_item => Tables::put_item,
    get_item => Tables::get_item,
    update_item => Tables::update_item,
    batch_get_item => Tables::batch_get_item,
    batch_write_item => Tables::batch_write_item,
    transact_get_items => Tables::transact_get_items,
    transact_write_items => Tables::transact_write_items,
    delete_item => Tables::delete_item,
    query => Tables::query,
    scan => Tables::scan,
    update_time_to_live => Tables::update_time_to_live,
    describe_time_to_live => Tables::describe_time_to_live,
}

pub const COMMANDS: &[CommandSpec] = &[
    ddb_command!(
        "ddb.createtable",
        &[Write, Offload],
        "Creates a table (DynamoDB CreateTable).",
        create_table
    ),
    ddb_command!(
        "ddb.describetable",
        &[ReadOnly],
        "Describes a table (DynamoDB DescribeTable).",
        describe_table
    ),
    ddb_command!(
        "ddb.listtables",
        &[ReadOnly],
        "Lists tables (DynamoDB ListTables).",
        list_tables
    ),
    ddb_command!(
        "ddb.deletetable",
        &[Write, Offload],
        "Deletes a table and its items (DynamoDB DeleteTable).",
        delete_table
    ),
    ddb_command!(
        "ddb.putitem",
        &[Write],
        "Creates or replaces an item (DynamoDB PutItem).",
        put_item
    ),
    ddb_command!(
        "ddb.getitem",
        &[ReadOnly],
        "Reads an item by key (DynamoDB GetItem).",
        get_item
    ),
    ddb_command!(
        "ddb.batchgetitem",
        &[ReadOnly],
        "Reads up to 100 items from one or more tables (DynamoDB BatchGetItem).",
        batch_get_item
    ),
    ddb_command!(
        "ddb.batchwriteitem",
        &[Write],
        "Puts or deletes up to 25 items in one or more tables (DynamoDB BatchWriteItem).",
        batch_write_item
    ),
    ddb_command!(
        "ddb.transactgetitems",
        &[ReadOnly],
        "Reads up to 100 items as one consistent snapshot (DynamoDB TransactGetItems).",
        transact_get_items
    ),
    ddb_command!(
        "ddb.transactwriteitems",
        &[Write],
        "Writes up to 100 items all-or-nothing, with per-item conditions (DynamoDB TransactWriteItems).",
        transact_write_items
    ),
    ddb_command!(
        "ddb.updateitem",
        &[Write],
        "Edits an item's attributes, or creates it (DynamoDB UpdateItem).",
        update_item
    ),
    ddb_command!(
        "ddb.deleteitem",
        &[Write],
        "Deletes an item by key (DynamoDB DeleteItem).",
        delete_item
    ),
    ddb_command!(
        "ddb.query",
        &[ReadOnly, Offload],
        "Reads one partition in sort-key order (DynamoDB Query).",
        query
    ),
    ddb_command!(
        "ddb.scan",
        &[ReadOnly, Offload],
        "Reads every item of a table (DynamoDB Scan).",
        scan
    ),
    ddb_command!(
        "ddb.updatetimetolive",
        &[Write, Offload],
        "Sets a table's TTL attribute (DynamoDB UpdateTimeToLive).",
        update_time_to_live
    ),
    ddb_command!(
        "ddb.describetimetolive",
        &[ReadOnly],
        "Describes a table's TTL setting (DynamoDB DescribeTimeToLive).",
        describe_time_to_live
    ),
];
