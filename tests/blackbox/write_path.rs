//! The one write path seen from the wire: table commands inside MULTI/EXEC run under the
//! transaction's locks (they used to take them again and wedge the server), and every kind
//! of write is credited to its shard (INFO `# Shards` `bytes=`, what the per-shard write
//! rates, the autoscaler and the dashboard are computed from).

use std::time::Duration;

use redis::Value;
use serde_json::json;

use crate::harness::{create_simple_table, ddb, q, TestServer};

/// A client whose reads give up instead of hanging the test if the server wedges.
fn client(server: &TestServer) -> redis::Connection {
    let c = server.client();
    c.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    c
}

fn put(table: &str, id: &str) -> String {
    json!({"TableName": table, "Item": {"id": {"S": id}, "n": {"N": "1"}}}).to_string()
}

#[test]
fn table_commands_inside_exec_join_the_transaction() {
    let server = TestServer::start();
    let mut c = client(&server);
    let mut other = client(&server);
    create_simple_table(&mut c, "Tab", "id", "S");
    let get = json!({"TableName": "Tab", "Key": {"id": {"S": "a"}}}).to_string();
    let transact = json!({"TransactItems": [
        {"Put": {"TableName": "Tab", "Item": {"id": {"S": "b"}}}},
        {"Update": {"TableName": "Tab", "Key": {"id": {"S": "a"}},
                    "UpdateExpression": "SET n = n + :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}}}}]})
    .to_string();
    let transact_get = json!({"TransactItems": [
        {"Get": {"TableName": "Tab", "Key": {"id": {"S": "a"}}}},
        {"Get": {"TableName": "Tab", "Key": {"id": {"S": "b"}}}}]})
    .to_string();
    let replies: Vec<Value> = redis::pipe()
        .atomic()
        .cmd("DDB.PUTITEM")
        .arg(put("Tab", "a"))
        .cmd("SET")
        .arg("k")
        .arg("v")
        .cmd("DDB.TRANSACTWRITEITEMS")
        .arg(&transact)
        .cmd("DDB.TRANSACTGETITEMS")
        .arg(&transact_get)
        .cmd("DDB.GETITEM")
        .arg(&get)
        .query(&mut c)
        .expect("EXEC answers");
    assert_eq!(replies.len(), 5);
    assert_eq!(replies[1], Value::Okay);
    let Value::BulkString(item) = &replies[4] else {
        panic!("GETITEM reply: {:?}", replies[4]);
    };
    let item: serde_json::Value = serde_json::from_slice(item).unwrap();
    assert_eq!(item["Item"]["n"]["N"], "2");
    // Other clients were never blocked and see the transaction's writes.
    assert_eq!(q::<String>(&mut other, &["PING"]), "PONG");
    assert_eq!(q::<String>(&mut other, &["GET", "k"]), "v");
    let scanned = ddb(&mut other, "SCAN", json!({"TableName": "Tab"}));
    assert_eq!(scanned["Count"], 2);
}

#[test]
fn a_failing_table_command_inside_exec_does_not_stop_the_others() {
    let server = TestServer::start();
    let mut c = client(&server);
    create_simple_table(&mut c, "Tab", "id", "S");
    let conditional = json!({"TableName": "Tab", "Item": {"id": {"S": "a"}},
        "ConditionExpression": "attribute_exists(id)"})
    .to_string();
    let mut raw = server.raw();
    let body = conditional.replace('"', "\\\"");
    raw.send(format!("MULTI\r\nDDB.PUTITEM \"{body}\"\r\nINCR n\r\nEXEC\r\n").as_bytes());
    for expected in ["+OK\r\n", "+QUEUED\r\n", "+QUEUED\r\n", "*2\r\n"] {
        assert_eq!(raw.read_line(), expected);
    }
    assert!(raw
        .read_line()
        .starts_with("-ERR ConditionalCheckFailedException"));
    assert_eq!(raw.read_line(), ":1\r\n");
}

#[test]
fn commands_redis_refuses_in_multi_are_refused_at_queue_time() {
    let server = TestServer::start();
    let mut raw = server.raw();
    raw.send(b"MULTI\r\nSAVE\r\nSET a 1\r\nEXEC\r\nGET a\r\n");
    for expected in [
        "+OK\r\n",
        "-ERR Command not allowed inside a transaction\r\n",
        "+QUEUED\r\n",
        "-EXECABORT Transaction discarded because of previous errors.\r\n",
        "$-1\r\n",
    ] {
        assert_eq!(raw.read_line(), expected);
    }
}

/// Total bytes credited to the shards (INFO `# Shards`).
fn shard_bytes(c: &mut redis::Connection) -> u64 {
    let info: String = q(c, &["INFO", "shards"]);
    info.lines()
        .filter(|l| l.starts_with("shard") && l.contains(":slots="))
        .filter_map(|l| l.split(',').find_map(|f| f.strip_prefix("bytes=")))
        .map(|v| v.trim().parse::<u64>().expect("bytes= value"))
        .sum()
}

/// Bytes credited to the shards by running `write` (also used by `chunked_strings`).
pub(crate) fn credited(
    c: &mut redis::Connection,
    write: impl FnOnce(&mut redis::Connection),
) -> u64 {
    let before = shard_bytes(c);
    write(c);
    shard_bytes(c) - before
}

#[test]
fn shard_write_accounting_covers_tables_change_logs_and_exec() {
    let server = TestServer::start();
    let mut c = client(&server);
    create_simple_table(&mut c, "Plain", "id", "S");
    ddb(
        &mut c,
        "CREATETABLE",
        json!({"TableName": "Streamy",
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"}}),
    );
    // Table items.
    let plain = credited(&mut c, |c| {
        let _: String = redis::cmd("DDB.PUTITEM")
            .arg(put("Plain", "x"))
            .query(c)
            .unwrap();
    });
    assert!(plain > 0, "a table write was not credited");
    // The same item in a table with a stream also writes its change record.
    let streamed = credited(&mut c, |c| {
        let _: String = redis::cmd("DDB.PUTITEM")
            .arg(put("Streamy", "x"))
            .query(c)
            .unwrap();
    });
    assert!(
        streamed > plain,
        "change-log record not credited: {streamed} <= {plain}"
    );
    // Writes inside EXEC (under the block's borrowed locks).
    let in_exec = credited(&mut c, |c| {
        let _: Vec<Value> = redis::pipe()
            .atomic()
            .cmd("SET")
            .arg("exec-key")
            .arg("value")
            .query(c)
            .unwrap();
    });
    assert!(in_exec > 0, "a write inside EXEC was not credited");
    // Keyspace-event change-log appends.
    let set_quiet = credited(&mut c, |c| {
        let _: () = redis::cmd("SET").arg("k1").arg("vv").query(c).unwrap();
    });
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("notify-keyspace-events")
        .arg("KEA")
        .query(&mut c)
        .unwrap();
    let set_logged = credited(&mut c, |c| {
        let _: () = redis::cmd("SET").arg("k2").arg("vv").query(c).unwrap();
    });
    assert!(
        set_logged > set_quiet,
        "keyspace change-log append not credited: {set_logged} <= {set_quiet}"
    );
}
