//! The edge's own refusals on `/rest`, answered the Subsonic way.
//!
//! The layers in front of every route (the per-address rate limit, the request timeout, the
//! body limit) answer the REST API's JSON error with an HTTP status; Subsonic apps read neither:
//! they expect HTTP 200 and an error code in the format they asked for (`f`). This layer sits
//! outside those and turns their refusals of `/rest` calls into that, keeping `Retry-After`.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::StatusCode;
use http::header::RETRY_AFTER;

use super::error::SubsonicError;
use super::params::Params;
use super::{Format, failed, format_of};

/// Passes everything through; a `/rest` call refused by the edge gets a Subsonic error.
pub(crate) async fn refusals_as_subsonic(request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/rest/") {
        return next.run(request).await;
    }
    let query = request.uri().query().map(str::to_owned);
    let response = next.run(request).await;
    let retry_after = response.headers().get(RETRY_AFTER).cloned();
    let wait = retry_after
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .map(|seconds| format!(" in {seconds} s"))
        .unwrap_or_default();
    let message = match response.status() {
        StatusCode::TOO_MANY_REQUESTS => {
            format!("too many requests from this address: try again{wait}")
        }
        StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => {
            "the server took too long to answer: try again".to_owned()
        }
        StatusCode::PAYLOAD_TOO_LARGE => {
            "the request is larger than this server accepts".to_owned()
        }
        _ => return response,
    };
    // The form body is gone by now; the query's `f` (or XML) decides the format.
    let format = Params::parse(query.as_deref(), None)
        .ok()
        .and_then(|params| format_of(&params).ok())
        .unwrap_or(Format::Xml);
    let mut answer = failed(&SubsonicError::Generic(message.into()), &format);
    if let Some(retry_after) = retry_after {
        answer.headers_mut().insert(RETRY_AFTER, retry_after);
    }
    answer
}
