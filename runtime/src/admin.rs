//! The admin HTTP endpoints every process serves: `/metrics`, `/healthz` and `/readyz`.
//!
//! Liveness (`/healthz`) never looks at dependencies: a process that answers is alive, and
//! restarting it would not bring a database back. Readiness (`/readyz`) answers 200 only when
//! every component reports SERVING, and lists each one either way.
//!
//! `/metrics` is served only on the admin listener, never merged into a public router: it
//! names internals and costs a full render per scrape. The probes may be public too
//! ([`probes`]), since load balancers in front of a public port ask for them.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;

use crate::grpc::ServiceHealth;
use crate::grpc::health::OVERALL;

/// Settings of the admin endpoint (`[admin]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminSettings {
    /// Where `/metrics`, `/healthz` and `/readyz` listen; none to serve them elsewhere.
    pub addr: Option<SocketAddr>,
}

impl Default for AdminSettings {
    fn default() -> Self {
        Self {
            addr: Some(SocketAddr::from(([127, 0, 0, 1], 9090))),
        }
    }
}

/// One component's state in a readiness report.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ComponentStatus {
    /// What is reported on, e.g. `player` or `tunemesh.player.v1.PlayerService`.
    pub name: String,
    /// `SERVING`, `NOT_SERVING` or `UNKNOWN`, as gRPC health spells them.
    pub status: String,
}

impl ComponentStatus {
    /// A component with a gRPC health status.
    pub fn new(name: impl Into<String>, status: ServingStatus) -> Self {
        let status = match status {
            ServingStatus::Serving => "SERVING",
            ServingStatus::NotServing => "NOT_SERVING",
            ServingStatus::Unknown => "UNKNOWN",
        };
        Self {
            name: name.into(),
            status: status.to_owned(),
        }
    }

    /// True when the component serves.
    pub fn serving(&self) -> bool {
        self.status == "SERVING"
    }
}

/// The body of `/readyz`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReadinessReport {
    /// True when every component serves.
    pub ready: bool,
    /// Each component and its state.
    pub components: Vec<ComponentStatus>,
}

impl ReadinessReport {
    /// A report over `components`; ready only if there is at least one and all serve.
    pub fn new(components: Vec<ComponentStatus>) -> Self {
        let ready = !components.is_empty() && components.iter().all(ComponentStatus::serving);
        Self { ready, components }
    }
}

/// Something that can say whether it is ready to take traffic.
pub trait Readiness: Send + Sync + 'static {
    /// The current state of every component.
    fn check(&self) -> BoxFuture<'_, ReadinessReport>;
}

impl Readiness for ServiceHealth {
    fn check(&self) -> BoxFuture<'_, ReadinessReport> {
        Box::pin(async move {
            let mut services = self.services();
            if services.is_empty() {
                // A server hosting only health and reflection is ready when it serves at all.
                services.push(OVERALL);
            }
            let mut components = Vec::new();
            for service in services {
                components.push(ComponentStatus::new(service, self.status(service).await));
            }
            ReadinessReport::new(components)
        })
    }
}

/// The admin routes (`/metrics` and the probes), for the admin listener only.
pub fn router(readiness: Arc<dyn Readiness>) -> axum::Router {
    crate::metrics::prometheus();
    probes(readiness).route("/metrics", get(metrics))
}

/// `/healthz` and `/readyz` alone, the part of [`router`] that may be merged into a public
/// router.
pub fn probes(readiness: Arc<dyn Readiness>) -> axum::Router {
    axum::Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(readiness)
}

/// An admin listener, bound and ready to serve.
#[derive(Debug)]
pub struct AdminServer {
    listener: TcpListener,
    local_addr: SocketAddr,
}

impl AdminServer {
    /// Binds `addr` (port 0 picks a free port).
    pub async fn bind(addr: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        Ok(Self {
            listener,
            local_addr,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves [`router`] until `shutdown` is cancelled.
    pub async fn run_until(
        self,
        readiness: Arc<dyn Readiness>,
        shutdown: CancellationToken,
    ) -> std::io::Result<()> {
        tracing::info!(addr = %self.local_addr, "admin endpoint listening");
        axum::serve(self.listener, router(readiness))
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
    }
}

/// Serves [`router`] on `addr` until `shutdown` is cancelled.
pub async fn serve(
    addr: SocketAddr,
    readiness: Arc<dyn Readiness>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    AdminServer::bind(addr)
        .await?
        .run_until(readiness, shutdown)
        .await
}

async fn metrics() -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::metrics::render(),
    )
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(readiness): State<Arc<dyn Readiness>>) -> impl IntoResponse {
    let report = readiness.check().await;
    let status = if report.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(report))
}
