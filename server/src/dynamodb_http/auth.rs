//! AWS Signature Version 4: the access key id names an ACL user (`default` for
//! requirepass) and the secret access key is one of that user's passwords. Without a
//! password for the default user every request runs as `default`, whatever its signature,
//! as DynamoDB Local accepts any credentials.

use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use hyper::http::request::Parts;
use sha2::{Digest, Sha256};

use super::errors::error;
use crate::acl::{Acl, User};
use crate::engine::now_ms;
use crate::tables::iso_time::{amz_date, parse_amz_date};
use crate::tables::DdbError;

type HmacSha256 = Hmac<Sha256>;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// How far a request's `X-Amz-Date` may be from the server's clock (AWS's window): a
/// captured request cannot be replayed later than this.
const CLOCK_SKEW_SECS: i64 = 15 * 60;

/// The parts of an `Authorization: AWS4-HMAC-SHA256 …` header.
#[derive(Debug, PartialEq)]
pub struct Authorization<'a> {
    pub access_key: &'a str,
    /// `<date>/<region>/<service>/aws4_request`.
    pub scope: &'a str,
    pub signed_headers: Vec<&'a str>,
    pub signature: &'a str,
}

pub fn parse_authorization(header: &str) -> Option<Authorization<'_>> {
    let rest = header.strip_prefix(ALGORITHM)?.trim_start();
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',').map(str::trim) {
        let (name, value) = part.split_once('=')?;
        match name {
            "Credential" => credential = Some(value),
            "SignedHeaders" => signed = Some(value),
            "Signature" => signature = Some(value),
            _ => {}
        }
    }
    let (access_key, scope) = credential?.split_once('/')?;
    Some(Authorization {
        access_key,
        scope,
        signed_headers: signed?.split(';').collect(),
        signature: signature?,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The canonical request of SigV4 (query parameters sorted; DynamoDB uses none).
fn canonical_request(parts: &Parts, auth: &Authorization, body: &[u8]) -> String {
    let mut query: Vec<&str> = parts
        .uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .collect();
    query.sort_unstable();
    let headers: String = auth
        .signed_headers
        .iter()
        .map(|name| {
            let values: Vec<String> = parts
                .headers
                .get_all(*name)
                .iter()
                .map(|v| {
                    String::from_utf8_lossy(v.as_bytes())
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect();
            format!("{name}:{}\n", values.join(","))
        })
        .collect();
    let payload_hash = match parts.headers.get("x-amz-content-sha256") {
        Some(v) => String::from_utf8_lossy(v.as_bytes()).into_owned(),
        None => hex(&Sha256::digest(body)),
    };
    format!(
        "{}\n{}\n{}\n{headers}\n{}\n{payload_hash}",
        parts.method,
        parts.uri.path(),
        query.join("&"),
        auth.signed_headers.join(";"),
    )
}

/// The signature `secret` gives the request.
pub fn signature(secret: &[u8], parts: &Parts, auth: &Authorization, body: &[u8]) -> String {
    let amz_date = parts
        .headers
        .get("x-amz-date")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{}\n{}",
        auth.scope,
        hex(&Sha256::digest(canonical_request(parts, auth, body)))
    );
    let mut key = [b"AWS4".as_slice(), secret].concat();
    for part in auth.scope.split('/') {
        key = hmac(&key, part.as_bytes());
    }
    hex(&hmac(&key, string_to_sign.as_bytes()))
}

/// Whether two signatures are equal, in time independent of where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Refuses a request dated more than 15 minutes from `now` (Unix seconds), with AWS's texts.
pub fn check_date(parts: &Parts, now: i64) -> Result<(), DdbError> {
    let header = parts
        .headers
        .get("x-amz-date")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .ok_or_else(|| {
            error(
                "IncompleteSignatureException",
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
            )
        })?;
    let date = parse_amz_date(&header).ok_or_else(|| {
        error(
            "InvalidSignatureException",
            format!("Date must be in ISO-8601 'basic format'. Got '{header}'. See http://en.wikipedia.org/wiki/ISO_8601"),
        )
    })?;
    let (now_text, earliest, latest) = (
        amz_date(now),
        amz_date(now - CLOCK_SKEW_SECS),
        amz_date(now + CLOCK_SKEW_SECS),
    );
    if date < now - CLOCK_SKEW_SECS {
        return Err(error(
            "InvalidSignatureException",
            format!(
                "Signature expired: {header} is now earlier than {earliest} ({now_text} - 15 min.)"
            ),
        ));
    }
    if date > now + CLOCK_SKEW_SECS {
        return Err(error(
            "InvalidSignatureException",
            format!("Signature not yet current: {header} is still later than {latest} ({now_text} + 15 min.)"),
        ));
    }
    Ok(())
}

/// The user a request runs as, or DynamoDB's authentication error.
pub fn authenticate(acl: &Acl, parts: &Parts, body: &[u8]) -> Result<Arc<User>, DdbError> {
    if !acl.default_requires_auth() {
        return Ok(acl.default_user());
    }
    let header = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            error(
                "MissingAuthenticationTokenException",
                "Request is missing Authentication Token",
            )
        })?;
    let auth = parse_authorization(header).ok_or_else(|| {
        error(
            "IncompleteSignatureException",
            format!("Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. Authorization={header}"),
        )
    })?;
    let user = acl
        .user(auth.access_key)
        .filter(|u| u.enabled)
        .ok_or_else(|| {
            error(
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )
        })?;
    check_date(parts, (now_ms() / 1000) as i64)?;
    let valid = user.nopass
        || user
            .secrets
            .iter()
            .any(|secret| same(&signature(secret, parts, &auth, body), auth.signature));
    if valid {
        Ok(user)
    } else {
        Err(error(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's published SigV4 example (get-vanilla from the test suite), adapted to POST
    /// with an empty body: the same derivation must give the documented signing key.
    #[test]
    fn signing_key_matches_aws_documentation() {
        // From "Examples of how to derive a signing key for Signature Version 4".
        let secret = b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        let mut key = [b"AWS4".as_slice(), secret].concat();
        for part in ["20120215", "us-east-1", "iam", "aws4_request"] {
            key = hmac(&key, part.as_bytes());
        }
        assert_eq!(
            hex(&key),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn parses_the_authorization_header() {
        let header = "AWS4-HMAC-SHA256 Credential=alice/20261129/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=abc";
        let auth = parse_authorization(header).unwrap();
        assert_eq!(auth.access_key, "alice");
        assert_eq!(auth.scope, "20261129/us-east-1/dynamodb/aws4_request");
        assert_eq!(auth.signed_headers, ["host", "x-amz-date", "x-amz-target"]);
        assert_eq!(auth.signature, "abc");
        assert!(parse_authorization("Basic xyz").is_none());
    }

    #[test]
    fn requests_outside_the_fifteen_minute_window_are_refused() {
        let dated = |date: &str| {
            let request = hyper::Request::post("/").header("x-amz-date", date);
            request.body(()).unwrap().into_parts().0
        };
        let now = parse_amz_date("20261129T160000Z").unwrap();
        assert!(check_date(&dated("20261129T154500Z"), now).is_ok());
        assert!(check_date(&dated("20261129T161500Z"), now).is_ok());
        let old = check_date(&dated("20261129T154459Z"), now).unwrap_err();
        assert_eq!(old.kind, "InvalidSignatureException");
        assert_eq!(
            old.message,
            "Signature expired: 20261129T154459Z is now earlier than 20261129T154500Z (20261129T160000Z - 15 min.)"
        );
        let early = check_date(&dated("20261129T161501Z"), now).unwrap_err();
        assert_eq!(
            early.message,
            "Signature not yet current: 20261129T161501Z is still later than 20261129T161500Z (20261129T160000Z + 15 min.)"
        );
        assert!(check_date(&dated("yesterday"), now)
            .unwrap_err()
            .message
            .starts_with("Date must be in ISO-8601"));
        let undated = hyper::Request::post("/").body(()).unwrap().into_parts().0;
        assert_eq!(
            check_date(&undated, now).unwrap_err().kind,
            "IncompleteSignatureException"
        );
    }

    #[test]
    fn signature_depends_on_secret_and_body() {
        let request = hyper::Request::post("/")
            .header("host", "localhost:8000")
            .header("x-amz-date", "20261129T120000Z")
            .body(())
            .unwrap();
        let (parts, _) = request.into_parts();
        let auth = Authorization {
            access_key: "default",
            scope: "20261129/us-east-1/dynamodb/aws4_request",
            signed_headers: vec!["host", "x-amz-date"],
            signature: "",
        };
        let a = signature(b"secret", &parts, &auth, b"{}");
        assert_eq!(a, signature(b"secret", &parts, &auth, b"{}"));
        assert_ne!(a, signature(b"other", &parts, &auth, b"{}"));
        assert_ne!(a, signature(b"secret", &parts, &auth, b"{ }"));
        assert!(same(&a, &a) && !same(&a, "x"));
    }
}
