//! Oversized input is refused with a clear error, never a crash: the connection stays usable,
//! other data is untouched and the server keeps serving (issue 16).

use serde_json::{json, Value};

use crate::harness::{ddb, ddb_result, error, q, TestServer};

/// fjall stores row keys of at most 65535 bytes; a key with its field or member must fit.
const TOO_LONG_ERR: &str = "ERR key, field or member too long";

#[test]
fn keys_fields_and_members_past_the_row_limit_are_refused_not_fatal() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(q::<String>(&mut c, &["SET", "kept", "value"]), "OK");
    let long = "x".repeat(70_000);
    let writes: Vec<Vec<&str>> = vec![
        vec!["SET", &long, "v"],
        vec!["HSET", "h", &long, "v"],
        vec!["ZADD", "z", "1", &long],
        vec!["SADD", "s", &long],
        vec!["RPUSH", &long, "v"],
        vec!["RENAME", "kept", &long],
    ];
    for args in &writes {
        let err = error(&mut c, args);
        assert!(err.starts_with(TOO_LONG_ERR), "{}: {err}", args[0]);
    }
    // Reads of what cannot be stored answer "absent", on the same connection.
    assert_eq!(q::<Option<String>>(&mut c, &["GET", &long]), None);
    assert_eq!(q::<Option<String>>(&mut c, &["HGET", "h", &long]), None);
    assert_eq!(q::<i64>(&mut c, &["SISMEMBER", "s", &long]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", &long]), 0);
    assert_eq!(q::<i64>(&mut c, &["DEL", &long]), 0);
    let lex_from = format!("[{long}");
    let empty: Vec<String> = q(&mut c, &["ZRANGEBYLEX", "z", &lex_from, "+"]);
    assert!(empty.is_empty());
    // Nothing half-written: the refused RENAME kept its source.
    assert_eq!(q::<String>(&mut c, &["GET", "kept"]), "value");
    for key in ["h", "z", "s"] {
        assert_eq!(q::<i64>(&mut c, &["EXISTS", key]), 0, "{key}");
    }
}

#[test]
fn keys_and_members_just_under_the_row_limit_are_stored() {
    let server = TestServer::start();
    let mut c = server.client();
    let key = "k".repeat(65_000);
    assert_eq!(q::<String>(&mut c, &["SET", &key, "v"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", &key, "100"]), 1);
    assert_eq!(q::<String>(&mut c, &["GET", &key]), "v");
    let member = "m".repeat(30_000);
    assert_eq!(q::<i64>(&mut c, &["ZADD", "z", "1", &member]), 1);
    assert_eq!(
        q::<Option<f64>>(&mut c, &["ZSCORE", "z", &member]),
        Some(1.0)
    );
    let mut server = server;
    server.stop();
    server.restart();
    let mut c = server.client();
    assert_eq!(q::<String>(&mut c, &["GET", &key]), "v");
    assert_eq!(q::<i64>(&mut c, &["ZCARD", "z"]), 1);
}

/// A table `lim` keyed by `pk` (S) and `sk` (S), holding one item.
fn table_with_an_item(c: &mut redis::Connection) {
    ddb(
        c,
        "CREATETABLE",
        json!({"TableName": "lim",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                          {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                     {"AttributeName": "sk", "AttributeType": "S"}]}),
    );
    ddb(
        c,
        "PUTITEM",
        json!({"TableName": "lim", "Item": {"pk": {"S": "a"}, "sk": {"S": "1"}, "n": {"N": "1"}}}),
    );
}

fn put_with_condition(c: &mut redis::Connection, condition: &str) -> Result<Value, String> {
    ddb_result(
        c,
        "PUTITEM",
        json!({"TableName": "lim", "Item": {"pk": {"S": "a"}, "sk": {"S": "1"}, "n": {"N": "1"}},
            "ConditionExpression": condition,
            "ExpressionAttributeValues": {":v": {"N": "1"}}}),
    )
}

#[test]
fn hostile_expressions_are_refused_and_the_server_keeps_serving() {
    let server = TestServer::start();
    let mut c = server.client();
    table_with_an_item(&mut c);
    let deep_parens = format!("{}n = :v{}", "(".repeat(2000), ")".repeat(2000));
    let long_or = vec!["n = :v"; 10_000].join(" OR ");
    let many_nots = format!("{}n = :v", "NOT ".repeat(10_000));
    let just_past_operator_limit = vec!["n = :v"; 151].join(" OR ");
    let too_deep = format!("{}n = :v{}", "(".repeat(33), ")".repeat(33));
    for (name, expr, expected) in [
        ("parentheses", &deep_parens, "nested too deeply"),
        ("OR chain", &long_or, "Expression size has exceeded"),
        ("NOT chain", &many_nots, "Expression size has exceeded"),
        (
            "301 operators",
            &just_past_operator_limit,
            "too many operators",
        ),
        ("33 levels", &too_deep, "nested too deeply"),
    ] {
        let err = put_with_condition(&mut c, expr).expect_err(name);
        assert!(
            err.contains("ValidationException") && err.contains(expected),
            "{name}: {err}"
        );
    }
    // Within the limits, the same shapes work.
    let ok_parens = format!("{}n = :v{}", "(".repeat(32), ")".repeat(32));
    assert!(put_with_condition(&mut c, &ok_parens).is_ok());
    let ok_or = vec!["n = :v"; 150].join(" OR ");
    assert!(put_with_condition(&mut c, &ok_or).is_ok());
    let deep_update = format!(
        "SET n = {}:v{}",
        "if_not_exists(n, ".repeat(40),
        ")".repeat(40)
    );
    let err = ddb_result(
        &mut c,
        "UPDATEITEM",
        json!({"TableName": "lim", "Key": {"pk": {"S": "a"}, "sk": {"S": "1"}},
            "UpdateExpression": deep_update,
            "ExpressionAttributeValues": {":v": {"N": "1"}}}),
    )
    .expect_err("nested if_not_exists");
    assert!(err.contains("nested too deeply"), "{err}");
    let item = ddb(
        &mut c,
        "GETITEM",
        json!({"TableName": "lim", "Key": {"pk": {"S": "a"}, "sk": {"S": "1"}}}),
    );
    assert_eq!(item["Item"]["pk"]["S"], "a");
}

#[test]
fn dynamodb_key_size_and_nesting_limits() {
    let server = TestServer::start();
    let mut c = server.client();
    table_with_an_item(&mut c);
    let put = |c: &mut redis::Connection, item: Value| {
        ddb_result(c, "PUTITEM", json!({"TableName": "lim", "Item": item}))
    };
    let pk_2048 = "p".repeat(2048);
    let sk_1024 = "s".repeat(1024);
    assert!(put(&mut c, json!({"pk": {"S": pk_2048}, "sk": {"S": sk_1024}})).is_ok());
    let err = put(
        &mut c,
        json!({"pk": {"S": "p".repeat(2049)}, "sk": {"S": "1"}}),
    )
    .unwrap_err();
    assert!(
        err.contains("Size of hashkey has exceeded the maximum size limit of 2048 bytes"),
        "{err}"
    );
    let err = put(
        &mut c,
        json!({"pk": {"S": "a"}, "sk": {"S": "s".repeat(1025)}}),
    )
    .unwrap_err();
    assert!(
        err.contains("range keys has exceeded the size limit of 1024 bytes"),
        "{err}"
    );
    // 32 levels of nesting are DynamoDB's limit.
    let nested = |levels: usize| {
        let mut v = json!({"S": "leaf"});
        for _ in 0..levels {
            v = json!({"L": [v]});
        }
        v
    };
    assert!(put(
        &mut c,
        json!({"pk": {"S": "a"}, "sk": {"S": "2"}, "deep": nested(31)})
    )
    .is_ok());
    let err = put(
        &mut c,
        json!({"pk": {"S": "a"}, "sk": {"S": "3"}, "deep": nested(32)}),
    )
    .unwrap_err();
    assert!(
        err.contains("Nesting Levels have exceeded supported limits"),
        "{err}"
    );
}
