//! Table change records (DynamoDB Streams shape) on `__stream__:<table>`: pub/sub messages
//! and the durable change log, for every write path and view type.

use redis::Value;
use serde_json::{json, Value as Json};

use crate::harness::{create_simple_table, ddb, q, TestServer};

fn create(con: &mut redis::Connection, name: &str, view: &str) {
    ddb(
        con,
        "CREATETABLE",
        json!({"TableName": name,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "StreamSpecification": {"StreamEnabled": true, "StreamViewType": view}}),
    );
}

fn put(con: &mut redis::Connection, table: &str, pk: &str, v: i64) {
    ddb(
        con,
        "PUTITEM",
        json!({"TableName": table, "Item": {"pk": {"S": pk}, "v": {"N": v.to_string()}}}),
    );
}

/// All records of a table's change log, oldest first: (stream id, record).
fn records(con: &mut redis::Connection, table: &str, after: &str) -> Vec<(String, Json)> {
    let reply: Value = q(
        con,
        &["XREAD", "STREAMS", &format!("__stream__:{table}"), after],
    );
    let Value::Array(streams) = reply else {
        return Vec::new();
    };
    let Value::Array(pair) = &streams[0] else {
        panic!()
    };
    let Value::Array(entries) = &pair[1] else {
        panic!()
    };
    entries
        .iter()
        .map(|e| {
            let Value::Array(parts) = e else { panic!() };
            let id: String = redis::from_redis_value(parts[0].clone()).unwrap();
            let fields: Vec<String> = redis::from_redis_value(parts[1].clone()).unwrap();
            (id, serde_json::from_str(&fields[3]).unwrap())
        })
        .collect()
}

