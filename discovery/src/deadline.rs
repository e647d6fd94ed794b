//! Deadline propagation: an incoming `grpc-timeout`, minus time spent, bounds outbound calls.
//!
//! A server mounts [`DeadlineLayer`]; it runs each handler inside a task-local deadline, which
//! the mesh channel reads. Task-locals do not cross `tokio::spawn`: a handler that spawns
//! outbound calls carries the deadline over with [`Deadline::scope`].

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use tokio::time::Instant;
use tower::{Layer, Service};

tokio::task_local! {
    static CURRENT: Deadline;
}

/// The name of the gRPC timeout header.
pub const GRPC_TIMEOUT: &str = "grpc-timeout";

/// [`GRPC_TIMEOUT`] as a header name, so a call does not parse the name again.
pub(crate) static GRPC_TIMEOUT_HEADER: HeaderName = HeaderName::from_static(GRPC_TIMEOUT);

/// The instant by which the caller of the current request wants its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deadline(Instant);

impl Deadline {
    /// A deadline at `instant`.
    pub fn at(instant: Instant) -> Self {
        Self(instant)
    }

    /// A deadline `timeout` from now.
    pub fn after(timeout: Duration) -> Self {
        Self(Instant::now() + timeout)
    }

    /// The instant itself.
    pub fn instant(self) -> Instant {
        self.0
    }

    /// Time left, zero once passed.
    pub fn remaining(self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }

    /// The deadline of the request being served by this task, if it had one.
    pub fn current() -> Option<Deadline> {
        CURRENT.try_with(|d| *d).ok()
    }

    /// Runs `fut` with `deadline` as the current deadline (the earlier one wins when nested).
    pub async fn scope<F: Future>(deadline: Deadline, fut: F) -> F::Output {
        let deadline = Deadline::current().map_or(deadline, |outer| outer.min(deadline));
        CURRENT.scope(deadline, fut).await
    }

    /// The deadline a request's `grpc-timeout` header asks for, counted from now.
    pub fn from_headers(headers: &HeaderMap) -> Option<Deadline> {
        let value = headers.get(&GRPC_TIMEOUT_HEADER)?.to_str().ok()?;
        parse_grpc_timeout(value).map(Deadline::after)
    }
}

/// Parses a `grpc-timeout` value: 1 to 8 ASCII digits and a unit (`H M S m u n`); anything
/// else is `None`, never a panic (the value may come from any client).
pub fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    // Split off the last character, not the last byte: a value ending in a multi-byte
    // character has no unit, and splitting inside it would panic.
    let (unit_at, _) = value.char_indices().next_back()?;
    let (digits, unit) = value.split_at(unit_at);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// Encodes a duration as a `grpc-timeout` value, in the finest unit that fits 8 digits.
///
/// A call without a deadline of its caller sends the mesh's whole timeout, the same value
/// every time: each thread keeps the last value it encoded, and a repeat costs a reference
/// count instead of formatting and allocating a header again.
pub fn encode_grpc_timeout(timeout: Duration) -> HeaderValue {
    thread_local! {
        static LAST: RefCell<Option<(Duration, HeaderValue)>> = const { RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        match &*last {
            Some((at, value)) if *at == timeout => value.clone(),
            _ => {
                let value = format_grpc_timeout(timeout);
                *last = Some((timeout, value.clone()));
                value
            }
        }
    })
}

fn format_grpc_timeout(timeout: Duration) -> HeaderValue {
    const MAX: u128 = 99_999_999;
    let nanos = timeout.as_nanos();
    let (n, unit) = [
        (1, 'n'),
        (1_000, 'u'),
        (1_000_000, 'm'),
        (1_000_000_000, 'S'),
    ]
    .into_iter()
    .map(|(per, unit)| (nanos / per, unit))
    .find(|(n, _)| *n <= MAX)
    .unwrap_or(((nanos / 3_600_000_000_000).min(MAX), 'H'));
    // Digits and an ASCII letter always make a valid header value.
    HeaderValue::from_str(&format!("{n}{unit}")).unwrap_or(HeaderValue::from_static("1H"))
}

/// Server-side layer: runs each request inside the deadline its `grpc-timeout` sets.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeadlineLayer;

impl<S> Layer<S> for DeadlineLayer {
    type Service = DeadlineService<S>;

    fn layer(&self, inner: S) -> DeadlineService<S> {
        DeadlineService { inner }
    }
}

/// See [`DeadlineLayer`].
#[derive(Debug, Clone)]
pub struct DeadlineService<S> {
    inner: S,
}

impl<S, B> Service<http::Request<B>> for DeadlineService<S>
where
    S: Service<http::Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let deadline = Deadline::from_headers(req.headers());
        let fut = self.inner.call(req);
        match deadline {
            Some(deadline) => Box::pin(CURRENT.scope(deadline, fut)),
            None => Box::pin(fut),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeout_round_trips_in_the_finest_unit_that_fits() {
        for (d, text) in [
            (Duration::from_millis(250), "250000u"),
            (Duration::from_secs(3), "3000000u"),
            (Duration::from_secs(200), "200000m"),
            (Duration::from_secs(200_000), "200000S"),
        ] {
            let encoded = encode_grpc_timeout(d);
            assert_eq!(encoded, text);
            assert_eq!(parse_grpc_timeout(text), Some(d));
        }
    }

    /// Found by the `grpc_timeout` fuzz target: a value ending in a multi-byte character
    /// made `split_at` cut inside it and panic.
    #[test]
    fn malformed_grpc_timeouts_are_refused_without_panicking() {
        for text in [
            "",
            "S",
            "1é",
            "é",
            "12345678é",
            "+5S",
            "-5S",
            " 5S",
            "123456789S",
            "5x",
        ] {
            assert_eq!(parse_grpc_timeout(text), None, "{text:?}");
        }
    }

    #[tokio::test]
    async fn deadline_layer_runs_the_handler_within_the_incoming_grpc_timeout() {
        use tower::ServiceExt;
        let handler = tower::service_fn(|_: http::Request<()>| async {
            Ok::<_, std::convert::Infallible>(Deadline::current())
        });
        let mut request = http::Request::new(());
        request
            .headers_mut()
            .insert(GRPC_TIMEOUT, HeaderValue::from_static("200m"));
        let seen = DeadlineLayer.layer(handler).oneshot(request).await;
        let remaining = seen.ok().flatten().map(Deadline::remaining);
        let expected = Duration::from_millis(100)..=Duration::from_millis(200);
        assert!(
            remaining.is_some_and(|r| expected.contains(&r)),
            "{remaining:?}"
        );
    }

    #[tokio::test]
    async fn nested_scopes_keep_the_earlier_deadline() {
        let outer = Deadline::after(Duration::from_millis(100));
        let inner = Deadline::after(Duration::from_secs(10));
        let seen =
            Deadline::scope(outer, Deadline::scope(inner, async { Deadline::current() })).await;
        assert_eq!(seen, Some(outer));
    }

    #[test]
    fn malformed_grpc_timeouts_are_ignored() {
        for text in ["", "S", "123456789S", "12x", "-1S", "1.5S"] {
            assert_eq!(parse_grpc_timeout(text), None, "{text}");
        }
    }
}
