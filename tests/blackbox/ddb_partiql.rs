//! PartiQL over DynamoDB's HTTP API (ExecuteStatement, BatchExecuteStatement,
//! ExecuteTransaction): statements run as the table operations they stand for, so their
//! items are the same ones DDB.* commands see.

use serde_json::{json, Value as Json};

use crate::ddb_http::{create_table, start, Http};
use crate::harness::ddb;

fn run(http: &mut Http, statement: &str, params: Json) -> Json {
    http.ok(
        "ExecuteStatement",
        json!({"Statement": statement, "Parameters": params}),
    )
}

fn failure(http: &mut Http, statement: &str, params: Json) -> (String, String) {
    let reply = http.call(
        "ExecuteStatement",
        json!({"Statement": statement, "Parameters": params}),
    );
    assert_eq!(reply.status, 400, "{statement}: {}", reply.body);
    let kind = reply.error_type().rsplit('#').next().unwrap().to_string();
    (kind, reply.message().to_string())
}

#[test]
fn statements_read_and_write_the_tables_items() {
    let (server, port) = start(&[]);
    let mut http = Http::connect(port);
    let mut con = server.client();
    create_table(&mut http, "Music", false);
    let inserted = run(
        &mut http,
        "INSERT INTO Music VALUE {'pk': 'band', 'sk': 1, 'title': ?, 'tags': <<'a', 'b'>>, 'plays': 0}",
        json!([{"S": "Intro"}]),
    );
    assert_eq!(inserted["Items"], json!([]));
    for sk in 2..=5 {
        run(
            &mut http,
            "INSERT INTO \"Music\" VALUE {'pk': 'band', 'sk': ?, 'plays': ?}",
            json!([{"N": sk.to_string()}, {"N": (sk * 10).to_string()}]),
        );
    }
    // The item is the one DDB.GETITEM reads over RESP.
    let over_resp = ddb(
        &mut con,
        "GETITEM",
        json!({"TableName": "Music", "Key": {"pk": {"S": "band"}, "sk": {"N": "1"}}}),
    );
    assert_eq!(over_resp["Item"]["title"], json!({"S": "Intro"}));
    assert_eq!(over_resp["Item"]["tags"], json!({"SS": ["a", "b"]}));
    let (kind, message) = failure(
        &mut http,
        "INSERT INTO Music VALUE {'pk': 'band', 'sk': 1}",
        json!([]),
    );
    assert_eq!(
        (kind.as_str(), message.as_str()),
        (
            "DuplicateItemException",
            "Duplicate primary key exists in table"
        )
    );
    // Full key: one item; projection applies.
    let one = run(
        &mut http,
        "SELECT title FROM Music WHERE pk = ? AND sk = 1",
        json!([{"S": "band"}]),
    );
    assert_eq!(one["Items"], json!([{"title": {"S": "Intro"}}]));
    // A partition with a sort-key range and a filter on another attribute.
    let some = run(
        &mut http,
        "SELECT sk FROM Music WHERE pk = 'band' AND sk BETWEEN 2 AND 5 AND plays >= 30",
        json!([]),
    );
    assert_eq!(
        some["Items"],
        json!([{"sk": {"N": "3"}}, {"sk": {"N": "4"}}, {"sk": {"N": "5"}}])
    );
    // No key in the WHERE clause: a scan with a filter, paged with Limit and NextToken.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..10 {
        let mut body = json!({"Statement": "SELECT sk FROM Music WHERE plays < 50 OR attribute_exists(title)", "Limit": 2});
        if let Some(t) = &token {
            body["NextToken"] = json!(t);
        }
        let page = http.ok("ExecuteStatement", body);
        seen.extend(page["Items"].as_array().unwrap().iter().cloned());
        token = page["NextToken"].as_str().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 4, "{seen:?}");
    // UPDATE with SET, arithmetic and REMOVE; an extra condition in the WHERE clause.
    run(
        &mut http,
        "UPDATE Music SET plays = plays + ? SET note = 'hit' REMOVE tags WHERE pk = 'band' AND sk = 1 AND plays = 0",
        json!([{"N": "7"}]),
    );
    let updated = run(
        &mut http,
        "SELECT * FROM Music WHERE pk = 'band' AND sk = 1",
        json!([]),
    );
    let item = &updated["Items"][0];
    assert_eq!(item["plays"], json!({"N": "7"}));
    assert_eq!(item["note"], json!({"S": "hit"}));
    assert!(item.get("tags").is_none());
    let (kind, _) = failure(
        &mut http,
        "UPDATE Music SET plays = 1 WHERE pk = 'band' AND sk = 1 AND plays = 0",
        json!([]),
    );
    assert_eq!(kind, "ConditionalCheckFailedException");
    // UPDATE never creates an item.
    let (kind, _) = failure(
        &mut http,
        "UPDATE Music SET plays = 1 WHERE pk = 'band' AND sk = 99",
        json!([]),
    );
    assert_eq!(kind, "ConditionalCheckFailedException");
    run(
        &mut http,
        "DELETE FROM Music WHERE pk = 'band' AND sk = 5",
        json!([]),
    );
    let gone = ddb(
        &mut con,
        "GETITEM",
        json!({"TableName": "Music", "Key": {"pk": {"S": "band"}, "sk": {"N": "5"}}}),
    );
    assert_eq!(gone, json!({}));
}

