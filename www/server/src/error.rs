//! The server's one error type. Every handler returns `Result<_, Error>`; the error becomes
//! the response in the shape its API documents: the agent backend's `{"detail", "code"?}`
//! (PROTOCOL.md) or Kaplaix's `{"error": {"code", "message", "details"?}}` (GOVERNANCE.md).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// Which wire shape the error body takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `{"detail": message, "code"?: code}`: the agent backend, `/api/session`, test endpoints.
    Detail,
    /// `{"error": {"code", "message", "details"?}}`: the Kaplaix proxy path.
    Kaplaix,
}

#[derive(Debug)]
pub struct Error {
    pub status: StatusCode,
    pub code: Option<&'static str>,
    pub message: String,
    /// Kaplaix's per-field `{field, message}` validation details.
    pub details: Option<Vec<Value>>,
    pub shape: Shape,
    pub retry_after: Option<HeaderValue>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An agent-backend error: `{"detail": message}`.
    pub fn detail(status: StatusCode, message: impl Into<String>) -> Error {
        Error {
            status,
            code: None,
            message: message.into(),
            details: None,
            shape: Shape::Detail,
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Error {
        Error::detail(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Error {
        Error::detail(StatusCode::NOT_FOUND, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Error {
        Error::detail(StatusCode::UNAUTHORIZED, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Error {
        Error::detail(StatusCode::FORBIDDEN, message)
    }

    /// A storage failure (the cause is not shown to the client).
    pub fn database() -> Error {
        Error::detail(StatusCode::INTERNAL_SERVER_ERROR, "database error")
    }

    /// A Kaplaix error: `{"error": {"code", "message"}}`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Error {
        Error {
            code: Some(code),
            shape: Shape::Kaplaix,
            ..Error::detail(status, message)
        }
    }

    /// Kaplaix's `400 VALIDATION_ERROR` with one `{field, message}` per bad field.
    pub fn validation(details: Vec<Value>) -> Error {
        let n = details.len();
        Error {
            details: Some(details),
            ..Error::new(
                StatusCode::BAD_REQUEST,
                "VALIDATION_ERROR",
                format!(
                    "The request is invalid: {n} field{} failed validation",
                    if n == 1 { "" } else { "s" }
                ),
            )
        }
    }

    /// Kaplaix's `404 NOT_FOUND`.
    pub fn kaplaix_not_found(what: &str) -> Error {
        Error::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("{what} not found"),
        )
    }

    /// Kaplaix's `500 INTERNAL_ERROR` (storage failed).
    pub fn internal() -> Error {
        Error::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "database error",
        )
    }

    /// Adds a machine-readable `code` to an agent-backend error.
    pub fn with_code(mut self, code: &'static str) -> Error {
        self.code = Some(code);
        self
    }

    pub fn with_retry_after(mut self, value: Option<HeaderValue>) -> Error {
        self.retry_after = value;
        self
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
    }
}

impl std::error::Error for Error {}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let body = match self.shape {
            Shape::Detail => {
                let mut b = json!({ "detail": self.message });
                if let Some(c) = self.code {
                    b["code"] = json!(c);
                }
                b
            }
            Shape::Kaplaix => {
                let mut e = json!({ "code": self.code, "message": self.message });
                if let Some(d) = self.details {
                    e["details"] = Value::Array(d);
                }
                json!({ "error": e })
            }
        };
        let mut res = (self.status, axum::Json(body)).into_response();
        if let Some(ra) = self.retry_after {
            res.headers_mut().insert(header::RETRY_AFTER, ra);
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(e: Error) -> (StatusCode, Value) {
        let r = e.into_response();
        let s = r.status();
        let b = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
        (s, serde_json::from_slice(&b).unwrap())
    }

    #[tokio::test]
    async fn both_shapes() {
        let (s, b) = body(Error::forbidden("no").with_code("session_without_owner")).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert_eq!(
            b,
            json!({ "detail": "no", "code": "session_without_owner" })
        );
        let (s, b) = body(Error::validation(vec![
            json!({"field": "x", "message": "bad"}),
        ]))
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(b["error"]["code"], "VALIDATION_ERROR");
        assert_eq!(b["error"]["details"][0]["field"], "x");
        let r = Error::detail(StatusCode::TOO_MANY_REQUESTS, "slow down")
            .with_retry_after(Some(HeaderValue::from_static("2")))
            .into_response();
        assert_eq!(r.headers()[header::RETRY_AFTER], "2");
    }
}
