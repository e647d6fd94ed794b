//! What the binary can run, in one table: `tunemesh serve <service>` adds one part to its
//! process through [`add`]; `tunemesh up` builds the gRPC services at once ([`build`]), then
//! adds them ([`register`]) and the gateway.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tunemesh_events::EventBus;
use tunemesh_gateway::{Gateway, GatewayContext};
use tunemesh_runtime::admin::{AdminServer, Readiness};
use tunemesh_runtime::process::Process;
use tunemesh_runtime::{App, ServiceContext};

use crate::cli::ServiceName;
use crate::settings::Settings;

/// The gRPC services, in the order `tunemesh up` adds them; the gateway, the edge in front
/// of them, comes after.
pub(crate) const SERVICES: [ServiceName; 4] = [
    ServiceName::Player,
    ServiceName::Playlist,
    ServiceName::Search,
    ServiceName::Reco,
];

/// A part added to a process.
#[derive(Clone)]
pub(crate) struct Added {
    /// Its name in discovery and logs (`player`, ..., `gateway`).
    pub name: &'static str,
    /// Where it listens.
    pub addr: SocketAddr,
    /// What an admin endpoint in front of it answers `/readyz` from: the service's own gRPC
    /// health, or for the gateway the readiness of the services behind it.
    pub readiness: Arc<dyn Readiness>,
}

impl std::fmt::Debug for Added {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Added")
            .field("name", &self.name)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Builds `service` on `ctx` (its gRPC settings, storage, identity and mesh) and adds it to
/// `process`. Every service but the gateway needs `bus`.
pub(crate) async fn add(
    process: &mut Process,
    service: ServiceName,
    settings: &Settings,
    ctx: &ServiceContext,
    bus: Option<&Arc<dyn EventBus>>,
) -> anyhow::Result<Added> {
    if service == ServiceName::Gateway {
        let ctx = &for_service(ctx, name_of(service)).await?;
        return add_gateway(process, settings, ctx).await;
    }
    let built = build(service, settings, ctx, bus).await?;
    Ok(register(process, built))
}

/// A gRPC service built (bound, its store opened), not yet added to a process.
pub(crate) struct Built {
    name: &'static str,
    app: App,
}

/// Builds the gRPC service `service` (not the gateway: see [`add`]) on `ctx`, with `bus`;
/// an error names the service.
pub(crate) async fn build(
    service: ServiceName,
    settings: &Settings,
    ctx: &ServiceContext,
    bus: Option<&Arc<dyn EventBus>>,
) -> anyhow::Result<Built> {
    let name = name_of(service);
    let bus = || {
        bus.cloned()
            .context("no event bus for a service that needs one")
    };
    let ctx = &for_service(ctx, name).await?;
    let app = async {
        anyhow::Ok(match service {
            ServiceName::Gateway => anyhow::bail!("the gateway is not a gRPC service to build"),
            ServiceName::Player => tunemesh_player::build(&settings.player, ctx, bus()?).await?,
            ServiceName::Playlist => {
                tunemesh_playlist::build(&settings.playlist, ctx, bus()?).await?
            }
            ServiceName::Search => tunemesh_search::build(&settings.search, ctx, bus()?).await?,
            ServiceName::Reco => tunemesh_reco::build(&settings.reco, ctx, bus()?).await?,
        })
    }
    .await
    .with_context(|| format!("cannot start {name}"))?;
    Ok(Built { name, app })
}

/// Adds a built service to `process`.
pub(crate) fn register(process: &mut Process, built: Built) -> Added {
    let Built { name, app } = built;
    let added = Added {
        name,
        addr: app.local_addr(),
        readiness: Arc::new(app.health()),
    };
    process.service(name, app);
    added
}

/// The part's name in discovery and logs.
fn name_of(service: ServiceName) -> &'static str {
    match service {
        ServiceName::Gateway => "gateway",
        ServiceName::Player => tunemesh_player::SERVICE_NAME,
        ServiceName::Playlist => tunemesh_playlist::SERVICE_NAME,
        ServiceName::Search => tunemesh_search::SERVICE_NAME,
        ServiceName::Reco => tunemesh_reco::SERVICE_NAME,
    }
}

/// `ctx` for the part `name`: each part calls, and is called, as itself.
async fn for_service(ctx: &ServiceContext, name: &str) -> anyhow::Result<ServiceContext> {
    ctx.for_service(name)
        .await
        .with_context(|| format!("no mutual-TLS identity for {name}"))
}

/// The gateway on `settings.gateway.addr`, reaching the services through `ctx.mesh`.
async fn add_gateway(
    process: &mut Process,
    settings: &Settings,
    ctx: &ServiceContext,
) -> anyhow::Result<Added> {
    let gateway_ctx = GatewayContext {
        storage: ctx.storage.clone(),
        mesh: ctx.mesh.clone(),
    };
    let gateway = Gateway::build(&settings.gateway, gateway_ctx)
        .await
        .context("cannot start the gateway")?;
    let added = Added {
        name: "gateway",
        addr: gateway.local_addr(),
        readiness: gateway.readiness(),
    };
    process.part(added.name, move |shutdown| gateway.run_until(shutdown));
    Ok(added)
}

/// Adds the admin endpoint (`/metrics` and the probes, answering from `readiness`) on `addr`,
/// unless it is turned off; returns where it listens.
pub(crate) async fn add_admin(
    process: &mut Process,
    addr: Option<SocketAddr>,
    readiness: Arc<dyn Readiness>,
) -> anyhow::Result<Option<SocketAddr>> {
    let Some(addr) = addr else {
        return Ok(None);
    };
    let admin = AdminServer::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (admin.addr)"))?;
    let local_addr = admin.local_addr();
    process.admin(admin, readiness);
    Ok(Some(local_addr))
}