#[test]
fn statement_errors_are_validation_exceptions() {
    let (_server, port) = start(&[]);
    let mut http = Http::connect(port);
    create_table(&mut http, "Errs", false);
    let (kind, message) = failure(&mut http, "SELEC * FROM Errs", json!([]));
    assert_eq!(kind, "ValidationException");
    assert!(message.starts_with("Statement wasn't well formed, can't be processed"));
    let (_, message) = failure(&mut http, "SELECT * FROM Errs WHERE pk = ?", json!([]));
    assert_eq!(
        message,
        "Number of parameters in request and statement don't match."
    );
    let (_, message) = failure(&mut http, "DELETE FROM Errs WHERE pk = 'a'", json!([]));
    assert_eq!(
        message,
        "Where clause does not contain a mandatory equality on all key attributes"
    );
    let (kind, _) = failure(&mut http, "SELECT * FROM Nowhere", json!([]));
    assert_eq!(kind, "ResourceNotFoundException");
    // Values are checked by the table layer as for PutItem.
    let (kind, message) = failure(
        &mut http,
        "INSERT INTO Errs VALUE {'pk': 'a', 'sk': 'not a number'}",
        json!([]),
    );
    assert_eq!(kind, "ValidationException");
    assert!(message.contains("Type mismatch for key sk"), "{message}");
    let deep = format!(
        "SELECT * FROM Errs WHERE {}pk = 'a'{}",
        "(".repeat(200),
        ")".repeat(200)
    );
    let (kind, _) = failure(&mut http, &deep, json!([]));
    assert_eq!(kind, "ValidationException");
}

