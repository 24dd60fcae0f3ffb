//! DynamoDB's HTTP API (`--dynamodb-port`): the JSON 1.0 protocol over the same tables as
//! the DDB.* commands, DynamoDB's error shapes, DynamoDB Streams over the change logs, and
//! SigV4 verification when a password is set. A minimal HTTP/1.1 client keeps the requests
//! and replies visible byte for byte.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Value as Json};
use sha2::{Digest, Sha256};

use crate::harness::{ddb, q, TestServer};

/// A keep-alive HTTP connection to the DynamoDB port.
pub struct Http {
    reader: BufReader<TcpStream>,
    host: String,
    /// (access key, secret) to sign with; `None` sends no Authorization header.
    pub credentials: Option<(String, String)>,
    /// Seconds added to the clock for `X-Amz-Date` (to send stale or future requests).
    pub clock_offset: i64,
}

pub struct Reply {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub raw: Vec<u8>,
    pub body: Json,
}

impl Reply {
    pub fn error_type(&self) -> &str {
        self.body["__type"].as_str().unwrap_or_default()
    }

    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }
}

/// `X-Amz-Date` for now plus `offset` seconds.
fn amz_date_now(offset: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    redyn_server::tables::iso_time::amz_date(now + offset)
}

pub fn start(extra: &[&str]) -> (TestServer, u16) {
    let mut args = vec!["--dynamodb-port", "0"];
    args.extend_from_slice(extra);
    let server = TestServer::start_with(&args);
    let mut con = server.client();
    if extra.contains(&"--requirepass") {
        let _: () = q(&mut con, &["AUTH", "secret"]);
    }
    let reply: Vec<String> = q(&mut con, &["CONFIG", "GET", "dynamodb-port"]);
    let port: u16 = reply[1].parse().expect("a port");
    assert_ne!(port, 0, "CONFIG GET reports the bound port");
    (server, port)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

impl Http {
    pub fn connect(port: u16) -> Http {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        Http {
            reader: BufReader::new(stream),
            host: format!("127.0.0.1:{port}"),
            credentials: None,
            clock_offset: 0,
        }
    }

    /// The Authorization header of a SigV4 signature over host, x-amz-date and
    /// x-amz-target, as the SDKs compute it.
    fn authorization(&self, target: &str, body: &str, date: &str) -> Option<String> {
        let (key, secret) = self.credentials.as_ref()?;
        let day = &date[..8];
        let scope = format!("{day}/us-east-1/dynamodb/aws4_request");
        let canonical = format!(
            "POST\n/\n\nhost:{}\nx-amz-date:{date}\nx-amz-target:{target}\n\nhost;x-amz-date;x-amz-target\n{}",
            self.host,
            hex(&Sha256::digest(body.as_bytes()))
        );
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
            hex(&Sha256::digest(canonical.as_bytes()))
        );
        let mut signing = format!("AWS4{secret}").into_bytes();
        for part in scope.split('/') {
            signing = hmac(&signing, part);
        }
        Some(format!(
            "AWS4-HMAC-SHA256 Credential={key}/{scope}, SignedHeaders=host;x-amz-date;x-amz-target, Signature={}",
            hex(&hmac(&signing, &to_sign))
        ))
    }

    pub fn send(&mut self, target: &str, body: &str, extra_headers: &str) -> Reply {
        let date = amz_date_now(self.clock_offset);
        let date = date.as_str();
        let auth = self
            .authorization(target, body, date)
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "POST / HTTP/1.1\r\nHost: {}\r\nX-Amz-Date: {date}\r\nX-Amz-Target: {target}\r\nContent-Type: application/x-amz-json-1.0\r\n{auth}{extra_headers}Content-Length: {}\r\n\r\n{body}",
            self.host,
            body.len()
        );
        self.reader.get_mut().write_all(request.as_bytes()).unwrap();
        self.read_reply()
    }

    fn read_reply(&mut self) -> Reply {
        let mut status_line = String::new();
        self.reader.read_line(&mut status_line).unwrap();
        let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut headers = HashMap::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            headers.insert(name.to_ascii_lowercase(), value.trim().to_string());
        }
        let len: usize = headers["content-length"].parse().unwrap();
        let mut raw = vec![0; len];
        self.reader.read_exact(&mut raw).unwrap();
        let text = if headers.get("content-encoding").map(String::as_str) == Some("gzip") {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&raw[..])
                .read_to_end(&mut out)
                .unwrap();
            out
        } else {
            raw.clone()
        };
        let body = serde_json::from_slice(&text).unwrap_or(Json::Null);
        Reply {
            status,
            headers,
            raw,
            body,
        }
    }

    pub fn call(&mut self, op: &str, body: Json) -> Reply {
        self.send(&format!("DynamoDB_20120810.{op}"), &body.to_string(), "")
    }

    /// An operation that must succeed.
    pub fn ok(&mut self, op: &str, body: Json) -> Json {
        let reply = self.call(op, body);
        assert_eq!(reply.status, 200, "{op}: {}", reply.body);
        reply.body
    }

    pub fn streams(&mut self, op: &str, body: Json) -> Json {
        let reply = self.send(
            &format!("DynamoDBStreams_20120810.{op}"),
            &body.to_string(),
            "",
        );
        assert_eq!(reply.status, 200, "{op}: {}", reply.body);
        reply.body
    }
}

