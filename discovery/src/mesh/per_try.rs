//! Per-try timeout of retryable calls, from the endpoint's own observed latency.
//!
//! A replica that stops answering without closing its connections (a long GC pause, a
//! stopped host) would hold every call sent to it until the caller's deadline. A call the
//! retry layer marked [`Retryable`] instead gets `factor` × this endpoint's latency estimate,
//! clamped to `[min, max]` ([`PerTrySettings`]); when that passes, the try fails with
//! [`TryTimedOut`], which the breaker above counts against the endpoint (outlier detection:
//! enough of them eject it like any failing endpoint, and it is probed back) and the retry
//! layer retries on another endpoint.
//!
//! Why a per-try timeout and not `tower::hedge`: a hedge sends a second copy of slow calls
//! (more load exactly when a replica struggles), keeps its latency histogram behind a mutex
//! every call takes, and says nothing to the breaker, so the hung replica stays in rotation.
//! A timeout costs one atomic per endpoint, feeds ejection, and spends the retry budget only
//! when a try really failed.
//!
//! The estimate is peak-sensitive: a slower answer raises it at once, faster ones lower it by
//! an eighth of the gap each (per answer, not per unit of time, so an idle endpoint keeps its
//! estimate). Unary and streaming calls keep apart estimates: for a stream the try ends at
//! its response headers, which come after the server opened what it streams.
//!
//! Only a call's first try is bounded by the estimate; a retry gets `max`. A retried write
//! may have to wait for its own first try: cut off on a replica that froze inside the
//! write's transaction, that try leaves the rows locked until PostgreSQL ends the transaction
//! (`idle_in_transaction_timeout`, 1 s), and the same write on a healthy replica waits on
//! those locks. Bounded by the estimate (mostly reads), the retry would time out on that
//! wait, count against the healthy replica, and leave the last try, which has no per-try
//! bound, free to go back to the frozen one: in the cluster's freeze test a play report and a
//! keyed playlist addition ran out of their deadline this way. A hung replica still costs a first try only
//! the short wait; the breaker then ranks it behind the others, so retries go elsewhere.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};
use tower::load::Load;
use tower::{Layer, Service};

use super::error::BoxError;
use super::split::Streaming;
use super::stack::EndpointLabels;
use crate::settings::PerTrySettings;

/// Request extension set by the retry layer: this try may be retried on another endpoint, so
/// bound it by the endpoint's latency rather than by the caller's deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retryable {
    /// The call's first try: `factor` × the endpoint's latency estimate, within `[min, max]`.
    First,
    /// A retry: `max`, whatever the estimate (see the module's doc).
    Again,
}

/// The error of a try that got no answer within its per-try timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no answer within the per-try timeout of {0:?}")]
pub struct TryTimedOut(pub Duration);

/// Wraps an endpoint in [`PerTry`].
#[derive(Debug, Clone)]
pub struct PerTryLayer {
    settings: PerTrySettings,
    labels: EndpointLabels,
}

impl PerTryLayer {
    /// Per-try timeouts for one endpoint.
    pub fn new(settings: PerTrySettings, labels: EndpointLabels) -> Self {
        Self { settings, labels }
    }
}

impl<S> Layer<S> for PerTryLayer {
    type Service = PerTry<S>;

    fn layer(&self, inner: S) -> PerTry<S> {
        let labels = &self.labels;
        let timeouts = metrics::counter!("tunemesh_mesh_endpoint_errors_total",
            "service" => labels.service.to_string(), "endpoint" => labels.endpoint.to_string(),
            "kind" => "try_timeout");
        PerTry {
            inner,
            shared: Arc::new(Shared {
                settings: self.settings.clone(),
                unary: Estimate::default(),
                streaming: Estimate::default(),
                timeouts,
            }),
        }
    }
}

/// Bounds retryable tries to one endpoint by its observed latency; see the module doc.
#[derive(Debug)]
pub struct PerTry<S> {
    inner: S,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    settings: PerTrySettings,
    unary: Estimate,
    streaming: Estimate,
    timeouts: metrics::Counter,
}

impl Shared {
    fn estimate(&self, streaming: bool) -> &Estimate {
        if streaming {
            &self.streaming
        } else {
            &self.unary
        }
    }
}

