//! A server layer that counts RPCs by outcome and measures how long they take.
//!
//! gRPC puts the outcome in trailers, after the whole response body, so the body is wrapped to
//! see them; a stream the client abandons is counted as `Cancelled` when its body is dropped.
//!
//! Labels come from a closed set: a path names a method only when the contracts (or health
//! and reflection) define it; any other path a caller makes up is counted as `other`, so a
//! flood of invented paths adds one series, not one per path.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::LazyLock;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tonic::Code;
use tower::{Layer, Service};
use tunemesh_discovery::mesh::grpc_status;
use tunemesh_proto::prost::Message as _;
use tunemesh_proto::prost_types::FileDescriptorSet;

use super::trace::split_path;

/// Requests finished, by `service`, `method` and gRPC `code`.
pub const REQUESTS_TOTAL: &str = "tunemesh_grpc_server_requests_total";
/// Time from request to the end of the response, by `service` and `method`.
pub const DURATION_SECONDS: &str = "tunemesh_grpc_server_duration_seconds";

/// Records [`REQUESTS_TOTAL`] and [`DURATION_SECONDS`] for every call.
#[derive(Debug, Clone, Copy, Default)]
pub struct MetricsLayer;

impl<S> Layer<S> for MetricsLayer {
    type Service = Metrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Metrics { inner }
    }
}

/// The service made by [`MetricsLayer`].
#[derive(Debug, Clone)]
pub struct Metrics<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Metrics<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<MetricsBody<ResBody>>;
    type Error = S::Error;
    type Future = MetricsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let call = CallRecord::start(request.uri().path());
        MetricsFuture {
            inner: self.inner.call(request),
            call: Some(call),
        }
    }
}

/// The label of every path no contract defines.
pub const OTHER: &str = "other";

/// Every `/pkg.Service/Method` the descriptor sets define: the tunemesh contracts, health and
/// reflection. Read once from the descriptors the servers already embed for reflection, so a
/// new RPC is labelled by name without anyone keeping a list.
static KNOWN_PATHS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    let sets = [
        tunemesh_proto::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ];
    let mut paths = HashSet::new();
    for bytes in sets {
        // Embedded at build time by the same prost: a failure is a build defect, and the
        // only cost is that the set's methods are labelled `other`.
        let Ok(set) = FileDescriptorSet::decode(bytes) else {
            continue;
        };
        for file in set.file {
            let package = file.package().to_owned();
            for service in file.service {
                let full = if package.is_empty() {
                    service.name().to_owned()
                } else {
                    format!("{package}.{}", service.name())
                };
                for method in service.method {
                    paths.insert(format!("/{full}/{}", method.name()));
                }
            }
        }
    }
    paths
});

/// `(service, method)` labels of `path`: its names when a contract defines it, `other` twice
/// otherwise.
pub fn labels_of(path: &str) -> (&str, &str) {
    if KNOWN_PATHS.contains(path) {
        split_path(path)
    } else {
        (OTHER, OTHER)
    }
}

/// One call being measured; finishing it records the metrics exactly once.
#[derive(Debug)]
struct CallRecord {
    service: String,
    method: String,
    started: Instant,
}

impl CallRecord {
    fn start(path: &str) -> Self {
        let (service, method) = labels_of(path);
        Self {
            service: service.to_owned(),
            method: method.to_owned(),
            started: Instant::now(),
        }
    }

    fn finish(self, code: Code) {
        let labels = [("service", self.service), ("method", self.method)];
        metrics::histogram!(DURATION_SECONDS, &labels).record(self.started.elapsed());
        let [service, method] = labels;
        metrics::counter!(
            REQUESTS_TOTAL,
            &[service, method, ("code", code_label(code).to_owned())]
        )
        .increment(1);
    }
}

pin_project! {
    /// Future of [`Metrics`]: hands the measurement to the body unless the outcome is known.
    #[derive(Debug)]
    pub struct MetricsFuture<F> {
        #[pin]
        inner: F,
        call: Option<CallRecord>,
    }
}

impl<F, ResBody, E> Future for MetricsFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<MetricsBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let call = this.call.take();
        Poll::Ready(match result {
            Ok(response) => {
                // A trailers-only response (most errors) has its status in the headers.
                let call = match (grpc_status(response.headers()), call) {
                    (Some(code), Some(call)) => {
                        call.finish(code);
                        None
                    }
                    (_, call) => call,
                };
                Ok(response.map(|inner| MetricsBody { inner, call }))
            }
            Err(error) => {
                if let Some(call) = call {
                    call.finish(Code::Internal);
                }
                Err(error)
            }
        })
    }
}

pin_project! {
    /// A response body that records the call when its trailers, its end or its drop comes.
    #[derive(Debug)]
    pub struct MetricsBody<B> {
        #[pin]
        inner: B,
        call: Option<CallRecord>,
    }

    impl<B> PinnedDrop for MetricsBody<B> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(call) = this.project().call.take() {
                call.finish(Code::Cancelled);
            }
        }
    }
}

impl<B: Body> Body for MetricsBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        let outcome = match &frame {
            Some(Ok(frame)) => frame
                .trailers_ref()
                .map(|trailers| grpc_status(trailers).unwrap_or(Code::Unknown)),
            Some(Err(_)) => Some(Code::Internal),
            None => Some(Code::Unknown),
        };
        // Take the record only once the outcome is known: data frames leave it in place.
        if let Some(code) = outcome
            && let Some(call) = this.call.take()
        {
            call.finish(code);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A stable label for a gRPC code, as the gRPC spec spells it.
pub fn code_label(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_methods_keep_their_names() {
        assert_eq!(
            labels_of("/tunemesh.player.v1.PlayerService/ReportPlayback"),
            ("tunemesh.player.v1.PlayerService", "ReportPlayback")
        );
        assert_eq!(
            labels_of("/grpc.health.v1.Health/Check"),
            ("grpc.health.v1.Health", "Check")
        );
    }

    #[test]
    fn invented_paths_share_one_label() {
        for path in [
            "/tunemesh.player.v1.PlayerService/Nope",
            "/x.Y/Z",
            "/",
            "/../../etc/passwd",
        ] {
            assert_eq!(labels_of(path), (OTHER, OTHER), "{path}");
        }
    }
}