pub fn create_table(http: &mut Http, name: &str, stream: bool) {
    let mut body = json!({"TableName": name,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}],
        "BillingMode": "PAY_PER_REQUEST"});
    if stream {
        body["StreamSpecification"] =
            json!({"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"});
    }
    http.ok("CreateTable", body);
}

fn crc32(bytes: &[u8]) -> u32 {
    crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(bytes)
}

#[test]
fn http_and_resp_share_the_same_items() {
    let (server, port) = start(&[]);
    let mut http = Http::connect(port);
    let mut con = server.client();
    create_table(&mut http, "Users", false);
    let put = http.call(
        "PutItem",
        json!({"TableName": "Users", "Item": {"pk": {"S": "u1"}, "sk": {"N": "1"}, "name": {"S": "Ada"}}}),
    );
    assert_eq!(put.status, 200);
    assert_eq!(put.body, json!({}));
    assert_eq!(put.headers["content-type"], "application/x-amz-json-1.0");
    assert_eq!(put.headers["x-amzn-requestid"].len(), 52);
    assert_eq!(put.headers["x-amz-crc32"], crc32(&put.raw).to_string());
    let over_resp = ddb(
        &mut con,
        "GETITEM",
        json!({"TableName": "Users", "Key": {"pk": {"S": "u1"}, "sk": {"N": "1"}}}),
    );
    assert_eq!(over_resp["Item"]["name"], json!({"S": "Ada"}));
    ddb(
        &mut con,
        "PUTITEM",
        json!({"TableName": "Users", "Item": {"pk": {"S": "u1"}, "sk": {"N": "2"}, "name": {"S": "Bob"}}}),
    );
    // The same keep-alive connection serves every request.
    let query = http.ok(
        "Query",
        json!({"TableName": "Users", "KeyConditionExpression": "pk = :p",
               "ExpressionAttributeValues": {":p": {"S": "u1"}}}),
    );
    assert_eq!(query["Count"], 2);
    assert_eq!(query["Items"][1]["name"], json!({"S": "Bob"}));
    let updated = http.ok(
        "UpdateItem",
        json!({"TableName": "Users", "Key": {"pk": {"S": "u1"}, "sk": {"N": "2"}},
               "UpdateExpression": "SET visits = :one", "ExpressionAttributeValues": {":one": {"N": "1"}},
               "ReturnValues": "ALL_NEW"}),
    );
    assert_eq!(updated["Attributes"]["visits"], json!({"N": "1"}));
    let tables = http.ok("ListTables", json!({}));
    assert_eq!(tables["TableNames"], json!(["Users"]));
    let described = http.ok("DescribeTable", json!({"TableName": "Users"}));
    assert_eq!(described["Table"]["ItemCount"], 2);
    let backups = http.ok("DescribeContinuousBackups", json!({"TableName": "Users"}));
    assert_eq!(
        backups["ContinuousBackupsDescription"]["ContinuousBackupsStatus"],
        "DISABLED"
    );
    http.ok("DeleteTable", json!({"TableName": "Users"}));
    let listed: String = q(&mut con, &["DDB.LISTTABLES", "{}"]);
    assert_eq!(listed, r#"{"TableNames":[]}"#);
}

#[test]
fn large_replies_are_gzipped_when_asked_and_the_crc_covers_the_wire_bytes() {
    let (_server, port) = start(&[]);
    let mut http = Http::connect(port);
    create_table(&mut http, "Big", false);
    for i in 0..40 {
        http.ok(
            "PutItem",
            json!({"TableName": "Big", "Item": {"pk": {"S": "p"}, "sk": {"N": i.to_string()}, "pad": {"S": "x".repeat(100)}}}),
        );
    }
    let scan = r#"{"TableName":"Big"}"#;
    let reply = http.send("DynamoDB_20120810.Scan", scan, "Accept-Encoding: gzip\r\n");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["content-encoding"], "gzip");
    assert_eq!(reply.body["Count"], 40);
    assert_eq!(reply.headers["x-amz-crc32"], crc32(&reply.raw).to_string());
    let plain = http.send("DynamoDB_20120810.Scan", scan, "");
    assert!(!plain.headers.contains_key("content-encoding"));
    assert_eq!(plain.body, reply.body);
}

