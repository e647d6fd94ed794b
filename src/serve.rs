//! `tunemesh serve <service>`: one service (or the gateway) on production adapters, registered
//! in Consul, with its admin endpoint on its own port.

use std::sync::Arc;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;
use tunemesh_discovery::connect::ConnectCa;
use tunemesh_discovery::{ConsulConnect, ConsulRegistry, Mesh, Registry};
use tunemesh_events::EventBus;
use tunemesh_events::jetstream::JetStreamBus;
use tunemesh_runtime::identity::MeshIdentity;
use tunemesh_runtime::process::Process;
use tunemesh_runtime::{ServiceContext, Storage};

use crate::cli::ServiceName;
use crate::services;
use crate::settings::Settings;

/// Builds and runs `service` until `shutdown` is cancelled. The gateway serves its probes on
/// its public port too, but `/metrics` only on the admin listener.
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
    // The gateway publishes no events: only the services connect to the bus.
    let bus: Option<Arc<dyn EventBus>> = match service {
        ServiceName::Gateway => None,
        _ => Some(Arc::new(
            JetStreamBus::connect(&settings.nats, &settings.jetstream)
                .await
                .context("cannot reach the event bus")?,
        )),
    };
    let ctx = ServiceContext {
        grpc: settings.grpc.clone(),
        storage: Storage::Production {
            postgres: settings.postgres.clone(),
            redis: settings.redis.clone(),
        },
        identity: MeshIdentity::new(&settings.identity)?,
        mesh: Mesh::new(registry.clone(), settings.mesh.clone()),
        // Identities from Consul Connect's CA, callers decided by intentions.
        connect: Some(ConnectCa::Consul(
            ConsulConnect::new(settings.consul.clone()).with_context(|| {
                format!("invalid consul settings (addr {})", settings.consul.addr)
            })?,
        )),
        tls: None,
    };
    let mut process = Process::new(Some(registry));
    let added = services::add(&mut process, service, settings, &ctx, bus.as_ref()).await?;
    services::add_admin(&mut process, settings.admin.addr, added.readiness).await?;
    process.run_until(shutdown).await
}
