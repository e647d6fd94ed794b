//! Health follows the index: NOT_SERVING until the replay has caught up, then SERVING.
//!
//! The runtime's server turns every service SERVING when it starts; this task watches the
//! reported status and turns it back to NOT_SERVING at once while the index is still being
//! built, then SERVING when the feed says it has caught up. Searches check readiness on
//! their own too (UNAVAILABLE before), so the instant between the two writes is harmless.

use futures::StreamExt as _;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_server::Health as _;
use tonic_health::server::{HealthReporter, HealthService};
use tunemesh_proto::search::v1::search_service_server::SERVICE_NAME;
use tunemesh_proto::tonic;

/// The whole server's name in gRPC health.
const OVERALL: &str = "";

/// Keeps health NOT_SERVING until `ready` turns true, then reports SERVING and returns.
pub async fn follow(
    reporter: HealthReporter,
    mut ready: watch::Receiver<bool>,
    shutdown: CancellationToken,
) {
    let set = |status: ServingStatus| {
        let reporter = reporter.clone();
        async move {
            reporter.set_service_status(OVERALL, status).await;
            reporter.set_service_status(SERVICE_NAME, status).await;
        }
    };
    let service = HealthService::from_health_reporter(reporter.clone());
    let request = tonic::Request::new(HealthCheckRequest {
        service: SERVICE_NAME.to_owned(),
    });
    let mut statuses = match service.watch(request).await {
        Ok(response) => response.into_inner(),
        Err(status) => {
            tracing::warn!(%status, "cannot watch search health; readiness left to the server");
            return;
        }
    };
    let mut watching = true;
    loop {
        if *ready.borrow_and_update() {
            if !shutdown.is_cancelled() {
                set(ServingStatus::Serving).await;
            }
            return;
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            changed = ready.changed() => {
                if changed.is_err() {
                    // The feed is gone without ever being ready: stay NOT_SERVING.
                    return;
                }
            }
            status = statuses.next(), if watching => {
                let serving = matches!(
                    status,
                    Some(Ok(ref s)) if s.status
                        == tonic_health::pb::health_check_response::ServingStatus::Serving as i32
                );
                if serving && !*ready.borrow() {
                    set(ServingStatus::NotServing).await;
                }
                // The stream ends only with the reporter; then just wait for readiness.
                watching = status.is_some();
            }
        }
    }
}
