//! Per-endpoint request, error and latency metrics.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use metrics::{Counter, Histogram};
use pin_project_lite::pin_project;
use tokio::time::Instant;
use tower::{Layer, Service};

use super::classify::{CallerDeadlineOf, Outcome};
use super::stack::EndpointLabels;

/// Wraps an endpoint in [`Metered`].
#[derive(Debug, Clone)]
pub struct MeteredLayer {
    labels: EndpointLabels,
}

impl MeteredLayer {
    /// Metrics labelled with one endpoint.
    pub fn new(labels: EndpointLabels) -> Self {
        Self { labels }
    }
}

impl<S> Layer<S> for MeteredLayer {
    type Service = Metered<S>;

    fn layer(&self, inner: S) -> Metered<S> {
        Metered {
            inner,
            handles: Arc::new(Handles::new(&self.labels)),
        }
    }
}

/// Counts requests and failures and times answers of one endpoint.
#[derive(Debug, Clone)]
pub struct Metered<S> {
    inner: S,
    handles: Arc<Handles>,
}

// Resolved once per endpoint so a call costs no label lookup.
#[derive(Debug, Clone)]
struct Handles {
    requests: Counter,
    unavailable: Counter,
    transport: Counter,
    caller_deadline: Counter,
    timeout: Counter,
    latency: Histogram,
}

impl Handles {
    fn new(labels: &EndpointLabels) -> Self {
        let service = labels.service.to_string();
        let endpoint = labels.endpoint.to_string();
        let error = |kind: &'static str| {
            metrics::counter!("tunemesh_mesh_endpoint_errors_total",
                "service" => service.clone(), "endpoint" => endpoint.clone(), "kind" => kind)
        };
        Self {
            requests: metrics::counter!("tunemesh_mesh_endpoint_requests_total",
                "service" => service.clone(), "endpoint" => endpoint.clone()),
            unavailable: error("unavailable"),
            transport: error("transport"),
            caller_deadline: error("caller_deadline"),
            timeout: error("timeout"),
            latency: metrics::histogram!("tunemesh_mesh_endpoint_latency_seconds",
                "service" => service.clone(), "endpoint" => endpoint.clone()),
        }
    }

    fn record(&self, outcome: Outcome, started: Instant) {
        match outcome {
            Outcome::Answered => self.latency.record(started.elapsed().as_secs_f64()),
            Outcome::Unavailable => self.unavailable.increment(1),
            Outcome::Transport => self.transport.increment(1),
            Outcome::CallerDeadline => self.caller_deadline.increment(1),
            Outcome::Timeout => self.timeout.increment(1),
        }
    }
}

impl<S, Req, B> Service<Req> for Metered<S>
where
    Req: CallerDeadlineOf,
    S: Service<Req, Response = http::Response<B>>,
    S::Error: std::error::Error + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        self.handles.requests.increment(1);
        let pending = Pending {
            handles: self.handles.clone(),
            started: Instant::now(),
            caller_deadline: req.caller_deadline(),
            mesh_deadline: req.mesh_deadline(),
            done: false,
        };
        ResponseFuture {
            inner: self.inner.call(req),
            pending,
        }
    }
}

pin_project! {
    /// The response future of [`Metered`].
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        pending: Pending,
    }
}

/// A call not yet recorded; recorded once, when it ends or when it is dropped at a deadline.
#[derive(Debug)]
struct Pending {
    handles: Arc<Handles>,
    started: Instant,
    caller_deadline: Option<Instant>,
    mesh_deadline: Option<Instant>,
    done: bool,
}

impl Pending {
    fn record(&mut self, outcome: Outcome) {
        self.done = true;
        self.handles.record(outcome, self.started);
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // The fail-fast layer above ends a call at its deadline by dropping it: whose deadline
        // it was says whether the endpoint hung. Dropped earlier, the caller gave up: nothing.
        let now = Instant::now();
        if self.mesh_deadline.is_some_and(|at| now >= at) {
            self.record(Outcome::Timeout);
        } else if self.caller_deadline.is_some_and(|at| now >= at) {
            self.record(Outcome::CallerDeadline);
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
    E: std::error::Error + 'static,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let pending = this.pending;
        let outcome = Outcome::of(result.as_ref().map_err(|e| e as _), pending.caller_deadline);
        pending.record(outcome);
        Poll::Ready(result)
    }
}
