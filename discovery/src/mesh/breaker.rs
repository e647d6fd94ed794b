//! Per-endpoint consecutive-failure breaker.
//!
//! After N failures in a row the endpoint sits out a penalty (doubling per failed probe, with
//! jitter), then gets exactly one probe call. While open, `poll_ready` is *Pending*, not an
//! error: p2c drops an endpoint whose readiness errors until discovery re-adds it, but merely
//! skips a pending one, which is what a breaker wants.
//!
//! Below the threshold the breaker still steers: its [`Load`] ranks an endpoint whose last call
//! failed within the first penalty behind every endpoint that did not. Failures are fast, so
//! PeakEWMA alone would *prefer* a failing endpoint until the breaker opens.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};
use tower::load::Load;
use tower::{Layer, Service};

use super::classify::{CallerDeadlineOf, Outcome};
use super::error::BoxError;
use super::stack::EndpointLabels;
use crate::settings::BreakerSettings;

/// Wraps endpoint services in a [`Breaker`].
#[derive(Debug, Clone)]
pub struct BreakerLayer {
    settings: BreakerSettings,
    labels: EndpointLabels,
}

impl BreakerLayer {
    /// A breaker layer for one endpoint.
    pub fn new(settings: BreakerSettings, labels: EndpointLabels) -> Self {
        Self { settings, labels }
    }
}

impl<S> Layer<S> for BreakerLayer {
    type Service = Breaker<S>;

    fn layer(&self, inner: S) -> Breaker<S> {
        let shared = Shared {
            settings: self.settings.clone(),
            labels: self.labels.clone(),
            inner: Mutex::new(Inner {
                state: State::Closed { failures: 0 },
                waker: None,
                last_failure: None,
            }),
        };
        Breaker {
            inner,
            shared: Arc::new(shared),
            sleep: None,
        }
    }
}

/// A consecutive-failure circuit breaker around one endpoint.
#[derive(Debug)]
pub struct Breaker<S> {
    inner: S,
    shared: Arc<Shared>,
    // Wakes the balancer when the penalty ends; kept so it is not re-allocated per poll.
    sleep: Option<Pin<Box<Sleep>>>,
}

#[derive(Debug)]
struct Shared {
    settings: BreakerSettings,
    labels: EndpointLabels,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: State,
    // The task waiting in `poll_ready` while a probe is in flight.
    waker: Option<Waker>,
    // When the last call failed, if the one after it has not succeeded yet.
    last_failure: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant, penalty: Duration },
    Probing { penalty: Duration, in_flight: bool },
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // State is a small Copy enum: a poisoned lock still holds a valid one.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn record(&self, outcome: Outcome, probe: bool) {
        if outcome == Outcome::CallerDeadline {
            // Says nothing about the endpoint: no count either way, but a probe that ended
            // so frees its slot for the next one.
            if probe {
                self.release_probe();
            }
            return;
        }
        let mut inner = self.lock();
        inner.last_failure = outcome.is_failure().then(Instant::now);
        let next = match (inner.state, outcome.is_failure()) {
            (State::Closed { .. }, false) => State::Closed { failures: 0 },
            (State::Closed { failures }, true) if failures + 1 >= self.settings.failures => {
                self.open(self.settings.min_penalty, outcome)
            }
            (State::Closed { failures }, true) => State::Closed {
                failures: failures + 1,
            },
            (State::Probing { .. }, false) if probe => {
                self.transition("closed");
                tracing::info!(service = %self.labels.service, endpoint = %self.labels.endpoint, "endpoint recovered, breaker closed");
                State::Closed { failures: 0 }
            }
            (State::Probing { penalty, .. }, true) if probe => self.open(
                penalty.saturating_mul(2).min(self.settings.max_penalty),
                outcome,
            ),
            // Late answers to calls sent before the breaker opened change nothing.
            (state, _) => state,
        };
        inner.state = next;
        if let Some(waker) = inner.waker.take() {
            waker.wake();
        }
    }

    fn open(&self, penalty: Duration, outcome: Outcome) -> State {
        let jitter = self.settings.jitter.clamp(0.0, 1.0) * rand::random::<f64>();
        let until = Instant::now() + penalty + penalty.mul_f64(jitter);
        self.transition("open");
        tracing::warn!(service = %self.labels.service, endpoint = %self.labels.endpoint, ?penalty, cause = outcome.as_str(), "endpoint failing, breaker open");
        State::Open { until, penalty }
    }

    fn transition(&self, to: &'static str) {
        let labels = &self.labels;
        metrics::counter!("tunemesh_mesh_breaker_transitions_total",
            "service" => labels.service.to_string(), "endpoint" => labels.endpoint.to_string(), "to" => to)
        .increment(1);
    }

    /// A probe that ended without an answer (dropped) frees the slot for another probe.
    fn release_probe(&self) {
        let mut inner = self.lock();
        if let State::Probing {
            penalty,
            in_flight: true,
        } = inner.state
        {
            inner.state = State::Probing {
                penalty,
                in_flight: false,
            };
            if let Some(waker) = inner.waker.take() {
                waker.wake();
            }
        }
    }
}