/// A peak-sensitive latency estimate in nanoseconds; 0 until the first answer. An atomic,
/// not a lock: every call's completion updates it, from whichever task polled it.
#[derive(Debug, Default)]
pub(crate) struct Estimate(AtomicU64);

impl Estimate {
    pub(crate) fn observe(&self, sample: Duration) {
        let sample = u64::try_from(sample.as_nanos()).unwrap_or(u64::MAX).max(1);
        // A lost race only means one sample counted against a slightly older value.
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |current| {
                Some(if current == 0 || sample >= current {
                    sample
                } else {
                    current - (current - sample) / 8
                })
            });
    }

    /// The per-try timeout this estimate allows.
    pub(crate) fn timeout(&self, settings: &PerTrySettings) -> Duration {
        let max = settings.max.max(settings.min);
        match self.0.load(Ordering::Relaxed) {
            // Never answered: connecting may take a while; the widest bound.
            0 => max,
            nanos => {
                let factor = if settings.factor.is_finite() {
                    settings.factor.clamp(1.0, 1000.0)
                } else {
                    1.0
                };
                Duration::from_nanos(nanos)
                    .mul_f64(factor)
                    .clamp(settings.min, max)
            }
        }
    }
}

impl<S: Load> Load for PerTry<S> {
    type Metric = S::Metric;

    fn load(&self) -> S::Metric {
        self.inner.load()
    }
}

impl<S, B, R> Service<http::Request<B>> for PerTry<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let streaming = req.extensions().get::<Streaming>().is_some();
        let settings = &self.shared.settings;
        let timeout = req.extensions().get::<Retryable>().map(|try_| match try_ {
            Retryable::First => self.shared.estimate(streaming).timeout(settings),
            Retryable::Again => settings.max,
        });
        let started = Instant::now();
        ResponseFuture {
            inner: self.inner.call(req),
            sleep: timeout.map(|t| Box::pin(tokio::time::sleep_until(started + t))),
            timeout: timeout.unwrap_or_default(),
            shared: self.shared.clone(),
            started,
            streaming,
        }
    }
}

pin_project! {
    /// The response future of [`PerTry`].
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        // Only for retryable tries; boxed so futures of other calls stay small.
        sleep: Option<Pin<Box<Sleep>>>,
        timeout: Duration,
        shared: Arc<Shared>,
        started: Instant,
        streaming: bool,
    }
}

impl<F, R, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<R>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<http::Response<R>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(result) = this.inner.poll(cx) {
            if result.is_ok() {
                let estimate = this.shared.estimate(*this.streaming);
                estimate.observe(this.started.elapsed());
            }
            return Poll::Ready(result.map_err(Into::into));
        }
        if let Some(sleep) = this.sleep.as_mut() {
            ready!(sleep.as_mut().poll(cx));
            // Not a sample: a hung endpoint must not widen the timeout of its own probes.
            this.shared.timeouts.increment(1);
            return Poll::Ready(Err(Box::new(TryTimedOut(*this.timeout))));
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> PerTrySettings {
        PerTrySettings {
            factor: 4.0,
            min: Duration::from_millis(100),
            max: Duration::from_secs(1),
        }
    }

    #[test]
    fn an_endpoint_never_heard_from_gets_the_widest_timeout() {
        assert_eq!(
            Estimate::default().timeout(&settings()),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn the_timeout_follows_peaks_at_once_and_calm_slowly_within_bounds() {
        let estimate = Estimate::default();
        estimate.observe(Duration::from_millis(5));
        assert_eq!(estimate.timeout(&settings()), Duration::from_millis(100));
        estimate.observe(Duration::from_millis(100));
        assert_eq!(estimate.timeout(&settings()), Duration::from_millis(400));
        estimate.observe(Duration::from_millis(20));
        assert_eq!(estimate.timeout(&settings()), Duration::from_millis(360));
        estimate.observe(Duration::from_secs(5));
        assert_eq!(estimate.timeout(&settings()), Duration::from_secs(1));
        for _ in 0..100 {
            estimate.observe(Duration::from_millis(5));
        }
        assert_eq!(estimate.timeout(&settings()), Duration::from_millis(100));
    }
}
