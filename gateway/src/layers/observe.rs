//! The edge's span and metrics per request: every call, REST or gRPC, runs inside an
//! `http.server` span that continues the client's W3C trace id, with the edge's own sampling
//! decision (so the mesh channel's `traceparent` carries one trace from the edge through every
//! service), and is counted by kind, method and status, with its latency to the response
//! head. For audio that latency is the time to first byte.

use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use futures::future::{BoxFuture, FutureExt as _};
use http::{Request, Response};
use tower::{Layer, Service};
use tracing::Instrument as _;
use tunemesh_runtime::trace_context;

use crate::layers::grpc_switch::is_grpc;

/// Requests answered, by `kind`, `method` and `status` (the HTTP status class, e.g. `2xx`).
/// Every label comes from a small closed set, whatever the client sends: a flood of random
/// paths or invented methods adds no series.
pub(crate) const REQUESTS_TOTAL: &str = "tunemesh_gateway_requests_total";
/// Seconds from the request to the response head, by `kind`. Audio and segment bodies stream
/// after the head, so for them this is the time to the first audio byte.
pub(crate) const RESPONSE_HEAD_SECONDS: &str = "tunemesh_gateway_response_head_seconds";

/// Wraps the edge with [`Observe`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ObserveLayer;

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe { inner }
    }
}

/// See [`ObserveLayer`].
#[derive(Debug, Clone)]
pub(crate) struct Observe<S> {
    inner: S,
}

impl<S, B> Service<Request<Body>> for Observe<S>
where
    S: Service<Request<Body>, Response = Response<B>> + Send,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let kind = kind_of(&request);
        let method = method_label(request.method());
        // The raw path is an attribute, never a metric label: ids would explode cardinality.
        let span = tracing::info_span!(
            "http.server",
            otel.name = %format_args!("{method} {kind}"),
            otel.kind = "server",
            http.request.method = %method,
            url.path = %request.uri().path(),
            http.response.status_code = tracing::field::Empty,
        );
        // The client's trace id is kept for correlation, but not its sampled flag: the edge
        // decides what is recorded, so a client cannot force every request to be exported.
        trace_context::continue_untrusted(&span, request.headers());
        let started = Instant::now();
        let answer = self.inner.call(request).instrument(span.clone());
        async move {
            let result = answer.await;
            let status = match &result {
                Ok(response) => {
                    span.record("http.response.status_code", response.status().as_u16());
                    status_class(response.status().as_u16())
                }
                Err(_) => "error",
            };
            metrics::histogram!(RESPONSE_HEAD_SECONDS, "kind" => kind).record(started.elapsed());
            metrics::counter!(REQUESTS_TOTAL, "kind" => kind, "method" => method, "status" => status)
                .increment(1);
            result
        }
        .boxed()
    }
}

/// The method as a label: the standard ones by name, anything a client invents as `other`
/// (HTTP allows any token as a method, so the raw one would be a label an attacker picks).
fn method_label(method: &http::Method) -> &'static str {
    const KNOWN: [http::Method; 7] = [
        http::Method::GET,
        http::Method::HEAD,
        http::Method::POST,
        http::Method::PUT,
        http::Method::PATCH,
        http::Method::DELETE,
        http::Method::OPTIONS,
    ];
    const NAMES: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    KNOWN
        .iter()
        .position(|known| known == method)
        .map_or("other", |i| NAMES[i])
}

/// A small closed set of labels: what sort of work the request is.
fn kind_of<B>(request: &Request<B>) -> &'static str {
    let path = request.uri().path();
    if is_grpc(request) {
        "grpc"
    } else if path.starts_with("/v1/tracks/")
        && (path.ends_with("/audio") || path.contains("/segments/"))
    {
        "audio"
    } else if path.starts_with("/v1/") {
        "api"
    } else if path.starts_with("/rest/") {
        "subsonic"
    } else if matches!(path, "/healthz" | "/readyz") {
        "admin"
    } else {
        "web"
    }
}

fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str, content_type: Option<&str>) -> Request<()> {
        let mut builder = Request::builder().uri(path);
        if let Some(value) = content_type {
            builder = builder.header(http::header::CONTENT_TYPE, value);
        }
        builder.body(()).unwrap()
    }

    #[test]
    fn requests_are_sorted_into_a_few_kinds() {
        assert_eq!(kind_of(&request("/v1/tracks/t1/audio", None)), "audio");
        assert_eq!(
            kind_of(&request("/v1/tracks/t1/segments/high/3", None)),
            "audio"
        );
        assert_eq!(kind_of(&request("/v1/tracks/t1", None)), "api");
        assert_eq!(kind_of(&request("/readyz", None)), "admin");
        assert_eq!(kind_of(&request("/", None)), "web");
        let grpc = request(
            "/tunemesh.search.v1.SearchService/Search",
            Some("application/grpc-web+proto"),
        );
        assert_eq!(kind_of(&grpc), "grpc");
    }

    #[test]
    fn invented_methods_share_one_label() {
        assert_eq!(method_label(&http::Method::GET), "GET");
        let invented = http::Method::from_bytes(b"X-RANDOM-123").unwrap();
        assert_eq!(method_label(&invented), "other");
        assert_eq!(method_label(&http::Method::TRACE), "other");
    }

    #[test]
    fn statuses_are_counted_by_class() {
        assert_eq!(status_class(206), "2xx");
        assert_eq!(status_class(429), "4xx");
        assert_eq!(status_class(503), "5xx");
    }
}
