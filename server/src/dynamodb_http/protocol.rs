//! One HTTP exchange of DynamoDB's JSON 1.0 protocol: the operation from `X-Amz-Target`,
//! the JSON body, authentication, then the reply with DynamoDB's headers
//! (`x-amzn-RequestId`, `x-amz-crc32` over the bytes sent, gzip when the client accepts it).

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE};
use hyper::http::request::Parts;
use hyper::{Method, Request, Response, StatusCode};
use rand::distr::{Alphanumeric, SampleString};
use serde_json::{json, Value as Json};

use super::errors::{self, serialization, unknown_operation};
use super::operations::{self, Operation, Req};
use super::{auth, streams};
use crate::cmd::shared::Server;
use crate::engine::Locks;
use crate::tables::DdbError;

/// DynamoDB's request size limit.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// Replies shorter than this are sent uncompressed even to gzip clients (not worth it).
const GZIP_MIN: usize = 1024;
const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
const JSON_1_0: &str = "application/x-amz-json-1.0";

/// What `X-Amz-Target` asks for.
#[derive(Clone, Copy)]
enum Target {
    Table(&'static Operation),
    Stream(&'static str),
    DescribeEndpoints,
}

impl Target {
    fn parse(headers: &HeaderMap) -> Option<Target> {
        let target = headers.get("x-amz-target")?.to_str().ok()?;
        let (service, operation) = target.split_once('.')?;
        match service {
            "DynamoDB_20120810" if operation == "DescribeEndpoints" => {
                Some(Target::DescribeEndpoints)
            }
            "DynamoDB_20120810" => operations::find(operation).map(Target::Table),
            "DynamoDBStreams_20120810" => streams::OPERATIONS
                .iter()
                .copied()
                .find(|op| *op == operation)
                .map(Target::Stream),
            _ => None,
        }
    }

    /// The operation's name, the label of its metrics.
    fn name(self) -> &'static str {
        match self {
            Target::Table(op) => op.name,
            Target::Stream(name) => name,
            Target::DescribeEndpoints => "DescribeEndpoints",
        }
    }
}

pub async fn handle(server: Arc<Server>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    if parts.method == Method::GET {
        // DynamoDB answers a plain GET with a health line (load balancers probe it).
        return Response::new(Full::new(Bytes::from_static(b"healthy: dynamodb.redyn ")));
    }
    let gzip = accepts_gzip(&parts.headers);
    let target = Target::parse(&parts.headers);
    let result = match (Limited::new(body, MAX_BODY).collect().await, target) {
        (Err(_), _) => Err(serialization(
            "The request body is too large or was cut short",
        )),
        (Ok(_), None) => Err(unknown_operation()),
        (Ok(body), Some(target)) => dispatch(&server, &parts, &body.to_bytes(), target).await,
    };
    record_metrics(target.map_or("unknown", Target::name), &result, started);
    respond(result, gzip)
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| coding.trim().split(';').next() == Some("gzip"))
}

async fn dispatch(
    server: &Arc<Server>,
    parts: &Parts,
    body: &[u8],
    target: Target,
) -> Result<Json, DdbError> {
    let user = auth::authenticate(&server.acl, parts, body)?;
    let req = parse_body(body)?;
    match target {
        Target::Table(op) => {
            operations::authorize_request(&server.acl, &user, op, &req)?;
            run_table_operation(server, op, req).await
        }
        Target::Stream(name) => {
            let (command, keys) = match streams::table_of_request(&req) {
                Some(table) => ("xrange", vec![format!("__stream__:{table}")]),
                None => ("ddb.listtables", Vec::new()),
            };
            operations::authorize(&server.acl, &user, name, command, &keys, false)?;
            streams::run(server, name, &req)
        }
        Target::DescribeEndpoints => {
            let host = parts
                .headers
                .get("host")
                .and_then(|h| h.to_str().ok())
                .unwrap_or_default();
            Ok(json!({"Endpoints": [{"Address": host, "CachePeriodInMinutes": 1440}]}))
        }
    }
}

