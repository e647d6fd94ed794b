//! Fail-fast timeout: bounds a whole call, queueing for an endpoint included, by the earlier
//! of the mesh timeout and the caller's deadline, and forwards that bound as `grpc-timeout`.
//! A call marked [`LongCall`] is answered only when its work is done (an upload, answered
//! after transcoding): the caller's deadline alone bounds it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::time::{Instant, Timeout};
use tower::{Layer, Service};

use super::classify::{CallerDeadline, MeshDeadline};
use super::error::MeshError;
use crate::deadline::{Deadline, GRPC_TIMEOUT_HEADER, encode_grpc_timeout};

/// Request extension: the answer comes when the call's work is done, so the mesh's fail-fast
/// timeout (meant for answers that start at once) does not apply; the caller's deadline does.
#[derive(Debug, Clone, Copy, Default)]
pub struct LongCall;

/// Wraps a service in [`FailFast`].
#[derive(Debug, Clone)]
pub struct FailFastLayer {
    timeout: Duration,
    service: Arc<str>,
}

impl FailFastLayer {
    /// Calls to `service` fail after `timeout` at most.
    pub fn new(timeout: Duration, service: Arc<str>) -> Self {
        Self { timeout, service }
    }
}

impl<S> Layer<S> for FailFastLayer {
    type Service = FailFast<S>;

    fn layer(&self, inner: S) -> FailFast<S> {
        FailFast {
            inner,
            timeout: self.timeout,
            service: self.service.clone(),
        }
    }
}

/// See [`FailFastLayer`].
#[derive(Debug, Clone)]
pub struct FailFast<S> {
    inner: S,
    timeout: Duration,
    service: Arc<str>,
}

impl<S, B> Service<http::Request<B>> for FailFast<S>
where
    S: Service<http::Request<B>, Error = MeshError>,
{
    type Response = S::Response;
    type Error = MeshError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), MeshError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        let now = Instant::now();
        let caller = [Deadline::current(), Deadline::from_headers(req.headers())]
            .into_iter()
            .flatten()
            .map(|d| d.instant())
            .min();
        // A long call without a deadline of its caller still gets the mesh's.
        let own = match (req.extensions().get::<LongCall>(), caller) {
            (Some(LongCall), Some(_)) => None,
            _ => Some(now + self.timeout),
        };
        let deadline = match (own, caller) {
            (Some(own), Some(caller)) => own.min(caller),
            (Some(own), None) => own,
            (None, Some(caller)) => caller,
            (None, None) => now + self.timeout,
        };
        if own.is_none_or(|own| deadline < own) {
            // The caller's deadline binds: when it fires below, the endpoint is not to blame.
            req.extensions_mut().insert(CallerDeadline(deadline));
        } else {
            // The mesh's own binds: a call still unanswered then hung on its endpoint.
            req.extensions_mut().insert(MeshDeadline(deadline));
        }
        let budget = deadline.saturating_duration_since(now);
        let service = self.service.clone();
        if budget.is_zero() {
            return ResponseFuture::Expired { service, budget };
        }
        req.headers_mut()
            .insert(GRPC_TIMEOUT_HEADER.clone(), encode_grpc_timeout(budget));
        ResponseFuture::Calling {
            call: tokio::time::timeout_at(deadline, self.inner.call(req)),
            deadline,
            service,
            budget,
        }
    }
}

pin_project! {
    /// The response future of [`FailFast`]: the call bounded by its deadline. Written out
    /// rather than an async block so a call costs no allocation of its own here.
    #[project = Projected]
    pub enum ResponseFuture<F> {
        /// The call, with the deadline it must answer by.
        Calling {
            #[pin]
            call: Timeout<F>,
            deadline: Instant,
            service: Arc<str>,
            budget: Duration,
        },
        /// No time was left to call at all.
        Expired { service: Arc<str>, budget: Duration },
    }
}

impl<F, T> Future for ResponseFuture<F>
where
    F: Future<Output = Result<T, MeshError>>,
{
    type Output = Result<T, MeshError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            Projected::Calling {
                call,
                deadline,
                service,
                budget,
            } => Poll::Ready(match ready!(call.poll(cx)) {
                // A layer below may enforce the same deadline and fire first.
                Ok(Err(_)) if Instant::now() >= *deadline => {
                    Err(MeshError::deadline_exceeded(service.clone(), *budget))
                }
                Ok(result) => result,
                Err(_elapsed) => Err(MeshError::deadline_exceeded(service.clone(), *budget)),
            }),
            Projected::Expired { service, budget } => {
                Poll::Ready(Err(MeshError::deadline_exceeded(service.clone(), *budget)))
            }
        }
    }
}
