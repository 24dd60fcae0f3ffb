//! DynamoDB API benchmark: PutItem, GetItem and Query (10 items) with N concurrent
//! keep-alive clients, over DynamoDB's HTTP protocol (redyn's `--dynamodb-port`, or any
//! DynamoDB-compatible endpoint such as moto_server) or over RESP (DDB.* commands).
//! bench/dynamodb.sh runs it; every client is a plain socket, so both front ends pay the
//! same client cost.
//!
//!     dynamodb_bench <http|resp> <host:port> [clients] [requests per phase]

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Http,
    Resp,
}

struct Client {
    mode: Mode,
    host: String,
    conn: BufReader<TcpStream>,
    /// The server closes the connection after each reply (moto_server's development
    /// server cannot keep connections alive): reconnect before the next request.
    closed: bool,
}

impl Client {
    async fn connect(mode: Mode, host: &str) -> Client {
        let stream = TcpStream::connect(host).await.expect("connect");
        stream.set_nodelay(true).unwrap();
        Client {
            mode,
            host: host.to_string(),
            conn: BufReader::new(stream),
            closed: false,
        }
    }

    /// Runs one operation; returns the reply body (panics on an error reply).
    async fn call(&mut self, op: &str, body: &Json) -> Json {
        if self.closed {
            *self = Client::connect(self.mode, &self.host).await;
        }
        let body = body.to_string();
        let request = match self.mode {
            Mode::Http => format!(
                "POST / HTTP/1.1\r\nHost: {}\r\nX-Amz-Target: DynamoDB_20120810.{op}\r\nContent-Type: application/x-amz-json-1.0\r\nAuthorization: AWS4-HMAC-SHA256 Credential=bench/20261129/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00\r\nContent-Length: {}\r\n\r\n{body}",
                self.host,
                body.len()
            ),
            Mode::Resp => {
                let cmd = format!("DDB.{}", op.to_ascii_uppercase());
                format!(
                    "*2\r\n${}\r\n{cmd}\r\n${}\r\n{body}\r\n",
                    cmd.len(),
                    body.len()
                )
            }
        };
        self.conn
            .get_mut()
            .write_all(request.as_bytes())
            .await
            .unwrap();
        let reply = match self.mode {
            Mode::Http => self.read_http().await,
            Mode::Resp => self.read_resp().await,
        };
        serde_json::from_slice(&reply).unwrap_or(Json::Null)
    }

    async fn read_http(&mut self) -> Vec<u8> {
        let mut len = 0;
        let mut status = String::new();
        self.conn.read_line(&mut status).await.unwrap();
        assert!(status.contains(" 200 "), "{}", status.trim());
        loop {
            let mut line = String::new();
            self.conn.read_line(&mut line).await.unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    len = value.trim().parse().unwrap();
                }
                if name.eq_ignore_ascii_case("connection") && value.trim() == "close" {
                    self.closed = true;
                }
            }
        }
        let mut body = vec![0; len];
        self.conn.read_exact(&mut body).await.unwrap();
        body
    }

    async fn read_resp(&mut self) -> Vec<u8> {
        let mut header = String::new();
        self.conn.read_line(&mut header).await.unwrap();
        let len: usize = header
            .strip_prefix('$')
            .unwrap_or_else(|| panic!("error reply: {header}"))
            .trim()
            .parse()
            .unwrap();
        let mut body = vec![0; len + 2];
        self.conn.read_exact(&mut body).await.unwrap();
        body.truncate(len);
        body
    }
}

fn put(i: usize) -> Json {
    json!({"TableName": "Bench", "Item": {"pk": {"S": format!("p{i}")}, "sk": {"N": "0"},
           "name": {"S": "benchmark item"}, "n": {"N": i.to_string()}}})
}

fn get(i: usize) -> Json {
    json!({"TableName": "Bench", "Key": {"pk": {"S": format!("p{i}")}, "sk": {"N": "0"}}})
}

fn query(_: usize) -> Json {
    json!({"TableName": "Bench", "KeyConditionExpression": "pk = :p",
           "ExpressionAttributeValues": {":p": {"S": "q"}}})
}

/// Runs `requests` operations spread over `clients` connections; prints requests/s and
/// latency percentiles.
async fn phase(
    mode: Mode,
    host: &str,
    clients: usize,
    requests: usize,
    op: &'static str,
    body: fn(usize) -> Json,
) {
    let per_client = requests / clients;
    let started = Instant::now();
    let host = Arc::new(host.to_string());
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let host = host.clone();
            tokio::spawn(async move {
                let mut client = Client::connect(mode, &host).await;
                let mut latencies = Vec::with_capacity(per_client);
                for i in 0..per_client {
                    let request = body(c * per_client + i);
                    let t = Instant::now();
                    client.call(op, &request).await;
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{op:<8} {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms",
        latencies.len() as f64 / elapsed,
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = match args.get(1).map(String::as_str) {
        Some("http") => Mode::Http,
        Some("resp") => Mode::Resp,
        _ => panic!("usage: dynamodb_bench <http|resp> <host:port> [clients] [requests]"),
    };
    let host = args.get(2).expect("host:port").clone();
    let clients: usize = args.get(3).map_or(50, |c| c.parse().unwrap());
    let requests: usize = args.get(4).map_or(50_000, |c| c.parse().unwrap());
    let mut setup = Client::connect(mode, &host).await;
    setup
        .call(
            "CreateTable",
            &json!({"TableName": "Bench", "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}]}),
        )
        .await;
    for sk in 0..10 {
        setup
            .call(
                "PutItem",
                &json!({"TableName": "Bench", "Item": {"pk": {"S": "q"}, "sk": {"N": sk.to_string()}}}),
            )
            .await;
    }
    phase(mode, &host, clients, requests, "PutItem", put).await;
    phase(mode, &host, clients, requests, "GetItem", get).await;
    phase(mode, &host, clients, requests, "Query", query).await;
}
