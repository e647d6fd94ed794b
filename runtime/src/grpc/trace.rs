//! A server layer that opens one span per RPC, continuing the caller's W3C trace.

use std::task::{Context, Poll};

use http::Request;
use tower::{Layer, Service};
use tracing::Instrument;
use tracing::instrument::Instrumented;

use crate::trace_context;

/// Wraps a gRPC server so every call runs inside a `grpc.server` span whose parent is the trace
/// in the request's `traceparent`, if any.
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceLayer;

impl<S> Layer<S> for TraceLayer {
    type Service = Trace<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Trace { inner }
    }
}

/// The service made by [`TraceLayer`].
#[derive(Debug, Clone)]
pub struct Trace<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for Trace<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Instrumented<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let path = request.uri().path();
        let (service, method) = split_path(path);
        let span = tracing::info_span!(
            "grpc.server",
            otel.name = path,
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = service,
            rpc.method = method,
        );
        trace_context::continue_from_headers(&span, request.headers());
        self.inner.call(request).instrument(span)
    }
}

/// `/pkg.Service/Method` → (`pkg.Service`, `Method`); anything else is kept whole.
pub(crate) fn split_path(path: &str) -> (&str, &str) {
    path.trim_start_matches('/')
        .split_once('/')
        .unwrap_or((path, ""))
}

#[cfg(test)]
mod tests {
    use super::split_path;

    #[test]
    fn splits_grpc_paths() {
        assert_eq!(
            split_path("/tunemesh.player.v1.PlayerService/StreamAudio"),
            ("tunemesh.player.v1.PlayerService", "StreamAudio")
        );
        assert_eq!(split_path("/odd"), ("/odd", ""));
    }
}
