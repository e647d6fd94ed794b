//! The serving status of one server's gRPC services, as `grpc.health.v1` reports it and as
//! readiness endpoints read it.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::TcpIncoming;

use tonic_health::ServingStatus;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::server::{HealthReporter, HealthService};

/// Serves only `grpc.health.v1` for `health`, in plaintext, on `listener` until `stop`: for
/// checkers without a mesh certificate (Consul's agent, Kubernetes probes) when the server
/// itself requires mutual TLS.
pub(crate) fn serve_plaintext(
    health: &ServiceHealth,
    listener: TcpListener,
    stop: CancellationToken,
) {
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let server = tonic::transport::Server::builder()
        .add_service(health.server())
        .serve_with_incoming_shutdown(incoming, stop.cancelled_owned());
    tokio::spawn(async move {
        if let Err(error) = server.await {
            tracing::warn!(%error, "the health listener stopped");
        }
    });
}

/// The name under which gRPC health reports the whole server.
pub const OVERALL: &str = "";

/// Health of one server: a reporter to change it, a reader for readiness, and the list of
/// services it tracks. Clones share state.
#[derive(Debug, Clone)]
pub struct ServiceHealth {
    reporter: HealthReporter,
    reader: Arc<HealthService>,
    // Filled while the server is assembled, read afterwards; a std mutex is enough since it is
    // never held across an await.
    services: Arc<Mutex<Vec<&'static str>>>,
}

impl ServiceHealth {
    /// Health with nothing tracked yet.
    pub(crate) fn new() -> Self {
        let reporter = HealthReporter::new();
        let reader = Arc::new(HealthService::from_health_reporter(reporter.clone()));
        Self {
            reporter,
            reader,
            services: Arc::default(),
        }
    }

    /// The `grpc.health.v1.Health` service to mount.
    pub(crate) fn server(&self) -> HealthServer<HealthService> {
        HealthServer::new(HealthService::from_health_reporter(self.reporter.clone()))
    }

    /// Starts reporting `service` (as NOT_SERVING until the server runs).
    pub(crate) fn track(&self, service: &'static str) {
        self.services
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(service);
    }

    /// The reporter, to change a service's status while it runs.
    pub fn reporter(&self) -> HealthReporter {
        self.reporter.clone()
    }

    /// The tracked gRPC service names.
    pub fn services(&self) -> Vec<&'static str> {
        self.services
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Sets every tracked service, and the server as a whole, to `status`.
    pub async fn set_all(&self, status: ServingStatus) {
        for service in self.services() {
            self.reporter.set_service_status(service, status).await;
        }
        self.reporter.set_service_status(OVERALL, status).await;
    }

    /// The status of `service` (`""` for the whole server), `Unknown` if it is not tracked.
    pub async fn status(&self, service: &str) -> ServingStatus {
        let request = tonic::Request::new(HealthCheckRequest {
            service: service.to_owned(),
        });
        match self.reader.check(request).await {
            Ok(response) => match response.into_inner().status() {
                tonic_health::pb::health_check_response::ServingStatus::Serving => {
                    ServingStatus::Serving
                }
                tonic_health::pb::health_check_response::ServingStatus::NotServing => {
                    ServingStatus::NotServing
                }
                _ => ServingStatus::Unknown,
            },
            Err(_) => ServingStatus::Unknown,
        }
    }
}
