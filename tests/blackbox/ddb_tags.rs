//! TagResource, UntagResource and ListTagsOfResource over DynamoDB's HTTP API: tags live
//! with the table's catalog entry (they survive a restart and go with DeleteTable) and are
//! checked with DynamoDB's rules and texts.

use serde_json::{json, Value as Json};

use crate::ddb_http::{create_table, start, Http};

fn arn(http: &mut Http, table: &str) -> String {
    http.ok("DescribeTable", json!({"TableName": table}))["Table"]["TableArn"]
        .as_str()
        .unwrap()
        .to_string()
}

fn tags(http: &mut Http, arn: &str) -> Json {
    http.ok("ListTagsOfResource", json!({"ResourceArn": arn}))["Tags"].clone()
}

/// The ValidationException message of a request that must fail with one.
fn invalid(http: &mut Http, op: &str, body: Json) -> String {
    let reply = http.call(op, body);
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.error_type(),
        "com.amazon.coral.validate#ValidationException",
        "{}",
        reply.body
    );
    reply.message().to_string()
}

#[test]
fn tags_are_kept_with_the_table_and_survive_a_restart() {
    let (mut server, port) = start(&[]);
    let mut http = Http::connect(port);
    http.ok(
        "CreateTable",
        json!({"TableName": "Tagged", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
               "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
               "Tags": [{"Key": "team", "Value": "core"}]}),
    );
    let tagged = arn(&mut http, "Tagged");
    assert_eq!(
        tags(&mut http, &tagged),
        json!([{"Key": "team", "Value": "core"}])
    );
    let reply = http.ok(
        "TagResource",
        json!({"ResourceArn": tagged, "Tags": [{"Key": "env", "Value": "ci"}, {"Key": "team", "Value": "db"}]}),
    );
    assert_eq!(reply, json!({}));
    assert_eq!(
        tags(&mut http, &tagged),
        json!([{"Key": "env", "Value": "ci"}, {"Key": "team", "Value": "db"}])
    );
    http.ok(
        "UntagResource",
        json!({"ResourceArn": tagged, "TagKeys": ["team", "absent"]}),
    );
    assert_eq!(
        tags(&mut http, &tagged),
        json!([{"Key": "env", "Value": "ci"}])
    );
    server.stop();
    server.restart();
    let port: u16 = {
        let mut con = server.client();
        let reply: Vec<String> = crate::harness::q(&mut con, &["CONFIG", "GET", "dynamodb-port"]);
        reply[1].parse().unwrap()
    };
    let mut http = Http::connect(port);
    assert_eq!(
        tags(&mut http, &tagged),
        json!([{"Key": "env", "Value": "ci"}])
    );
    // A table made again under the same name starts without the old one's tags.
    http.ok("DeleteTable", json!({"TableName": "Tagged"}));
    let gone = http.call("ListTagsOfResource", json!({"ResourceArn": tagged}));
    assert!(gone.error_type().ends_with("#ResourceNotFoundException"));
    create_table(&mut http, "Tagged", false);
    assert_eq!(tags(&mut http, &tagged), json!([]));
}

#[test]
fn tags_are_checked_as_dynamodb_checks_them() {
    let (_server, port) = start(&[]);
    let mut http = Http::connect(port);
    create_table(&mut http, "Checked", false);
    let table = arn(&mut http, "Checked");
    let tag = |k: &str, v: &str| json!({"Key": k, "Value": v});
    let tag_one = |http: &mut Http, t: Json| {
        invalid(
            http,
            "TagResource",
            json!({"ResourceArn": table, "Tags": [t]}),
        )
    };
    assert_eq!(
        tag_one(&mut http, tag("aws:owner", "x")),
        "Tag Key cannot be prefixed with aws:, Key: aws:owner"
    );
    let long_key = "k".repeat(129);
    assert_eq!(
        tag_one(&mut http, tag(&long_key, "x")),
        format!("The Tag Key provided is invalid, Key: {long_key}")
    );
    let long_value = "v".repeat(257);
    assert_eq!(
        tag_one(&mut http, tag("k", &long_value)),
        format!("The Tag Value provided is invalid, Value: {long_value}")
    );
    // The limits themselves are allowed.
    http.ok(
        "TagResource",
        json!({"ResourceArn": table, "Tags": [tag(&"k".repeat(128), &"v".repeat(256)), tag("empty", "")]}),
    );
    assert_eq!(
        invalid(
            &mut http,
            "TagResource",
            json!({"ResourceArn": table, "Tags": []})
        ),
        "Atleast one Tag needs to be provided as Input."
    );
    // 50 tags per table: two are set, 48 more fit, 49 do not.
    let more = |n: usize| {
        (0..n)
            .map(|i| tag(&format!("t{i}"), "v"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        invalid(
            &mut http,
            "TagResource",
            json!({"ResourceArn": table, "Tags": more(49)})
        ),
        "Number of Tags exceed the current limit for the provided ResourceArn"
    );
    http.ok(
        "TagResource",
        json!({"ResourceArn": table, "Tags": more(48)}),
    );
    assert_eq!(tags(&mut http, &table).as_array().unwrap().len(), 50);
    assert_eq!(
        invalid(
            &mut http,
            "ListTagsOfResource",
            json!({"ResourceArn": "a:b:c:d:e:f/g"})
        ),
        "Invalid TableArn: Invalid ResourceArn provided as input a:b:c:d:e:f/g"
    );
    let unknown = table.replace("Checked", "Missing");
    let missing = http.call("ListTagsOfResource", json!({"ResourceArn": unknown}));
    assert_eq!(
        missing.error_type(),
        "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"
    );
    assert_eq!(
        missing.message(),
        format!("Requested resource not found: ResourcArn: {unknown} not found")
    );
}
