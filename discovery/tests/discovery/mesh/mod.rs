//! The mesh channel against real tonic servers and a real Consul agent.

mod balance;
mod canary;
mod connection;
mod cut;
mod deadline;
mod endpoints;
mod hang;
mod lifecycle;
mod outage;
mod trace;

use std::net::SocketAddr;
use std::sync::Arc;

use std::time::Duration;
use tonic_health::pb::HealthCheckRequest;

use crate::support::harness::{eventually, servers};
use tonic_health::pb::health_client::HealthClient as Client;
use tunemesh_discovery::{
    ConsulRegistry, ConsulSettings, EmbeddedRegistry, InstanceSet, Mesh, MeshChannel, MeshSettings,
    Registration, Registry, RetryChannel, ServiceInstance,
};

use crate::support::{Server, TRAFFIC};

/// A traffic call (answered according to the replica's mode).
fn traffic() -> HealthCheckRequest {
    HealthCheckRequest {
        service: TRAFFIC.into(),
    }
}

/// `n` in-process replicas registered as `service` in a fresh embedded registry, and a mesh.
async fn embedded_mesh(
    service: &str,
    n: usize,
    settings: MeshSettings,
) -> anyhow::Result<(Vec<Server>, Arc<EmbeddedRegistry>, Mesh)> {
    let registry = Arc::new(EmbeddedRegistry::new());
    let mut servers = Vec::new();
    for i in 0..n {
        let server = Server::start(&format!("{service}-{i}")).await?;
        registry.register(&server.registration(service)).await?;
        servers.push(server);
    }
    let mesh = Mesh::new(registry.clone(), settings);
    Ok((servers, registry, mesh))
}

/// A mesh over one instance of `service` at `addr`, in a fresh embedded registry.
async fn mesh_at(service: &str, addr: SocketAddr, settings: MeshSettings) -> anyhow::Result<Mesh> {
    let registry = Arc::new(EmbeddedRegistry::new());
    let instance = ServiceInstance::new(format!("{service}-0").as_str(), service, addr);
    registry
        .register(&Registration {
            instance,
            check: crate::support::fast_check(),
        })
        .await?;
    Ok(Mesh::new(registry, settings))
}

/// A client of the health service through the mesh.
fn client(channel: MeshChannel) -> Client<MeshChannel> {
    Client::new(channel)
}

/// The only idempotent RPC the tests call.
pub const CHECK: &str = "/grpc.health.v1.Health/Check";

/// A client that retries `Check` within the mesh's budget.
fn retrying_client(mesh: &Mesh, service: &str) -> Client<RetryChannel> {
    Client::new(mesh.channel(service).retrying([CHECK]))
}

/// The shared Consul agent, with short blocking queries so tests notice changes quickly.
fn consul_at(addr: &str) -> anyhow::Result<Arc<ConsulRegistry>> {
    let settings = ConsulSettings {
        addr: addr.to_owned(),
        wait: Duration::from_secs(5),
        max_backoff: Duration::from_millis(500),
        ..ConsulSettings::default()
    };
    Ok(Arc::new(ConsulRegistry::new(settings)?))
}

fn consul() -> anyhow::Result<Arc<ConsulRegistry>> {
    consul_at(&servers().consul_addr)
}

/// `n` in-process replicas registered as `service` in the shared Consul, and a mesh over it;
/// returns once the watch holds all of them.
async fn consul_mesh(
    service: &str,
    n: usize,
    settings: MeshSettings,
) -> anyhow::Result<(Vec<Server>, Arc<ConsulRegistry>, Mesh)> {
    let registry = consul()?;
    let mut servers = Vec::new();
    for i in 0..n {
        let server = Server::start(&format!("{service}-{i}")).await?;
        registry.register(&server.registration(service)).await?;
        servers.push(server);
    }
    let ids: Vec<&str> = servers.iter().map(|s| s.id.as_str()).collect();
    until_watched(&registry.watch(service), &ids).await?;
    let mesh = Mesh::new(registry.clone(), settings);
    Ok((servers, registry, mesh))
}

/// Waits until the watch holds exactly `ids`.
async fn until_watched<S: AsRef<str>>(
    rx: &tokio::sync::watch::Receiver<InstanceSet>,
    ids: &[S],
) -> anyhow::Result<()> {
    let mut want: Vec<&str> = ids.iter().map(AsRef::as_ref).collect();
    want.sort_unstable();
    eventually(Duration::from_secs(20), || async {
        let set = rx.borrow().clone();
        let mut have: Vec<&str> = set.iter().map(|i| i.id.as_str()).collect();
        have.sort_unstable();
        anyhow::ensure!(have == want, "watch holds {have:?}, want {want:?}");
        Ok(())
    })
    .await
}

/// Deregisters replicas a test registered in the shared Consul.
async fn deregister_all(registry: &dyn Registry, servers: &[Server]) {
    for server in servers {
        let _ = registry.deregister(&server.id).await;
    }
}
