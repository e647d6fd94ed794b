//! The gateway's HTTP server: bound in `build`, served in `run_until`.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tunemesh_discovery::Mesh;
use tunemesh_runtime::admin;

use crate::GatewaySettings;
use crate::readiness::MeshReadiness;

/// A bound gateway, ready to serve.
#[derive(Debug)]
pub struct Gateway {
    listener: TcpListener,
    local_addr: SocketAddr,
    router: axum::Router,
    settings: GatewaySettings,
}

impl Gateway {
    /// Binds `settings.addr` and assembles the routes; services are reached through `mesh`.
    pub async fn build(settings: &GatewaySettings, mesh: Mesh) -> std::io::Result<Self> {
        let listener = TcpListener::bind(settings.addr).await?;
        let local_addr = listener.local_addr()?;
        let readiness = Arc::new(MeshReadiness::new(mesh, settings.clone()));
        let router = admin::router(readiness);
        Ok(Self {
            listener,
            local_addr,
            router,
            settings: settings.clone(),
        })
    }

    /// The address the gateway listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` is cancelled, then lets in-flight requests finish within the
    /// drain grace period.
    pub async fn run_until(self, shutdown: CancellationToken) -> std::io::Result<()> {
        tracing::info!(addr = %self.local_addr, "gateway listening");
        let serve = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown.clone().cancelled_owned())
            .into_future();
        tokio::pin!(serve);
        tokio::select! {
            result = &mut serve => return result,
            () = shutdown.cancelled() => {}
        }
        match tokio::time::timeout(self.settings.drain_grace, serve).await {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!("gateway requests still in flight after the grace period");
                Ok(())
            }
        }
    }
}
