//! DynamoDB's error replies: HTTP 400 (500 for internal errors, which SDKs retry) with a
//! JSON body `{"__type": "<namespace>#<Exception>", "message": "…"}` plus the extra
//! members some exceptions carry (`Item`, `CancellationReasons`).

use hyper::StatusCode;
use serde_json::{json, Value as Json};

use crate::tables::DdbError;

/// Exceptions DynamoDB reports from its service framework rather than its own model.
const CORAL_SERVICE: &[&str] = &[
    "SerializationException",
    "UnknownOperationException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "IncompleteSignatureException",
    "MissingAuthenticationTokenException",
    "AccessDeniedException",
];

/// The `__type` DynamoDB sends for `kind` (SDKs match the part after `#`).
pub fn type_name(kind: &str) -> String {
    let namespace = if kind == "ValidationException" {
        "com.amazon.coral.validate"
    } else if CORAL_SERVICE.contains(&kind) {
        "com.amazon.coral.service"
    } else {
        "com.amazonaws.dynamodb.v20120810"
    };
    format!("{namespace}#{kind}")
}

/// The status and body of an error reply.
pub fn render(error: &DdbError) -> (StatusCode, Json) {
    let status = match error.kind {
        "InternalServerError" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    // TransactionCanceledException spells its message member with a capital M.
    let message_key = match error.kind {
        "TransactionCanceledException" => "Message",
        _ => "message",
    };
    let mut body = json!({ "__type": type_name(error.kind) });
    body[message_key] = json!(error.message);
    if let Some(detail) = &error.detail {
        for (name, value) in detail {
            body[name] = value.clone();
        }
    }
    (status, body)
}

pub fn error(kind: &'static str, message: impl Into<String>) -> DdbError {
    DdbError {
        kind,
        message: message.into(),
        detail: None,
    }
}

pub fn unknown_operation() -> DdbError {
    error("UnknownOperationException", "")
}

pub fn serialization(message: impl Into<String>) -> DdbError {
    error("SerializationException", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_statuses_follow_dynamodb() {
        let (status, body) = render(&DdbError::validation("bad"));
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body,
            json!({"__type": "com.amazon.coral.validate#ValidationException", "message": "bad"})
        );
        let (_, body) = render(&DdbError::conditional_failed().with_detail("Item", json!({})));
        assert_eq!(
            body["__type"],
            "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"
        );
        assert_eq!(body["Item"], json!({}));
        let (status, _) = render(&DdbError::internal("disk"));
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            type_name("UnknownOperationException"),
            "com.amazon.coral.service#UnknownOperationException"
        );
    }
}