#[test]
fn batches_answer_per_statement_and_transactions_are_all_or_nothing() {
    let (_server, port) = start(&[]);
    let mut http = Http::connect(port);
    create_table(&mut http, "Batch", false);
    let statement = |text: &str| json!({"Statement": text});
    let writes = http.ok(
        "BatchExecuteStatement",
        json!({"Statements": [
            statement("INSERT INTO Batch VALUE {'pk': 'a', 'sk': 1, 'v': 1}"),
            statement("INSERT INTO Batch VALUE {'pk': 'b', 'sk': 1, 'v': 2}"),
            statement("INSERT INTO Batch VALUE {'pk': 'a', 'sk': 1}"),
        ]}),
    );
    let responses = writes["Responses"].as_array().unwrap();
    assert_eq!(responses[0], json!({"TableName": "Batch"}));
    assert_eq!(responses[2]["Error"]["Code"], "DuplicateItem");
    let reads = http.ok(
        "BatchExecuteStatement",
        json!({"Statements": [
            {"Statement": "SELECT * FROM Batch WHERE pk = ? AND sk = 1", "Parameters": [{"S": "b"}]},
            statement("SELECT * FROM Batch WHERE pk = 'zzz' AND sk = 1"),
            statement("SELECT * FROM Batch WHERE pk = 'a'"),
        ]}),
    );
    let responses = reads["Responses"].as_array().unwrap();
    assert_eq!(responses[0]["Item"]["v"], json!({"N": "2"}));
    assert_eq!(responses[1], json!({"TableName": "Batch"}));
    assert_eq!(responses[2]["Error"]["Code"], "ValidationError");
    let mixed = http.call(
        "BatchExecuteStatement",
        json!({"Statements": [statement("SELECT * FROM Batch WHERE pk = 'a' AND sk = 1"),
                              statement("DELETE FROM Batch WHERE pk = 'a' AND sk = 1")]}),
    );
    assert!(mixed.error_type().ends_with("#ValidationException"));
    // A transaction whose UPDATE condition fails writes nothing.
    let cancelled = http.call(
        "ExecuteTransaction",
        json!({"TransactStatements": [
            statement("INSERT INTO Batch VALUE {'pk': 'c', 'sk': 1}"),
            statement("UPDATE Batch SET v = 5 WHERE pk = 'a' AND sk = 1 AND v = 99"),
        ]}),
    );
    assert!(
        cancelled
            .error_type()
            .ends_with("#TransactionCanceledException"),
        "{}",
        cancelled.body
    );
    assert_eq!(
        cancelled.body["CancellationReasons"][1]["Code"],
        "ConditionalCheckFailed"
    );
    http.ok(
        "ExecuteTransaction",
        json!({"TransactStatements": [
            statement("INSERT INTO Batch VALUE {'pk': 'c', 'sk': 1}"),
            statement("UPDATE Batch SET v = 5 WHERE pk = 'a' AND sk = 1 AND v = 1"),
            statement("DELETE FROM Batch WHERE pk = 'b' AND sk = 1"),
        ]}),
    );
    let read = http.ok(
        "ExecuteTransaction",
        json!({"TransactStatements": [
            statement("SELECT v FROM Batch WHERE pk = 'a' AND sk = 1"),
            statement("SELECT * FROM Batch WHERE pk = 'b' AND sk = 1"),
            statement("SELECT * FROM Batch WHERE pk = 'c' AND sk = 1"),
        ]}),
    );
    let responses = read["Responses"].as_array().unwrap();
    assert_eq!(responses[0]["Item"], json!({"v": {"N": "5"}}));
    assert!(responses[1].get("Item").is_none());
    assert_eq!(responses[2]["Item"]["pk"], json!({"S": "c"}));
}

#[test]
fn statements_need_the_users_permission_on_their_tables() {
    let (server, port) = start(&["--requirepass", "secret"]);
    let mut admin = Http::connect(port);
    admin.credentials = Some(("default".into(), "secret".into()));
    create_table(&mut admin, "Allowed1", false);
    create_table(&mut admin, "Other", false);
    let mut con = server.client();
    let _: () = crate::harness::q(&mut con, &["AUTH", "secret"]);
    for args in [
        ["alice", "on", ">alicepw", "~Allowed*", "+@all"],
        ["reader", "on", ">readerpw", "%R~*", "+@all"],
    ] {
        let mut command = vec!["ACL", "SETUSER"];
        command.extend_from_slice(&args);
        let _: () = crate::harness::q(&mut con, &command);
    }
    let denied = |http: &mut Http, statement: &str| {
        let reply = http.call("ExecuteStatement", json!({ "Statement": statement }));
        reply.error_type() == "com.amazon.coral.service#AccessDeniedException"
    };
    let mut alice = Http::connect(port);
    alice.credentials = Some(("alice".into(), "alicepw".into()));
    run(
        &mut alice,
        "INSERT INTO Allowed1 VALUE {'pk': 'a', 'sk': 1}",
        json!([]),
    );
    assert!(denied(&mut alice, "SELECT * FROM Other"));
    assert!(denied(
        &mut alice,
        "INSERT INTO Other VALUE {'pk': 'a', 'sk': 1}"
    ));
    // One statement on a forbidden table refuses the whole batch.
    let batch = alice.call(
        "BatchExecuteStatement",
        json!({"Statements": [{"Statement": "SELECT * FROM Allowed1 WHERE pk = 'a' AND sk = 1"},
                              {"Statement": "SELECT * FROM Other WHERE pk = 'a' AND sk = 1"}]}),
    );
    assert!(batch.error_type().ends_with("#AccessDeniedException"));
    let mut reader = Http::connect(port);
    reader.credentials = Some(("reader".into(), "readerpw".into()));
    let read = run(&mut reader, "SELECT * FROM Allowed1", json!([]));
    assert_eq!(read["Items"].as_array().unwrap().len(), 1);
    assert!(denied(
        &mut reader,
        "DELETE FROM Allowed1 WHERE pk = 'a' AND sk = 1"
    ));
    assert!(denied(
        &mut reader,
        "UPDATE Other SET v = 1 WHERE pk = 'a' AND sk = 1"
    ));
}
