//! Retries of idempotent calls, within a per-service budget, with jittered backoff, never past
//! the caller's deadline. Callers opt in per RPC path with [`super::MeshChannel::retrying`],
//! or per call with the [`Idempotent`] request extension (a write carrying an idempotency
//! key, which the service deduplicates).
//!
//! Every try but the last allowed one is marked [`Retryable`], so the endpoint layers bound it
//! (the first by the endpoint's observed latency, retries more patiently, `per_try.rs`) and a
//! hung replica costs one short wait; the last try has the rest of the deadline, so a call
//! that is slow everywhere still gets its answer. A streaming call is retried only until its response headers arrive: after
//! that its body belongs to the caller (the gateway's audio resumes by Range); a unary call
//! is retried until its whole answer arrived (`answer.rs`).

use std::fmt;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::{BodyExt, Full};
use tokio::time::Instant;
use tonic::body::Body;
use tower::retry::budget::{Budget, TpsBudget};
use tower::{Service, ServiceExt};

use super::MeshChannel;
use super::answer::read_ahead;
use super::classify::grpc_unavailable;
use super::error::{MeshError, MeshErrorKind};
use super::per_try::Retryable;
use super::split::Streaming;
use crate::deadline::Deadline;
use crate::settings::{MeshSettings, RetrySettings};

/// Shared by all clones of a service's channel: the budget is per service.
pub(crate) struct Context {
    budget: TpsBudget,
    settings: RetrySettings,
    timeout: Duration,
    retries: metrics::Counter,
    exhausted: metrics::Counter,
}

impl Context {
    pub(crate) fn new(settings: &MeshSettings, service: Arc<str>) -> Self {
        let retry = &settings.retry;
        // TpsBudget asserts on these bounds; clamp instead of panicking on a bad setting.
        let window = retry
            .budget_window
            .clamp(Duration::from_secs(1), Duration::from_secs(60));
        let min_per_sec = retry.min_per_sec.min(i32::MAX as u32 - 1);
        let ratio = if retry.ratio.is_finite() {
            retry.ratio.clamp(0.0, 1000.0)
        } else {
            0.0
        };
        let label = service.to_string();
        Self {
            budget: TpsBudget::new(window, min_per_sec, ratio),
            settings: retry.clone(),
            timeout: settings.timeout,
            retries: metrics::counter!("tunemesh_mesh_retries_total", "service" => label.clone()),
            exhausted: metrics::counter!("tunemesh_mesh_retry_budget_exhausted_total", "service" => label),
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        // `attempt` counts calls made so far: the first retry waits up to `backoff`.
        let exp = self
            .settings
            .backoff
            .saturating_mul(1 << attempt.saturating_sub(1).min(16));
        // Full jitter: spreads the retries of many callers that failed together.
        exp.min(self.settings.max_backoff)
            .mul_f64(rand::random::<f64>())
    }
}

/// Request extension: this call is safe to send twice (a write whose idempotency key the
/// service deduplicates), so a [`RetryChannel`] retries it whatever its path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Idempotent;

/// A [`MeshChannel`] that retries the idempotent RPCs it was given.
#[derive(Clone)]
pub struct RetryChannel {
    channel: MeshChannel,
    idempotent: Arc<[String]>,
}

impl RetryChannel {
    pub(crate) fn new(channel: MeshChannel, idempotent: Vec<String>) -> Self {
        Self {
            channel,
            idempotent: idempotent.into(),
        }
    }

    fn is_idempotent(&self, path: &str) -> bool {
        self.idempotent
            .iter()
            .any(|p| p == path || (p.ends_with('/') && path.starts_with(p.as_str())))
    }
}

impl fmt::Debug for RetryChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryChannel")
            .field("service", &self.channel.name)
            .field("idempotent", &self.idempotent)
            .finish()
    }
}

impl Service<http::Request<Body>> for RetryChannel {
    type Response = http::Response<Body>;
    type Error = MeshError;
    type Future = BoxFuture<'static, Result<http::Response<Body>, MeshError>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), MeshError>> {
        self.channel.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let keyed = req.extensions().get::<Idempotent>().is_some();
        if !keyed && !self.is_idempotent(req.uri().path()) {
            return self.channel.call(req);
        }
        Box::pin(call_with_retries(self.channel.clone(), req))
    }
}

async fn call_with_retries(
    channel: MeshChannel,
    req: http::Request<Body>,
) -> Result<http::Response<Body>, MeshError> {
    let context = channel.retry.clone();
    context.budget.deposit();
    let deadline = [Deadline::current(), Deadline::from_headers(req.headers())]
        .into_iter()
        .flatten()
        .fold(Deadline::after(context.timeout), Ord::min);
    let (parts, body) = req.into_parts();
    let streaming = parts.extensions.get::<Streaming>().is_some();
    // Unary request bodies are small; buffering them is what makes a second attempt possible.
    let body = body
        .collect()
        .await
        .map_err(|e| MeshError::unavailable(channel.name.clone(), e.into()))?
        .to_bytes();
    let last = context.settings.max_attempts.max(1);
    let attempt = |parts: &http::request::Parts, tries: u32| {
        let mut req = rebuild(parts, body.clone());
        if tries < last {
            let try_ = match tries {
                1 => Retryable::First,
                _ => Retryable::Again,
            };
            req.extensions_mut().insert(try_);
        }
        req
    };
    Deadline::scope(deadline, async {
        let mut tries = 1;
        loop {
            let result = match channel.clone().oneshot(attempt(&parts, tries)).await {
                Ok(response) if !streaming => read_ahead(&channel.name, response, deadline).await,
                result => result,
            };
            if !retryable(&result) || tries >= context.settings.max_attempts {
                return result;
            }
            let backoff = context.backoff(tries);
            if Instant::now() + backoff >= deadline.instant() {
                return result;
            }
            if !context.budget.withdraw() {
                context.exhausted.increment(1);
                return result;
            }
            context.retries.increment(1);
            tokio::time::sleep(backoff).await;
            tries += 1;
        }
    })
    .await
}

fn rebuild(parts: &http::request::Parts, body: Bytes) -> http::Request<Body> {
    let mut req = http::Request::new(Body::new(Full::new(body)));
    *req.method_mut() = parts.method.clone();
    *req.uri_mut() = parts.uri.clone();
    *req.version_mut() = parts.version;
    *req.headers_mut() = parts.headers.clone();
    *req.extensions_mut() = parts.extensions.clone();
    req
}

/// Failures an endpoint caused and another may not have: a transport failure, a per-try
/// timeout, or a trailers-only UNAVAILABLE. Deadlines are not retried: the time is spent.
fn retryable(result: &Result<http::Response<Body>, MeshError>) -> bool {
    match result {
        Ok(response) => grpc_unavailable(response.headers()),
        Err(error) => error.kind() == MeshErrorKind::Unavailable,
    }
}