#[test]
fn errors_have_dynamodb_types_and_members() {
    let (_server, port) = start(&[]);
    let mut http = Http::connect(port);
    let unknown = http.send("DynamoDB_20120810.RestoreTableFromBackup", "{}", "");
    assert_eq!(unknown.status, 400);
    assert_eq!(
        unknown.error_type(),
        "com.amazon.coral.service#UnknownOperationException"
    );
    let garbage = http.send("DynamoDB_20120810.ListTables", "{not json", "");
    assert_eq!(
        garbage.error_type(),
        "com.amazon.coral.service#SerializationException"
    );
    let missing = http.call(
        "GetItem",
        json!({"TableName": "Nope", "Key": {"pk": {"S": "a"}}}),
    );
    assert_eq!(missing.status, 400);
    assert_eq!(
        missing.error_type(),
        "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"
    );
    create_table(&mut http, "Tbl", false);
    let again = http.call(
        "CreateTable",
        json!({"TableName": "Tbl", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
               "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]}),
    );
    assert!(again.error_type().ends_with("#ResourceInUseException"));
    let gsi = http.call(
        "CreateTable",
        json!({"TableName": "Gsi", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
               "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
               "GlobalSecondaryIndexes": [{"IndexName": "i", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                                           "Projection": {"ProjectionType": "ALL"}}]}),
    );
    assert_eq!(
        gsi.error_type(),
        "com.amazon.coral.validate#ValidationException"
    );
    assert!(gsi.body["message"]
        .as_str()
        .unwrap()
        .contains("GlobalSecondaryIndexes are not supported"));
    let item = json!({"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"N": "5"}});
    http.ok("PutItem", json!({"TableName": "Tbl", "Item": item}));
    let failed = http.call(
        "PutItem",
        json!({"TableName": "Tbl", "Item": item, "ConditionExpression": "attribute_not_exists(pk)",
               "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}),
    );
    assert_eq!(failed.status, 400);
    assert_eq!(
        failed.error_type(),
        "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"
    );
    assert_eq!(failed.body["message"], "The conditional request failed");
    assert_eq!(failed.body["Item"], item);
    let cancelled = http.call(
        "TransactWriteItems",
        json!({"TransactItems": [
            {"Put": {"TableName": "Tbl", "Item": {"pk": {"S": "b"}, "sk": {"N": "1"}}}},
            {"ConditionCheck": {"TableName": "Tbl", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}},
                                "ConditionExpression": "v = :six", "ExpressionAttributeValues": {":six": {"N": "6"}}}}]}),
    );
    assert_eq!(
        cancelled.error_type(),
        "com.amazonaws.dynamodb.v20120810#TransactionCanceledException"
    );
    assert_eq!(
        cancelled.body["CancellationReasons"],
        json!([{"Code": "None"}, {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}])
    );
    assert!(cancelled.body["Message"]
        .as_str()
        .unwrap()
        .contains("[None, ConditionalCheckFailed]"));
    // Nothing of the cancelled transaction was written.
    let b = http.ok(
        "GetItem",
        json!({"TableName": "Tbl", "Key": {"pk": {"S": "b"}, "sk": {"N": "1"}}}),
    );
    assert_eq!(b, json!({}));
}

#[test]
fn update_table_switches_the_stream_and_dynamodb_streams_reads_the_change_log() {
    let (server, port) = start(&[]);
    let mut http = Http::connect(port);
    let mut con = server.client();
    create_table(&mut http, "Orders", false);
    assert_eq!(http.streams("ListStreams", json!({}))["Streams"], json!([]));
    let updated = http.ok(
        "UpdateTable",
        json!({"TableName": "Orders", "BillingMode": "PAY_PER_REQUEST",
               "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"}}),
    );
    let arn = updated["TableDescription"]["LatestStreamArn"]
        .as_str()
        .expect("a stream ARN")
        .to_string();
    for i in 1..=2 {
        http.ok(
            "PutItem",
            json!({"TableName": "Orders", "Item": {"pk": {"S": "o"}, "sk": {"N": i.to_string()}}}),
        );
    }
    // A write over RESP lands in the same stream.
    ddb(
        &mut con,
        "PUTITEM",
        json!({"TableName": "Orders", "Item": {"pk": {"S": "o"}, "sk": {"N": "3"}}}),
    );
    let streams = http.streams("ListStreams", json!({"TableName": "Orders"}));
    assert_eq!(streams["Streams"][0]["StreamArn"], arn);
    let description = http.streams("DescribeStream", json!({"StreamArn": arn}));
    let stream = &description["StreamDescription"];
    assert_eq!(stream["StreamStatus"], "ENABLED");
    assert_eq!(stream["StreamViewType"], "NEW_AND_OLD_IMAGES");
    let shard = stream["Shards"][0]["ShardId"].as_str().unwrap().to_string();
    let iterator = |http: &mut Http, kind: &str, seq: Option<&str>| -> String {
        let mut body = json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": kind});
        if let Some(seq) = seq {
            body["SequenceNumber"] = json!(seq);
        }
        http.streams("GetShardIterator", body)["ShardIterator"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let from_start = iterator(&mut http, "TRIM_HORIZON", None);
    let page = http.streams("GetRecords", json!({"ShardIterator": from_start}));
    let records = page["Records"].as_array().unwrap();
    assert_eq!(records.len(), 3);
    assert_eq!(records[0]["eventName"], "INSERT");
    assert_eq!(records[2]["dynamodb"]["Keys"]["sk"], json!({"N": "3"}));
    let first_seq = records[0]["dynamodb"]["SequenceNumber"]
        .as_str()
        .unwrap()
        .to_string();
    let after = iterator(&mut http, "AFTER_SEQUENCE_NUMBER", Some(&first_seq));
    let rest = http.streams("GetRecords", json!({"ShardIterator": after}));
    assert_eq!(rest["Records"].as_array().unwrap().len(), 2);
    let at = iterator(&mut http, "AT_SEQUENCE_NUMBER", Some(&first_seq));
    let one = http.streams("GetRecords", json!({"ShardIterator": at, "Limit": 1}));
    assert_eq!(one["Records"][0]["dynamodb"]["SequenceNumber"], first_seq);
    // The next iterator of a drained shard returns nothing until a new change arrives.
    let latest = iterator(&mut http, "LATEST", None);
    let empty = http.streams("GetRecords", json!({"ShardIterator": latest}));
    assert_eq!(empty["Records"], json!([]));
    http.ok(
        "DeleteItem",
        json!({"TableName": "Orders", "Key": {"pk": {"S": "o"}, "sk": {"N": "1"}}}),
    );
    let next = empty["NextShardIterator"].as_str().unwrap();
    let removed = http.streams("GetRecords", json!({"ShardIterator": next}));
    assert_eq!(removed["Records"][0]["eventName"], "REMOVE");
    // Turning the stream off keeps it describable, as DISABLED.
    http.ok(
        "UpdateTable",
        json!({"TableName": "Orders", "StreamSpecification": {"StreamEnabled": false}}),
    );
    let off = http.streams("DescribeStream", json!({"StreamArn": arn}));
    assert_eq!(off["StreamDescription"]["StreamStatus"], "DISABLED");
    let bad = http.send(
        "DynamoDBStreams_20120810.DescribeStream",
        &json!({"StreamArn": format!("{arn}0")}).to_string(),
        "",
    );
    assert!(bad.error_type().ends_with("#ResourceNotFoundException"));
}

#[test]
fn signatures_are_verified_when_a_password_is_set() {
    let (server, port) = start(&["--requirepass", "secret"]);
    let mut unsigned = Http::connect(port);
    let refused = unsigned.call("ListTables", json!({}));
    assert_eq!(refused.status, 400);
    assert!(refused
        .error_type()
        .ends_with("#MissingAuthenticationTokenException"));
    let mut default = Http::connect(port);
    default.credentials = Some(("default".into(), "secret".into()));
    create_table(&mut default, "Allowed1", false);
    create_table(&mut default, "Other", false);
    let mut wrong = Http::connect(port);
    wrong.credentials = Some(("default".into(), "not-the-password".into()));
    let bad = wrong.call("ListTables", json!({}));
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.error_type(),
        "com.amazon.coral.service#InvalidSignatureException"
    );
    let mut stranger = Http::connect(port);
    stranger.credentials = Some(("mallory".into(), "secret".into()));
    let unknown = stranger.call("ListTables", json!({}));
    assert_eq!(
        unknown.error_type(),
        "com.amazon.coral.service#UnrecognizedClientException"
    );
    // An ACL user signs with its own password and gets its own permissions: the table
    // names are the keys its patterns must allow.
    let mut con = server.client();
    let _: () = q(&mut con, &["AUTH", "secret"]);
    let _: () = q(
        &mut con,
        &[
            "ACL",
            "SETUSER",
            "alice",
            "on",
            ">alicepw",
            "~Allowed*",
            "+@all",
        ],
    );
    let mut alice = Http::connect(port);
    alice.credentials = Some(("alice".into(), "alicepw".into()));
    alice.ok(
        "PutItem",
        json!({"TableName": "Allowed1", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}}),
    );
    let denied = alice.call(
        "PutItem",
        json!({"TableName": "Other", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}}),
    );
    assert_eq!(denied.status, 400);
    assert_eq!(
        denied.error_type(),
        "com.amazon.coral.service#AccessDeniedException"
    );
    let other = default.ok("Scan", json!({"TableName": "Other"}));
    assert_eq!(other["Count"], 0);
}

#[test]
fn the_api_is_off_when_asked_and_config_get_says_so() {
    let server = TestServer::start_with(&["--dynamodb-port", "off"]);
    let mut con = server.client();
    let reply: Vec<String> = q(&mut con, &["CONFIG", "GET", "dynamodb-port"]);
    assert_eq!(reply, ["dynamodb-port", "off"]);
}

#[test]
fn signed_requests_older_or_newer_than_fifteen_minutes_are_refused() {
    let (_server, port) = start(&["--requirepass", "secret"]);
    let mut http = Http::connect(port);
    http.credentials = Some(("default".into(), "secret".into()));
    http.clock_offset = -10 * 60;
    http.ok("ListTables", json!({}));
    http.clock_offset = -20 * 60;
    let stale = http.call("ListTables", json!({}));
    assert_eq!(stale.status, 400);
    assert_eq!(
        stale.error_type(),
        "com.amazon.coral.service#InvalidSignatureException"
    );
    assert!(
        stale.message().starts_with("Signature expired: ")
            && stale.message().contains(" is now earlier than ")
            && stale.message().ends_with(" - 15 min.)"),
        "{}",
        stale.message()
    );
    http.clock_offset = 20 * 60;
    let early = http.call("ListTables", json!({}));
    assert_eq!(
        early.error_type(),
        "com.amazon.coral.service#InvalidSignatureException"
    );
    assert!(
        early.message().starts_with("Signature not yet current: ")
            && early.message().contains(" is still later than "),
        "{}",
        early.message()
    );
    http.clock_offset = 0;
    http.ok("ListTables", json!({}));
}

#[test]
fn stream_labels_are_iso_times_and_stale_or_trimmed_iterators_are_refused() {
    // Records older than two seconds are trimmed by the 10-second retention task.
    let (_server, port) = start(&["--changelog-retention", "2"]);
    let mut http = Http::connect(port);
    create_table(&mut http, "Events", true);
    let table = http.ok("DescribeTable", json!({"TableName": "Events"}))["Table"].clone();
    let label = table["LatestStreamLabel"].as_str().unwrap().to_string();
    let shape = label.len() == 23
        && label.char_indices().all(|(i, c)| match i {
            4 | 7 => c == '-',
            10 => c == 'T',
            13 | 16 => c == ':',
            19 => c == '.',
            _ => c.is_ascii_digit(),
        });
    assert!(shape, "not an ISO-8601 label: {label}");
    let arn = table["LatestStreamArn"].as_str().unwrap().to_string();
    assert!(arn.ends_with(&format!("/stream/{label}")));
    let description = http.streams("DescribeStream", json!({"StreamArn": arn}));
    assert_eq!(description["StreamDescription"]["StreamLabel"], label);
    let shard = description["StreamDescription"]["Shards"][0]["ShardId"]
        .as_str()
        .unwrap()
        .to_string();
    let put = |http: &mut Http, sk: u32| {
        http.ok(
            "PutItem",
            json!({"TableName": "Events", "Item": {"pk": {"S": "e"}, "sk": {"N": sk.to_string()}}}),
        );
    };
    put(&mut http, 1);
    let horizon = json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"});
    let first = http.streams("GetShardIterator", horizon.clone())["ShardIterator"]
        .as_str()
        .unwrap()
        .to_string();
    let records = http.streams("GetRecords", json!({"ShardIterator": first}));
    let seq = records["Records"][0]["dynamodb"]["SequenceNumber"]
        .as_str()
        .unwrap()
        .to_string();
    // An iterator issued more than 15 minutes ago has expired (its last part is the
    // issue time in milliseconds).
    let (head, issued) = first.rsplit_once('|').unwrap();
    let old = issued.parse::<u64>().unwrap() - 16 * 60 * 1000;
    let expired = http.send(
        "DynamoDBStreams_20120810.GetRecords",
        &json!({"ShardIterator": format!("{head}|{old}")}).to_string(),
        "",
    );
    assert_eq!(expired.status, 400);
    assert!(
        expired.error_type().ends_with("#ExpiredIteratorException"),
        "{}",
        expired.body
    );
    // Once retention has trimmed the record, reading from before it is refused.
    let trimmed = |http: &mut Http| {
        let reply = http.send(
            "DynamoDBStreams_20120810.GetRecords",
            &json!({"ShardIterator": first}).to_string(),
            "",
        );
        reply.error_type().ends_with("#TrimmedDataAccessException")
    };
    assert!(crate::harness::eventually(30, || trimmed(&mut http)));
    let at = http.send(
        "DynamoDBStreams_20120810.GetShardIterator",
        &json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "AT_SEQUENCE_NUMBER", "SequenceNumber": seq})
            .to_string(),
        "",
    );
    assert!(at.error_type().ends_with("#TrimmedDataAccessException"));
    // TRIM_HORIZON now starts past the trimmed record and reads what came after it.
    put(&mut http, 2);
    let fresh = http.streams("GetShardIterator", horizon)["ShardIterator"]
        .as_str()
        .unwrap()
        .to_string();
    let after = http.streams("GetRecords", json!({"ShardIterator": fresh}));
    let keys: Vec<&Json> = after["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["dynamodb"]["Keys"]["sk"])
        .collect();
    assert!(!keys.contains(&&json!({"N": "1"})), "{keys:?}");
}