#[test]
fn every_write_path_produces_one_record() {
    let server = TestServer::start();
    let mut c = server.client();
    create(&mut c, "Orders", "NEW_AND_OLD_IMAGES");
    let mut sub = server.raw();
    sub.send(b"SUBSCRIBE __stream__:Orders\r\n");
    for _ in 0..6 {
        sub.read_line();
    }
    put(&mut c, "Orders", "o1", 1); // INSERT
    put(&mut c, "Orders", "o1", 1); // unchanged: no record
    ddb(
        &mut c,
        "UPDATEITEM",
        json!({"TableName": "Orders", "Key": {"pk": {"S": "o1"}},
        "UpdateExpression": "SET v = v + :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}),
    ); // MODIFY
    ddb(
        &mut c,
        "DELETEITEM",
        json!({"TableName": "Orders", "Key": {"pk": {"S": "o1"}}}),
    ); // REMOVE
    ddb(
        &mut c,
        "DELETEITEM",
        json!({"TableName": "Orders", "Key": {"pk": {"S": "missing"}}}),
    ); // nothing
    ddb(
        &mut c,
        "BATCHWRITEITEM",
        json!({"RequestItems": {"Orders": [
        {"PutRequest": {"Item": {"pk": {"S": "b1"}, "v": {"N": "1"}}}}]}}),
    ); // INSERT
    ddb(
        &mut c,
        "TRANSACTWRITEITEMS",
        json!({"TransactItems": [
        {"Put": {"TableName": "Orders", "Item": {"pk": {"S": "t1"}, "v": {"N": "1"}}}},
        {"Delete": {"TableName": "Orders", "Key": {"pk": {"S": "b1"}}}}]}),
    ); // INSERT + REMOVE
    let log = records(&mut c, "Orders", "0");
    let names: Vec<&str> = log
        .iter()
        .map(|(_, r)| r["eventName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["INSERT", "MODIFY", "REMOVE", "INSERT", "INSERT", "REMOVE"]
    );
    let modify = &log[1].1;
    assert_eq!(modify["dynamodb"]["Keys"], json!({"pk": {"S": "o1"}}));
    assert_eq!(modify["dynamodb"]["OldImage"]["v"], json!({"N": "1"}));
    assert_eq!(modify["dynamodb"]["NewImage"]["v"], json!({"N": "2"}));
    assert_eq!(modify["eventSource"], "aws:dynamodb");
    let seqs: Vec<&str> = log
        .iter()
        .map(|(_, r)| r["dynamodb"]["SequenceNumber"].as_str().unwrap())
        .collect();
    let mut sorted = seqs.clone();
    sorted.sort();
    assert_eq!(seqs, sorted, "sequence numbers increase");
    assert!(log[2].1["dynamodb"].get("NewImage").is_none());
    // The same records were published on the channel, in order.
    for (_, record) in &log {
        assert_eq!(sub.read_line(), "*3\r\n");
        sub.read_line();
        sub.read_line();
        sub.read_line();
        sub.read_line();
        sub.read_line();
        let payload = sub.read_line();
        let published: Json = serde_json::from_str(payload.trim_end()).unwrap();
        assert_eq!(&published, record);
    }
}

#[test]
fn view_types_and_ttl_deletions() {
    let server = TestServer::start();
    let mut c = server.client();
    for view in ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE"] {
        create(&mut c, view, view);
        put(&mut c, view, "k", 1);
        put(&mut c, view, "k", 2);
        let log = records(&mut c, view, "0");
        let modify = &log[1].1["dynamodb"];
        assert_eq!(modify["StreamViewType"], view);
        assert_eq!(
            modify.get("NewImage").is_some(),
            view == "NEW_IMAGE",
            "{view}"
        );
        assert_eq!(
            modify.get("OldImage").is_some(),
            view == "OLD_IMAGE",
            "{view}"
        );
        assert_eq!(modify["Keys"], json!({"pk": {"S": "k"}}));
    }
    // A table without a stream records nothing.
    create_simple_table(&mut c, "Quiet", "pk", "S");
    put(&mut c, "Quiet", "k", 1);
    assert_eq!(q::<i64>(&mut c, &["XLEN", "__stream__:Quiet"]), 0);
    // TTL deletions are REMOVE records from the service identity.
    create(&mut c, "Sessions", "NEW_AND_OLD_IMAGES");
    ddb(
        &mut c,
        "UPDATETIMETOLIVE",
        json!({"TableName": "Sessions",
        "TimeToLiveSpecification": {"Enabled": true, "AttributeName": "exp"}}),
    );
    ddb(
        &mut c,
        "PUTITEM",
        json!({"TableName": "Sessions", "Item": {"pk": {"S": "s1"}, "exp": {"N": "1000"}}}),
    );
    assert!(crate::harness::eventually(30, || records(
        &mut c, "Sessions", "0"
    )
    .len()
        == 2));
    let log = records(&mut c, "Sessions", "0");
    assert_eq!(log[1].1["eventName"], "REMOVE");
    assert_eq!(
        log[1].1["userIdentity"],
        json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"})
    );
}

#[test]
fn consumer_resumes_after_disconnect_and_restart_exactly_once() {
    let mut server = TestServer::start();
    let mut c = server.client();
    create(&mut c, "Events", "NEW_IMAGE");
    for i in 0..10 {
        put(&mut c, "Events", &format!("e{i}"), i);
    }
    let first = records(&mut c, "Events", "0");
    let half: Vec<_> = first.into_iter().take(5).collect();
    let last_id = half.last().unwrap().0.clone();
    for i in 10..20 {
        put(&mut c, "Events", &format!("e{i}"), i);
    }
    drop(c);
    assert_eq!(server.stop(), Some(0));
    server.restart();
    let mut c = server.client();
    let rest = records(&mut c, "Events", &last_id);
    let keys: Vec<String> = half
        .iter()
        .chain(rest.iter())
        .map(|(_, r)| {
            r["dynamodb"]["Keys"]["pk"]["S"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let expected: Vec<String> = (0..20).map(|i| format!("e{i}")).collect();
    assert_eq!(keys, expected);
}
