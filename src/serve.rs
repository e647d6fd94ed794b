//! `tunemesh serve <service>`: one service on production adapters, registered in Consul, with
//! its admin endpoint on its own port.

use std::sync::Arc;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;
use tunemesh_discovery::{ConsulRegistry, Mesh, Registry};
use tunemesh_events::EventBus;
use tunemesh_events::jetstream::JetStreamBus;
use tunemesh_gateway::{Gateway, GatewayContext};
use tunemesh_runtime::admin::{self, Readiness};
use tunemesh_runtime::identity::MeshIdentity;
use tunemesh_runtime::{ServiceContext, Storage};

use crate::cli::ServiceName;
use crate::settings::Settings;

/// Builds and runs `service` until `shutdown` is cancelled.
pub async fn serve(
    service: ServiceName,
    settings: &Settings,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    // Before anything is reached: without its secrets a process must not start at all.
    settings.check_secrets(service == ServiceName::Gateway)?;
    let consul = ConsulRegistry::new(settings.consul.clone())
        .with_context(|| format!("invalid consul settings (addr {})", settings.consul.addr))?;
    let registry: Arc<dyn Registry> = Arc::new(consul);
    if service == ServiceName::Gateway {
        return serve_gateway(settings, registry, shutdown).await;
    }
    let bus: Arc<dyn EventBus> = Arc::new(
        JetStreamBus::connect(&settings.nats, &settings.jetstream)
            .await
            .context("cannot reach the event bus")?,
    );
    let ctx = ServiceContext {
        grpc: settings.grpc.clone(),
        storage: Storage::Production {
            postgres: settings.postgres.clone(),
            redis: settings.redis.clone(),
        },
        identity: MeshIdentity::new(&settings.identity)?,
        mesh: Mesh::new(registry.clone(), settings.mesh.clone()),
    };
    let app = match service {
        ServiceName::Player => tunemesh_player::build(&settings.player, &ctx, bus).await?,
        ServiceName::Playlist => tunemesh_playlist::build(&settings.playlist, &ctx, bus).await?,
        ServiceName::Search => tunemesh_search::build(&settings.search, &ctx, bus).await?,
        ServiceName::Reco => tunemesh_reco::build(&settings.reco, &ctx, bus).await?,
        ServiceName::Gateway => unreachable!("the gateway returned above"),
    };
    let admin = settings.admin.addr.map(|addr| {
        let readiness: Arc<dyn Readiness> = Arc::new(app.health());
        tokio::spawn(admin::serve(addr, readiness, shutdown.clone()))
    });
    let result = app.run_until(Some(registry), shutdown.clone()).await;
    shutdown.cancel();
    if let Some(admin) = admin {
        admin.await.context("admin endpoint panicked")??;
    }
    Ok(result?)
}

/// The gateway serves its probes on its public port too, but `/metrics` only on the admin
/// listener.
async fn serve_gateway(
    settings: &Settings,
    registry: Arc<dyn Registry>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let ctx = GatewayContext {
        storage: Storage::Production {
            postgres: settings.postgres.clone(),
            redis: settings.redis.clone(),
        },
        identity: MeshIdentity::new(&settings.identity)?,
        mesh: Mesh::new(registry, settings.mesh.clone()),
    };
    let gateway = Gateway::build(&settings.gateway, ctx)
        .await
        .context("cannot start the gateway")?;
    let admin = settings
        .admin
        .addr
        .map(|addr| tokio::spawn(admin::serve(addr, gateway.readiness(), shutdown.clone())));
    let result = gateway.run_until(shutdown.clone()).await;
    shutdown.cancel();
    if let Some(admin) = admin {
        admin.await.context("admin endpoint panicked")??;
    }
    Ok(result?)
}