/// An endpoint's load as p2c compares it: recently failing first (false ranks lower, so wins),
/// then the inner load.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct BreakerLoad<M> {
    failing: bool,
    inner: M,
}

impl<S: Load> Load for Breaker<S> {
    type Metric = BreakerLoad<S::Metric>;

    fn load(&self) -> Self::Metric {
        let failing = self
            .shared
            .lock()
            .last_failure
            .is_some_and(|at| at.elapsed() < self.shared.settings.min_penalty);
        BreakerLoad {
            failing,
            inner: self.inner.load(),
        }
    }
}

impl<S> Breaker<S> {
    fn poll_penalty(&mut self, until: Instant, cx: &mut Context<'_>) -> Poll<()> {
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(until)));
        if sleep.deadline() != until {
            sleep.as_mut().reset(until);
        }
        sleep.as_mut().poll(cx)
    }
}

impl<S, Req> Service<Req> for Breaker<S>
where
    Req: CallerDeadlineOf,
    S: Service<Req, Response = http::Response<tonic::body::Body>>,
    S::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        loop {
            let state = self.shared.lock().state;
            match state {
                State::Closed { .. }
                | State::Probing {
                    in_flight: false, ..
                } => {
                    return self.inner.poll_ready(cx).map_err(Into::into);
                }
                State::Open { until, penalty } => {
                    if Instant::now() < until {
                        ready!(self.poll_penalty(until, cx));
                    }
                    let mut inner = self.shared.lock();
                    if matches!(inner.state, State::Open { .. }) {
                        inner.state = State::Probing {
                            penalty,
                            in_flight: false,
                        };
                        self.shared.transition("half_open");
                    }
                }
                State::Probing {
                    in_flight: true, ..
                } => {
                    let mut inner = self.shared.lock();
                    // Registered under the lock the probe's completion takes: no lost wake-up.
                    if matches!(
                        inner.state,
                        State::Probing {
                            in_flight: true,
                            ..
                        }
                    ) {
                        inner.waker = Some(cx.waker().clone());
                        return Poll::Pending;
                    }
                }
            }
        }
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let probe = {
            let mut inner = self.shared.lock();
            match inner.state {
                State::Probing {
                    penalty,
                    in_flight: false,
                } => {
                    inner.state = State::Probing {
                        penalty,
                        in_flight: true,
                    };
                    true
                }
                _ => false,
            }
        };
        let (caller_deadline, mesh_deadline) = (req.caller_deadline(), req.mesh_deadline());
        ResponseFuture {
            inner: self.inner.call(req),
            guard: Guard {
                shared: self.shared.clone(),
                probe,
                done: false,
                caller_deadline,
                mesh_deadline,
            },
        }
    }
}

/// Reports the outcome to the breaker exactly once, even when the caller gives up.
#[derive(Debug)]
struct Guard {
    shared: Arc<Shared>,
    probe: bool,
    done: bool,
    // The caller's own deadline, if it set the binding one (`classify::CallerDeadline`).
    caller_deadline: Option<Instant>,
    // The mesh's own deadline, if it binds (`classify::MeshDeadline`).
    mesh_deadline: Option<Instant>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // Dropped at the mesh's own deadline: the endpoint hung, the caller did not cancel.
        if self.mesh_deadline.is_some_and(|at| Instant::now() >= at) {
            self.shared.record(Outcome::Timeout, self.probe);
        } else if self.probe {
            self.shared.release_probe();
        }
    }
}

pin_project! {
    /// The response future of [`Breaker`].
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        guard: Guard,
    }
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<tonic::body::Body>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<http::Response<tonic::body::Body>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx)).map_err(Into::into);
        this.guard.done = true;
        let outcome = Outcome::of(
            result.as_ref().map_err(|e| &**e as _),
            this.guard.caller_deadline,
        );
        this.guard.shared.record(outcome, this.guard.probe);
        Poll::Ready(result)
    }
}

#[cfg(test)]
mod tests;
