//! Running a projection rebuilt by replay: a read model (search-svc's index, reco-svc's
//! model) kept current by durable consumers of the bus, and ready once it has caught up.
//!
//! What every such feed needs, once:
//! - [`consumer_name`]: a durable consumer's name, the replica's own when each replica keeps
//!   its own projection (`<prefix>-<what>-<replica>`, the same on every start of that
//!   replica), shared by the deployment otherwise (`<prefix>-<what>`);
//! - [`resubscribing`]: one attempt (subscribe, then consume until shutdown) run again after
//!   any bus failure, [`RETRY_DELAY`] apart, until shutdown;
//! - [`drained`] and [`follow_catch_up`]: a replica answers only once every one of its
//!   consumers has nothing pending and nothing unsettled, that is once its projection holds
//!   the stream as it was when it started (deliveries are acknowledged only after their
//!   effect is stored, so nothing acknowledged is missing).

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::bus::EventBus;

/// How long a feed waits before subscribing again after the bus failed.
pub const RETRY_DELAY: Duration = Duration::from_millis(500);
/// How often [`follow_catch_up`] looks at the consumers until they have caught up.
pub const CATCH_UP_CHECK: Duration = Duration::from_millis(100);

/// The durable consumer of `what` (a subject's short name) under `prefix`: this replica's
/// own with a `replica` name, shared by every replica without.
pub fn consumer_name(prefix: &str, what: &str, replica: Option<&str>) -> String {
    match replica {
        Some(replica) => format!("{prefix}-{what}-{replica}"),
        None => format!("{prefix}-{what}"),
    }
}

/// Runs `attempt` until it returns `Ok` or `shutdown` is cancelled; after an error, logs it
/// (naming `feed`) and tries again [`RETRY_DELAY`] later.
pub async fn resubscribing<F, Fut>(feed: &str, shutdown: &CancellationToken, mut attempt: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    while !shutdown.is_cancelled() {
        let error = match attempt().await {
            Ok(()) => return,
            Err(error) => error,
        };
        tracing::warn!(
            feed,
            error = format!("{error:#}"),
            "event feed failed; retrying"
        );
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(RETRY_DELAY) => {}
        }
    }
}

/// Whether every consumer in `names` exists and has nothing pending or unsettled.
pub async fn drained(bus: &dyn EventBus, names: &[&str]) -> bool {
    for name in names {
        match bus.consumer_state(name).await {
            Ok(state) if state.pending == 0 && state.in_flight == 0 => {}
            Ok(_) => return false,
            Err(error) => {
                // Not subscribed yet, or the bus is down: not caught up either way.
                tracing::debug!(%error, consumer = name, "consumer state unavailable");
                return false;
            }
        }
    }
    true
}

/// Turns `ready` true once [`drained`], checking every [`CATCH_UP_CHECK`]; returns then, or
/// at shutdown.
pub async fn follow_catch_up(
    bus: &dyn EventBus,
    names: &[&str],
    ready: &watch::Sender<bool>,
    shutdown: &CancellationToken,
) {
    loop {
        if drained(bus, names).await {
            ready.send_replace(true);
            return;
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(CATCH_UP_CHECK) => {}
        }
    }
}