fn parse_body(body: &[u8]) -> Result<Req, DdbError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Req::new());
    }
    match serde_json::from_slice::<Json>(body) {
        Ok(Json::Object(map)) => Ok(map),
        Ok(_) => Err(serialization(
            "Start of structure or map found where not expected.",
        )),
        Err(e) => Err(serialization(format!(
            "Could not parse the request body: {e}"
        ))),
    }
}

/// Runs a table operation like its DDB.* command: on the blocking pool when the command is
/// offloaded, otherwise in place.
async fn run_table_operation(
    server: &Arc<Server>,
    op: &'static Operation,
    req: Req,
) -> Result<Json, DdbError> {
    if !op.blocking {
        return (op.run)(&server.tables, Locks::Take, &req);
    }
    let server = server.clone();
    tokio::task::spawn_blocking(move || (op.run)(&server.tables, Locks::Take, &req))
        .await
        .unwrap_or_else(|e| Err(DdbError::internal(format!("operation failed: {e}"))))
}

fn record_metrics(operation: &'static str, result: &Result<Json, DdbError>, started: Instant) {
    metrics::counter!("redyn_dynamodb_requests_total", "operation" => operation).increment(1);
    if let Err(e) = result {
        metrics::counter!("redyn_dynamodb_errors_total", "operation" => operation, "error" => e.kind)
            .increment(1);
    }
    metrics::histogram!("redyn_dynamodb_request_duration_seconds", "operation" => operation)
        .record(started.elapsed().as_secs_f64());
}

fn respond(result: Result<Json, DdbError>, gzip: bool) -> Response<Full<Bytes>> {
    let (status, body) = match result {
        Ok(body) => (StatusCode::OK, body),
        Err(e) => errors::render(&e),
    };
    let mut bytes = serde_json::to_vec(&body).expect("JSON values always serialise");
    let mut response = Response::builder()
        .status(status)
        .header(CONTENT_TYPE, JSON_1_0)
        .header("x-amzn-RequestId", request_id());
    if gzip && bytes.len() >= GZIP_MIN {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        if encoder.write_all(&bytes).is_ok() {
            if let Ok(compressed) = encoder.finish() {
                bytes = compressed;
                response = response.header(CONTENT_ENCODING, "gzip");
            }
        }
    }
    // DynamoDB's checksum covers the bytes on the wire (compressed ones when gzipped).
    let crc = HeaderValue::from(CRC32.checksum(&bytes));
    response
        .header("x-amz-crc32", crc)
        .body(Full::new(Bytes::from(bytes)))
        .expect("static headers are valid")
}

/// A request id shaped like DynamoDB's (52 upper-case letters and digits).
fn request_id() -> String {
    Alphanumeric
        .sample_string(&mut rand::rng(), 52)
        .to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_detected_among_codings() {
        let mut headers = HeaderMap::new();
        assert!(!accepts_gzip(&headers));
        headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        assert!(!accepts_gzip(&headers));
        headers.insert(
            ACCEPT_ENCODING,
            HeaderValue::from_static("deflate, gzip;q=1.0"),
        );
        assert!(accepts_gzip(&headers));
    }

    #[test]
    fn bodies_must_be_json_objects() {
        assert!(parse_body(b"").unwrap().is_empty());
        assert_eq!(
            parse_body(b"[1]").unwrap_err().kind,
            "SerializationException"
        );
        assert_eq!(parse_body(b"{").unwrap_err().kind, "SerializationException");
        assert_eq!(parse_body(br#"{"A":1}"#).unwrap()["A"], 1);
    }

    #[test]
    fn crc32_is_the_iso_hdlc_checksum() {
        // The standard check value of CRC-32 (what zlib.crc32 and the SDKs compute).
        assert_eq!(CRC32.checksum(b"123456789"), 0xCBF4_3926);
    }
}
