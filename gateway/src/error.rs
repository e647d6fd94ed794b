//! The gateway's error response: a code from the one table (`tunemesh_runtime::ErrorCode`), its
//! HTTP status, and a JSON body `{"error": {"code": "not_found", "message": "..."}}`.
//!
//! Downstream gRPC errors are classified here, once: client errors keep the service's message,
//! server errors are logged with their detail and leave the gateway with a generic one.

use std::borrow::Cow;
use std::time::Duration;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::header::{HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use serde::Serialize;
use tunemesh_runtime::ErrorCode;

/// The challenge sent with every 401, as RFC 6750 asks of a bearer-token API.
const BEARER_CHALLENGE: &str = "Bearer realm=\"tunemesh\"";

/// An error answered to an HTTP client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    code: ErrorCode,
    message: Cow<'static, str>,
    retry_after: Option<Duration>,
}

impl ApiError {
    /// An error with `code` and a lowercase, client-safe `message`.
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400: the request is malformed.
    pub fn invalid(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidArgument, message)
    }

    /// 401: no valid credentials.
    pub fn unauthenticated(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::Unauthenticated, message)
    }

    /// 500: logged with its cause here; the client only learns that something failed.
    pub fn internal(cause: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!(error = %tunemesh_runtime::error::DisplayChain(cause), "internal error");
        Self::new(ErrorCode::Internal, "internal error")
    }

    /// 429 with a `Retry-After` of `wait` (rounded up to whole seconds).
    pub fn rate_limited(wait: Duration) -> Self {
        Self {
            retry_after: Some(wait),
            ..Self::new(
                ErrorCode::ResourceExhausted,
                "too many requests, retry later",
            )
        }
    }

    /// How long a rate-limited client should wait, if this is a rate limit.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The code of this error.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The message sent to the client.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

/// The JSON body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorDetail {
    /// Stable snake_case code from the error table, e.g. `not_found`.
    #[schema(example = "not_found")]
    pub code: String,
    /// Lowercase, human-readable explanation.
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.as_str().to_owned(),
                message: self.message.into_owned(),
            },
        };
        let mut response = (self.code.http_status(), Json(body)).into_response();
        let headers = response.headers_mut();
        if self.code == ErrorCode::Unauthenticated {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static(BEARER_CHALLENGE));
        }
        if let Some(wait) = self.retry_after {
            // Retry-After is whole seconds; rounding down would invite a retry that fails again.
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        response
    }
}

/// What the edge makes of a downstream gRPC status: its code in the table and, when the
/// service's own message must not reach the client, the message to send instead. The one
/// classification of the REST routes (`From<tonic::Status> for ApiError`) and the gRPC proxy
/// (`crate::grpc::status::scrub`), so the two cannot disagree.
pub(crate) fn classify_downstream(
    code: tonic::Code,
    message: &str,
) -> (ErrorCode, Option<&'static str>) {
    let code = ErrorCode::from_grpc(code).unwrap_or(ErrorCode::Internal);
    match code {
        // The listener's token was checked here already: a service refusing the identity the
        // gateway minted is a misconfiguration (e.g. mismatched mesh secrets), not the
        // client's fault, and must not tell the client to log in again.
        ErrorCode::Unauthenticated | ErrorCode::Internal => {
            tracing::error!(%code, message, "downstream failed");
            (ErrorCode::Internal, Some("internal error"))
        }
        ErrorCode::Unavailable => {
            tracing::warn!(message, "downstream unavailable");
            (code, Some("the service is unavailable, retry later"))
        }
        ErrorCode::DeadlineExceeded => (code, Some("the service did not answer in time")),
        ErrorCode::Unimplemented => (code, Some("not implemented yet")),
        // Client errors: the service's message says what to fix.
        _ => (code, None),
    }
}

impl From<tonic::Status> for ApiError {
    /// Classifies a downstream error once, at the edge ([`classify_downstream`]).
    fn from(status: tonic::Status) -> Self {
        match classify_downstream(status.code(), status.message()) {
            (code, Some(replacement)) => Self::new(code, replacement),
            // Kept bounded, since it ends up in a response body.
            (code, None) => Self::new(code, lowercase_first(truncate(status.message(), 512))),
        }
    }
}

fn truncate(message: &str, max: usize) -> &str {
    match message.char_indices().nth(max) {
        Some((cut, _)) => &message[..cut],
        None => message,
    }
}

fn lowercase_first(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => "request failed".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downstream_codes_map_through_the_table() {
        let cases = [
            (tonic::Code::NotFound, 404),
            (tonic::Code::Unimplemented, 501),
            (tonic::Code::Unavailable, 503),
            (tonic::Code::InvalidArgument, 400),
            (tonic::Code::OutOfRange, 400),
            (tonic::Code::Aborted, 409),
            (tonic::Code::DeadlineExceeded, 504),
            (tonic::Code::Unauthenticated, 500),
            (tonic::Code::DataLoss, 500),
        ];
        for (grpc, http) in cases {
            let error = ApiError::from(tonic::Status::new(grpc, "x"));
            assert_eq!(error.code().http_status().as_u16(), http, "{grpc:?}");
        }
    }

    #[test]
    fn server_errors_hide_the_downstream_message() {
        let error = ApiError::from(tonic::Status::internal("db password=hunter2 failed"));
        assert_eq!(error.message(), "internal error");
        let error = ApiError::from(tonic::Status::not_found("Track t1 not found"));
        assert_eq!(error.message(), "track t1 not found");
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let response = ApiError::rate_limited(Duration::from_millis(1200)).into_response();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()[RETRY_AFTER], "2");
    }

    #[test]
    fn unauthenticated_carries_a_bearer_challenge() {
        let response = ApiError::unauthenticated("no token").into_response();
        assert_eq!(response.headers()[WWW_AUTHENTICATE], BEARER_CHALLENGE);
    }
}
