//! Classifies a call's result once, for the breaker, the metrics and the retries.

use http::HeaderMap;
use tonic::Code;

/// How one call to an endpoint went, as far as the endpoint's health is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// An answer; application errors such as NOT_FOUND count as answers.
    Answered,
    /// A trailers-only gRPC UNAVAILABLE: the endpoint is up but cannot serve.
    Unavailable,
    /// No answer: connection refused, reset, or broken.
    Transport,
}

impl Outcome {
    /// Whether the endpoint failed to serve the call.
    pub(crate) fn is_failure(self) -> bool {
        self != Outcome::Answered
    }

    /// Classifies an endpoint's result.
    pub(crate) fn of<B, E>(result: &Result<http::Response<B>, E>) -> Self {
        match result {
            Ok(response) if grpc_unavailable(response.headers()) => Outcome::Unavailable,
            Ok(_) => Outcome::Answered,
            Err(_) => Outcome::Transport,
        }
    }

    /// A label for metrics.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Unavailable => "unavailable",
            Outcome::Transport => "transport",
        }
    }
}

/// Whether response headers carry `grpc-status: 14` (a trailers-only UNAVAILABLE).
pub(crate) fn grpc_unavailable(headers: &HeaderMap) -> bool {
    let unavailable = Code::Unavailable as i32;
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .is_some_and(|code| code == unavailable)
}
