//! The mesh channel against real tonic servers and a real Consul agent.

#[path = "../support/mod.rs"]
mod support;

mod balance;

use std::sync::Arc;

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tunemesh_discovery::{EmbeddedRegistry, Mesh, MeshChannel, MeshSettings, Registry};

use support::{Server, TRAFFIC};

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

/// A client of the health service through the mesh.
fn client(channel: MeshChannel) -> HealthClient<MeshChannel> {
    HealthClient::new(channel)
}
