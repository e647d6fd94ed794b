//! Readiness of the whole mesh as the gateway sees it: each upstream service asked over gRPC
//! health, through the same mesh channel real requests take.

use futures::future::{BoxFuture, join_all};
use tonic_health::ServingStatus;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus as WireStatus;
use tonic_health::pb::health_client::HealthClient;
use tunemesh_discovery::Mesh;
use tunemesh_runtime::admin::{ComponentStatus, Readiness, ReadinessReport};

use crate::GatewaySettings;

/// Asks every upstream whether it serves; ready when all do.
#[derive(Debug, Clone)]
pub(crate) struct MeshReadiness {
    mesh: Mesh,
    settings: GatewaySettings,
}

impl MeshReadiness {
    /// Readiness over `settings.upstreams`, reached through `mesh`.
    pub(crate) fn new(mesh: Mesh, settings: GatewaySettings) -> Self {
        Self { mesh, settings }
    }

    async fn status_of(&self, service: &str) -> ComponentStatus {
        let mut client = HealthClient::new(self.mesh.channel(service));
        let request = HealthCheckRequest {
            service: String::new(),
        };
        let answer = tokio::time::timeout(self.settings.readiness_timeout, client.check(request));
        let status = match answer.await {
            Ok(Ok(response)) if response.get_ref().status() == WireStatus::Serving => {
                ServingStatus::Serving
            }
            Ok(Ok(_)) => ServingStatus::NotServing,
            Ok(Err(status)) => {
                tracing::debug!(service, %status, "health check failed");
                ServingStatus::Unknown
            }
            Err(_) => ServingStatus::Unknown,
        };
        ComponentStatus::new(service, status)
    }
}

impl Readiness for MeshReadiness {
    fn check(&self) -> BoxFuture<'_, ReadinessReport> {
        Box::pin(async move {
            let checks = self.settings.upstreams.iter().map(|s| self.status_of(s));
            ReadinessReport::new(join_all(checks).await)
        })
    }
}
