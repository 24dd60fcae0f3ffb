//! Native DynamoDB-model tables over RESP (first part of the tables issue: table
//! management, PutItem/GetItem/DeleteItem, Query, Scan, TTL).

use serde_json::{json, Value as Json};

use crate::harness::{create_simple_table, ddb, ddb_result, error, TestServer};

fn ddb_err(con: &mut redis::Connection, op: &str, body: Json) -> String {
    ddb_result(con, op, body).expect_err("the call should have failed")
}

fn create_examples(con: &mut redis::Connection) {
    create_simple_table(con, "Users", "UserID", "S");
    ddb(
        con,
        "CREATETABLE",
        json!({
            "TableName": "Orders",
            "KeySchema": [{"AttributeName": "CustomerID", "KeyType": "HASH"},
                          {"AttributeName": "OrderID", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "CustomerID", "AttributeType": "S"},
                                     {"AttributeName": "OrderID", "AttributeType": "N"}],
            "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        }),
    );
}

fn order(customer: &str, id: i64) -> Json {
    json!({"TableName": "Orders", "Item": {
        "CustomerID": {"S": customer}, "OrderID": {"N": id.to_string()},
        "Total": {"N": format!("{id}.50")}, "Tags": {"SS": ["new"]}
    }})
}

#[test]
fn users_and_orders_examples() {
    let mut server = TestServer::start();
    let mut c = server.client();
    create_examples(&mut c);
    let listed = ddb(&mut c, "LISTTABLES", json!({}));
    assert_eq!(listed["TableNames"], json!(["Orders", "Users"]));
    let described = ddb(&mut c, "DESCRIBETABLE", json!({"TableName": "Orders"}));
    assert_eq!(described["Table"]["TableStatus"], "ACTIVE");
    assert_eq!(
        described["Table"]["KeySchema"][1],
        json!({"AttributeName": "OrderID", "KeyType": "RANGE"})
    );
    assert_eq!(
        described["Table"]["StreamSpecification"]["StreamViewType"],
        "NEW_AND_OLD_IMAGES"
    );

    // Users: put, get, projection, replace with ALL_OLD, delete.
    let ada = json!({"UserID": {"S": "u1"}, "Name": {"S": "Ada"}, "Age": {"N": "36"},
                     "Admin": {"BOOL": true}, "Prefs": {"M": {"theme": {"S": "dark"}}},
                     "Logins": {"L": [{"N": "1"}, {"N": "2"}]}, "Photo": {"B": "aGk="}});
    assert_eq!(
        ddb(
            &mut c,
            "PUTITEM",
            json!({"TableName": "Users", "Item": ada})
        ),
        json!({})
    );
    let got = ddb(
        &mut c,
        "GETITEM",
        json!({"TableName": "Users", "Key": {"UserID": {"S": "u1"}}}),
    );
    assert_eq!(got["Item"], ada);
    let projected = ddb(
        &mut c,
        "GETITEM",
        json!({"TableName": "Users", "Key": {"UserID": {"S": "u1"}},
        "ProjectionExpression": "#n, Age", "ExpressionAttributeNames": {"#n": "Name"}}),
    );
    assert_eq!(
        projected["Item"],
        json!({"Name": {"S": "Ada"}, "Age": {"N": "36"}})
    );
    let replaced = ddb(
        &mut c,
        "PUTITEM",
        json!({"TableName": "Users", "ReturnValues": "ALL_OLD",
        "Item": {"UserID": {"S": "u1"}, "Name": {"S": "Ada L."}}}),
    );
    assert_eq!(replaced["Attributes"]["Name"], json!({"S": "Ada"}));
    assert_eq!(
        ddb(
            &mut c,
            "GETITEM",
            json!({"TableName": "Users", "Key": {"UserID": {"S": "nobody"}}})
        ),
        json!({})
    );

    // Orders: one customer's orders in OrderID (numeric) order, paginated by 2.
    for id in [3, 1, 10, 2, 20] {
        ddb(&mut c, "PUTITEM", order("c1", id));
    }
    ddb(&mut c, "PUTITEM", order("c2", 5));
    let mut ids = Vec::new();
    let mut start: Option<Json> = None;
    let mut pages = 0;
    loop {
        let mut req = json!({"TableName": "Orders", "KeyConditionExpression": "CustomerID = :c",
            "ExpressionAttributeValues": {":c": {"S": "c1"}}, "Limit": 2});
        if let Some(s) = &start {
            req["ExclusiveStartKey"] = s.clone();
        }
        let page = ddb(&mut c, "QUERY", req);
        pages += 1;
        for item in page["Items"].as_array().unwrap() {
            ids.push(item["OrderID"]["N"].as_str().unwrap().to_string());
        }
        match page.get("LastEvaluatedKey") {
            Some(k) => start = Some(k.clone()),
            None => break,
        }
        assert!(pages < 10);
    }
    assert_eq!(ids, vec!["1", "2", "3", "10", "20"]);
    assert_eq!(pages, 3);
    // Sort-key conditions and reverse order.
    let q = |c: &mut redis::Connection, cond: &str, values: Json, forward: bool| -> Vec<String> {
        let page = ddb(
            c,
            "QUERY",
            json!({"TableName": "Orders", "KeyConditionExpression": cond,
            "ExpressionAttributeValues": values, "ScanIndexForward": forward,
            "ExpressionAttributeNames": {"#o": "OrderID"}}),
        );
        page["Items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["OrderID"]["N"].as_str().unwrap().to_string())
            .collect()
    };
    let c1 = json!({"S": "c1"});
    assert_eq!(
        q(
            &mut c,
            "CustomerID = :c AND #o BETWEEN :a AND :b",
            json!({":c": c1, ":a": {"N": "2"}, ":b": {"N": "10"}}),
            true
        ),
        vec!["2", "3", "10"]
    );
    assert_eq!(
        q(
            &mut c,
            "CustomerID = :c AND #o > :a",
            json!({":c": c1, ":a": {"N": "3"}}),
            false
        ),
        vec!["20", "10"]
    );
    assert_eq!(
        q(
            &mut c,
            "CustomerID = :c AND #o <= :a",
            json!({":c": c1, ":a": {"N": "2"}}),
            true
        ),
        vec!["1", "2"]
    );
    assert_eq!(
        q(
            &mut c,
            "CustomerID = :c AND #o = :a",
            json!({":c": c1, ":a": {"N": "10.0"}}),
            true
        ),
        vec!["10"]
    );
    let count = ddb(
        &mut c,
        "QUERY",
        json!({"TableName": "Orders", "KeyConditionExpression": "CustomerID = :c",
        "ExpressionAttributeValues": {":c": {"S": "c1"}}, "Select": "COUNT"}),
    );
    assert_eq!(count, json!({"Count": 5, "ScannedCount": 5}));
    // Scan, whole and in 4 parallel segments that never overlap.
    let all = ddb(&mut c, "SCAN", json!({"TableName": "Orders"}));
    assert_eq!(all["Count"], 6);
    let mut segmented = 0;
    for segment in 0..4 {
        let part = ddb(
            &mut c,
            "SCAN",
            json!({"TableName": "Orders", "Segment": segment, "TotalSegments": 4}),
        );
        segmented += part["Count"].as_u64().unwrap();
    }
    assert_eq!(segmented, 6);
    // Deletes, and everything survives a restart.
    let deleted = ddb(
        &mut c,
        "DELETEITEM",
        json!({"TableName": "Orders", "ReturnValues": "ALL_OLD",
        "Key": {"CustomerID": {"S": "c2"}, "OrderID": {"N": "5"}}}),
    );
    assert_eq!(deleted["Attributes"]["Total"], json!({"N": "5.5"}));
    drop(c);
    assert_eq!(server.stop(), Some(0));
    server.restart();
    let mut c = server.client();
    let described = ddb(&mut c, "DESCRIBETABLE", json!({"TableName": "Orders"}));
    assert_eq!(described["Table"]["ItemCount"], 5);
    assert_eq!(
        ddb(&mut c, "SCAN", json!({"TableName": "Orders"}))["Count"],
        5
    );
    let deleted = ddb(&mut c, "DELETETABLE", json!({"TableName": "Orders"}));
    assert_eq!(deleted["TableDescription"]["TableStatus"], "DELETING");
    assert!(ddb_err(&mut c, "SCAN", json!({"TableName": "Orders"}))
        .starts_with("ERR ResourceNotFoundException"));
}

#[test]
fn validation_and_errors() {
    let server = TestServer::start();
    let mut c = server.client();
    create_examples(&mut c);
    let err = |c: &mut redis::Connection, op: &str, body: Json| ddb_err(c, op, body);
    assert_eq!(
        err(
            &mut c,
            "CREATETABLE",
            json!({"TableName": "Users", "KeySchema": [{"AttributeName": "UserID", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "UserID", "AttributeType": "S"}]})
        ),
        "ERR ResourceInUseException: Table already exists: Users"
    );
    assert_eq!(
        err(
            &mut c,
            "GETITEM",
            json!({"TableName": "Missing", "Key": {"id": {"S": "1"}}})
        ),
        "ERR ResourceNotFoundException: Requested resource not found: Table: Missing not found"
    );
    assert_eq!(
        err(&mut c, "PUTITEM", json!({"TableName": "Orders", "Item": {"CustomerID": {"S": "c"}}})),
        "ERR ValidationException: One or more parameter values were invalid: Missing the key OrderID in the item"
    );
    assert_eq!(
        err(&mut c, "PUTITEM", json!({"TableName": "Orders", "Item": {"CustomerID": {"S": "c"}, "OrderID": {"S": "x"}}})),
        "ERR ValidationException: One or more parameter values were invalid: Type mismatch for key OrderID expected: N actual: S"
    );
    assert_eq!(
        err(
            &mut c,
            "GETITEM",
            json!({"TableName": "Orders", "Key": {"CustomerID": {"S": "c"}}})
        ),
        "ERR ValidationException: The provided key element does not match the schema"
    );
    assert!(err(
        &mut c,
        "PUTITEM",
        json!({"TableName": "Users", "Item": {"UserID": {"S": "u"}, "s": {"SS": []}}})
    )
    .contains("may not be empty"));
    assert!(err(
        &mut c,
        "PUTITEM",
        json!({"TableName": "Users", "Item": {"UserID": {"S": ""}}})
    )
    .contains("cannot contain an empty string value"));
    let big = "x".repeat(410 * 1024);
    assert_eq!(
        err(
            &mut c,
            "PUTITEM",
            json!({"TableName": "Users", "Item": {"UserID": {"S": "u"}, "blob": {"S": big}}})
        ),
        "ERR ValidationException: Item size has exceeded the maximum allowed size"
    );
    assert!(err(
        &mut c,
        "QUERY",
        json!({"TableName": "Orders", "KeyConditionExpression": "OrderID = :o",
        "ExpressionAttributeValues": {":o": {"N": "1"}}})
    )
    .contains("Query condition missed key schema element: CustomerID"));
    assert!(err(
        &mut c,
        "QUERY",
        json!({"TableName": "Orders", "KeyConditionExpression": "CustomerID = :nope"})
    )
    .contains("attribute value used in expression is not defined"));
    // Legacy parameters are rejected in favour of expressions.
    assert!(err(
        &mut c,
        "PUTITEM",
        json!({"TableName": "Users", "Item": {"UserID": {"S": "u"}}, "Expected": {}})
    )
    .starts_with("ERR ValidationException: Expected is not supported"));
    assert!(error(&mut c, &["DDB.PUTITEM", "not json"]).starts_with("ERR SerializationException"));
    assert_eq!(
        error(&mut c, &["DDB.PUTITEM"]),
        "ERR wrong number of arguments for 'ddb.putitem' command"
    );
}

#[test]
fn ttl_hides_expired_items_and_concurrent_writers_keep_exact_counts() {
    let server = TestServer::start();
    let mut c = server.client();
    create_examples(&mut c);
    let set = ddb(
        &mut c,
        "UPDATETIMETOLIVE",
        json!({"TableName": "Users",
        "TimeToLiveSpecification": {"Enabled": true, "AttributeName": "expires"}}),
    );
    assert_eq!(set["TimeToLiveSpecification"]["AttributeName"], "expires");
    let desc = ddb(&mut c, "DESCRIBETIMETOLIVE", json!({"TableName": "Users"}));
    assert_eq!(desc["TimeToLiveDescription"]["TimeToLiveStatus"], "ENABLED");
    ddb(
        &mut c,
        "PUTITEM",
        json!({"TableName": "Users", "Item": {"UserID": {"S": "old"}, "expires": {"N": "1000"}}}),
    );
    ddb(
        &mut c,
        "PUTITEM",
        json!({"TableName": "Users", "Item": {"UserID": {"S": "new"}, "expires": {"N": "99999999999"}}}),
    );
    assert_eq!(
        ddb(
            &mut c,
            "GETITEM",
            json!({"TableName": "Users", "Key": {"UserID": {"S": "old"}}})
        ),
        json!({})
    );
    assert_eq!(
        ddb(&mut c, "SCAN", json!({"TableName": "Users"}))["Count"],
        1
    );
    // The background sweeper deletes the expired item (ItemCount drops from 2 to 1).
    assert!(
        crate::harness::eventually(30, || {
            ddb(&mut c, "DESCRIBETABLE", json!({"TableName": "Users"}))["Table"]["ItemCount"] == 1
        }),
        "the TTL sweeper did not delete the expired item"
    );
    // 50 clients writing distinct orders concurrently: every one is stored exactly once.
    let writers: Vec<_> = (0..50)
        .map(|w| {
            let mut con = server.client();
            std::thread::spawn(move || {
                for i in 0..20 {
                    ddb(&mut con, "PUTITEM", order(&format!("cust{w}"), i));
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let described = ddb(&mut c, "DESCRIBETABLE", json!({"TableName": "Orders"}));
    assert_eq!(described["Table"]["ItemCount"], 1000);
    assert_eq!(
        ddb(
            &mut c,
            "SCAN",
            json!({"TableName": "Orders", "Select": "COUNT"})
        )["Count"],
        1000
    );
}

#[test]
fn conditions_updates_filters_and_a_concurrent_counter() {
    let server = TestServer::start();
    let mut c = server.client();
    create_examples(&mut c);
    // A failed condition writes nothing.
    ddb(
        &mut c,
        "PUTITEM",
        json!({"TableName": "Users", "Item": {"UserID": {"S": "u1"}, "Name": {"S": "Ada"}}}),
    );
    assert_eq!(
        ddb_err(
            &mut c,
            "PUTITEM",
            json!({"TableName": "Users", "Item": {"UserID": {"S": "u1"}, "Name": {"S": "Eve"}},
            "ConditionExpression": "attribute_not_exists(UserID)"})
        ),
        "ERR ConditionalCheckFailedException: The conditional request failed"
    );
    let got = ddb(
        &mut c,
        "GETITEM",
        json!({"TableName": "Users", "Key": {"UserID": {"S": "u1"}}}),
    );
    assert_eq!(got["Item"]["Name"], json!({"S": "Ada"}));
    assert_eq!(
        ddb_err(
            &mut c,
            "DELETEITEM",
            json!({"TableName": "Users", "Key": {"UserID": {"S": "u1"}},
            "ConditionExpression": "#n = :n", "ExpressionAttributeNames": {"#n": "Name"},
            "ExpressionAttributeValues": {":n": {"S": "Bob"}}})
        ),
        "ERR ConditionalCheckFailedException: The conditional request failed"
    );
    // UpdateItem: create, counters, nested paths, ReturnValues.
    let created = ddb(
        &mut c,
        "UPDATEITEM",
        json!({"TableName": "Users", "Key": {"UserID": {"S": "u2"}},
        "UpdateExpression": "SET Visits = :zero, Prefs = :m", "ReturnValues": "ALL_NEW",
        "ExpressionAttributeValues": {":zero": {"N": "0"}, ":m": {"M": {"lang": {"S": "en"}}}}}),
    );
    assert_eq!(created["Attributes"]["Visits"], json!({"N": "0"}));
    let updated = ddb(
        &mut c,
        "UPDATEITEM",
        json!({"TableName": "Users", "Key": {"UserID": {"S": "u2"}},
        "UpdateExpression": "SET Prefs.lang = :fr, Visits = Visits + :one", "ReturnValues": "UPDATED_NEW",
        "ExpressionAttributeValues": {":fr": {"S": "fr"}, ":one": {"N": "1"}}}),
    );
    assert_eq!(
        updated["Attributes"],
        json!({"Prefs": {"M": {"lang": {"S": "fr"}}}, "Visits": {"N": "1"}})
    );
    assert!(ddb_err(
        &mut c,
        "UPDATEITEM",
        json!({"TableName": "Users", "Key": {"UserID": {"S": "u2"}},
        "UpdateExpression": "SET UserID = :x", "ExpressionAttributeValues": {":x": {"S": "z"}}})
    )
    .contains("This attribute is part of the key"));
    assert!(ddb_err(&mut c, "UPDATEITEM", json!({"TableName": "Users", "Key": {"UserID": {"S": "u2"}},
        "UpdateExpression": "SET Visits = Visits + :s", "ExpressionAttributeValues": {":s": {"S": "x"}}}))
        .contains("incorrect data type"));
    // 50 clients increment one counter with SET n = n + :one: the total is exact.
    ddb(
        &mut c,
        "PUTITEM",
        json!({"TableName": "Users", "Item": {"UserID": {"S": "counter"}, "n": {"N": "0"}}}),
    );
    let writers: Vec<_> = (0..50)
        .map(|_| {
            let mut con = server.client();
            std::thread::spawn(move || {
                for _ in 0..20 {
                    ddb(&mut con, "UPDATEITEM", json!({"TableName": "Users", "Key": {"UserID": {"S": "counter"}},
                        "UpdateExpression": "SET n = n + :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}));
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let counter = ddb(
        &mut c,
        "GETITEM",
        json!({"TableName": "Users", "Key": {"UserID": {"S": "counter"}}}),
    );
    assert_eq!(counter["Item"]["n"], json!({"N": "1000"}));
    // FilterExpression: Count counts matches, ScannedCount what was read.
    for id in 1..=6 {
        ddb(&mut c, "PUTITEM", order("c9", id));
    }
    let filtered = ddb(
        &mut c,
        "QUERY",
        json!({"TableName": "Orders", "KeyConditionExpression": "CustomerID = :c",
        "FilterExpression": "Total > :t", "ExpressionAttributeValues": {":c": {"S": "c9"}, ":t": {"N": "4"}}}),
    );
    assert_eq!(
        (
            filtered["Count"].as_u64(),
            filtered["ScannedCount"].as_u64()
        ),
        (Some(3), Some(6))
    );
    let scanned = ddb(
        &mut c,
        "SCAN",
        json!({"TableName": "Orders", "FilterExpression": "contains(Tags, :t)",
        "ExpressionAttributeValues": {":t": {"S": "new"}}}),
    );
    assert_eq!(scanned["Count"], 6);
}

#[test]
fn batches_and_transactions() {
    let server = TestServer::start();
    let mut c = server.client();
    create_examples(&mut c);
    let written = ddb(
        &mut c,
        "BATCHWRITEITEM",
        json!({"RequestItems": {
            "Users": [{"PutRequest": {"Item": {"UserID": {"S": "a"}, "n": {"N": "1"}}}},
                      {"PutRequest": {"Item": {"UserID": {"S": "b"}, "n": {"N": "2"}}}}],
            "Orders": [{"PutRequest": {"Item": {"CustomerID": {"S": "c1"}, "OrderID": {"N": "1"}}}}]
        }}),
    );
    assert_eq!(written, json!({"UnprocessedItems": {}}));
    let got = ddb(
        &mut c,
        "BATCHGETITEM",
        json!({"RequestItems": {
            "Users": {"Keys": [{"UserID": {"S": "a"}}, {"UserID": {"S": "b"}}, {"UserID": {"S": "zz"}}],
                      "ProjectionExpression": "n"}
        }}),
    );
    assert_eq!(got["Responses"]["Users"].as_array().unwrap().len(), 2);
    assert_eq!(got["UnprocessedKeys"], json!({}));
    ddb(
        &mut c,
        "BATCHWRITEITEM",
        json!({"RequestItems": {"Users": [{"DeleteRequest": {"Key": {"UserID": {"S": "b"}}}}]}}),
    );

    // One failing condition cancels the whole transaction: nothing is written.
    let tx = json!({"TransactItems": [
        {"Put": {"TableName": "Users", "Item": {"UserID": {"S": "new"}}}},
        {"Update": {"TableName": "Users", "Key": {"UserID": {"S": "a"}}, "UpdateExpression": "SET n = n + :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        {"ConditionCheck": {"TableName": "Orders", "Key": {"CustomerID": {"S": "c1"}, "OrderID": {"N": "1"}},
                            "ConditionExpression": "attribute_exists(Shipped)"}}
    ]});
    assert_eq!(
        ddb_err(&mut c, "TRANSACTWRITEITEMS", tx),
        "ERR TransactionCanceledException: Transaction cancelled, please refer cancellation reasons for specific reasons [None, None, ConditionalCheckFailed]"
    );
    assert_eq!(
        ddb(
            &mut c,
            "GETITEM",
            json!({"TableName": "Users", "Key": {"UserID": {"S": "new"}}})
        ),
        json!({})
    );
    let a = ddb(
        &mut c,
        "GETITEM",
        json!({"TableName": "Users", "Key": {"UserID": {"S": "a"}}}),
    );
    assert_eq!(a["Item"]["n"], json!({"N": "1"}));
    // All conditions hold: everything is written, across tables and shards; a retried
    // ClientRequestToken does not apply twice.
    let tx = json!({"ClientRequestToken": "tok-1", "TransactItems": [
        {"Put": {"TableName": "Users", "Item": {"UserID": {"S": "new"}}, "ConditionExpression": "attribute_not_exists(UserID)"}},
        {"Update": {"TableName": "Users", "Key": {"UserID": {"S": "a"}}, "UpdateExpression": "SET n = n + :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        {"Delete": {"TableName": "Orders", "Key": {"CustomerID": {"S": "c1"}, "OrderID": {"N": "1"}}}}
    ]});
    assert_eq!(ddb(&mut c, "TRANSACTWRITEITEMS", tx.clone()), json!({}));
    assert_eq!(ddb(&mut c, "TRANSACTWRITEITEMS", tx), json!({}));
    let a = ddb(
        &mut c,
        "GETITEM",
        json!({"TableName": "Users", "Key": {"UserID": {"S": "a"}}}),
    );
    assert_eq!(
        a["Item"]["n"],
        json!({"N": "2"}),
        "the retried token must not apply again"
    );
    let read = ddb(
        &mut c,
        "TRANSACTGETITEMS",
        json!({"TransactItems": [
            {"Get": {"TableName": "Users", "Key": {"UserID": {"S": "new"}}}},
            {"Get": {"TableName": "Orders", "Key": {"CustomerID": {"S": "c1"}, "OrderID": {"N": "1"}}}}
        ]}),
    );
    assert_eq!(read["Responses"][0]["Item"]["UserID"], json!({"S": "new"}));
    assert_eq!(read["Responses"][1], json!({}));
    assert!(ddb_err(
        &mut c,
        "TRANSACTWRITEITEMS",
        json!({"TransactItems": [
            {"Delete": {"TableName": "Users", "Key": {"UserID": {"S": "a"}}}},
            {"Put": {"TableName": "Users", "Item": {"UserID": {"S": "a"}}}}
        ]})
    )
    .contains("multiple operations on one item"));
}
