//! Classifies a call's result once, for the breaker, the metrics and the retries.
//!
//! Only what the endpoint did counts against it. A call the caller gave up on (its future
//! dropped before any deadline) is never classified at all, and one that ran out of the
//! caller's own deadline is [`Outcome::CallerDeadline`]: neither a failure nor a success, so
//! one client sending tiny deadlines cannot open a breaker that every other caller shares.
//! A call that hung until the mesh's own timeout, or past its per-try timeout, is
//! [`Outcome::Timeout`]: the endpoint's failure (a replica that stopped answering).

use std::error::Error;

use http::HeaderMap;
use tokio::time::Instant;
use tonic::Code;

use super::per_try::TryTimedOut;

/// Marks a call whose deadline came from the caller (shorter than the mesh's own timeout), as
/// the fail-fast layer found it; the endpoint layers read it to tell whose timeout fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CallerDeadline(pub(crate) Instant);

/// Marks a call bound by the mesh's own timeout (no shorter caller deadline), set by the
/// fail-fast layer: a call dropped at or after it hung on the endpoint, it was not cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MeshDeadline(pub(crate) Instant);

/// The caller's deadline carried by a request, if any.
pub(crate) trait CallerDeadlineOf {
    /// The deadline, when the caller set the binding one.
    fn caller_deadline(&self) -> Option<Instant>;

    /// The mesh's own deadline, when it binds.
    fn mesh_deadline(&self) -> Option<Instant>;
}

impl<B> CallerDeadlineOf for http::Request<B> {
    fn caller_deadline(&self) -> Option<Instant> {
        self.extensions().get::<CallerDeadline>().map(|d| d.0)
    }

    fn mesh_deadline(&self) -> Option<Instant> {
        self.extensions().get::<MeshDeadline>().map(|d| d.0)
    }
}

#[cfg(test)]
impl CallerDeadlineOf for () {
    fn caller_deadline(&self) -> Option<Instant> {
        None
    }

    fn mesh_deadline(&self) -> Option<Instant> {
        None
    }
}

/// A test request bound by the mesh's own deadline at the given instant.
#[cfg(test)]
impl CallerDeadlineOf for MeshDeadline {
    fn caller_deadline(&self) -> Option<Instant> {
        None
    }

    fn mesh_deadline(&self) -> Option<Instant> {
        Some(self.0)
    }
}

/// How one call to an endpoint went, as far as the endpoint's health is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// An answer; application errors such as NOT_FOUND count as answers.
    Answered,
    /// A trailers-only gRPC UNAVAILABLE: the endpoint is up but cannot serve.
    Unavailable,
    /// No answer: connection refused, reset, or broken.
    Transport,
    /// No answer within the deadline the caller set: says nothing about the endpoint.
    CallerDeadline,
    /// No answer within the per-try timeout or the mesh's own timeout: the endpoint hangs.
    Timeout,
}

impl Outcome {
    /// Whether the endpoint failed to serve the call.
    pub(crate) fn is_failure(self) -> bool {
        matches!(
            self,
            Outcome::Unavailable | Outcome::Transport | Outcome::Timeout
        )
    }

    /// Classifies an endpoint's result; `caller_deadline` is the request's
    /// [`CallerDeadline`], if it carried one.
    pub(crate) fn of<B>(
        result: Result<&http::Response<B>, &(dyn Error + 'static)>,
        caller_deadline: Option<Instant>,
    ) -> Self {
        match result {
            Ok(response) if grpc_unavailable(response.headers()) => Outcome::Unavailable,
            Ok(_) => Outcome::Answered,
            Err(error) if caller_deadline.is_some() && timed_out(error) => Outcome::CallerDeadline,
            Err(error) if timed_out(error) || cause::<TryTimedOut>(error) => Outcome::Timeout,
            Err(_) => Outcome::Transport,
        }
    }

    /// A label for metrics.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Unavailable => "unavailable",
            Outcome::Transport => "transport",
            Outcome::CallerDeadline => "caller_deadline",
            Outcome::Timeout => "timeout",
        }
    }
}

/// Whether `error` (or what caused it) is a `grpc-timeout` enforced below the endpoint layers
/// (a tonic channel does; the mesh's own connections leave deadlines to the fail-fast layer,
/// and the layers classify a call it drops at a deadline themselves).
fn timed_out(error: &(dyn Error + 'static)) -> bool {
    cause::<tonic::TimeoutExpired>(error)
}

/// Whether `error` or one of its causes is an `E`.
fn cause<E: Error + 'static>(error: &(dyn Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if error.is::<E>() {
            return true;
        }
        next = error.source();
    }
    false
}

/// The gRPC status in `headers` (response headers of a trailers-only answer, or trailers), if
/// they carry one; a value that is not a known code reads as `UNKNOWN`. The one place
/// `grpc-status` is read: the mesh, the services' metrics and the gateway's edge use it.
pub fn grpc_status(headers: &HeaderMap) -> Option<Code> {
    headers
        .get("grpc-status")
        .map(|value| Code::from_bytes(value.as_bytes()))
}

/// Whether response headers carry `grpc-status: 14` (a trailers-only UNAVAILABLE).
pub(crate) fn grpc_unavailable(headers: &HeaderMap) -> bool {
    grpc_status(headers) == Some(Code::Unavailable)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::mesh::BoxError;

    fn failed(error: &BoxError) -> Result<&http::Response<()>, &(dyn Error + 'static)> {
        Err(&**error)
    }

    #[test]
    fn the_callers_own_deadline_is_not_the_endpoints_failure() {
        let timeout: BoxError = Box::new(tonic::TimeoutExpired(()));
        let reset: BoxError = "connection reset".into();
        let now = Some(Instant::now());
        assert_eq!(Outcome::of(failed(&timeout), now), Outcome::CallerDeadline);
        assert!(!Outcome::CallerDeadline.is_failure());
        // The mesh's own timeout is the endpoint being slow: it counts.
        assert_eq!(Outcome::of(failed(&timeout), None), Outcome::Timeout);
        assert!(Outcome::Timeout.is_failure());
        // So does a per-try timeout, whoever set the deadline: the endpoint took far
        // longer than it usually does.
        let hung: BoxError = Box::new(TryTimedOut(Duration::from_millis(200)));
        assert_eq!(Outcome::of(failed(&hung), now), Outcome::Timeout);
        assert_eq!(Outcome::of(failed(&reset), now), Outcome::Transport);
    }
}
