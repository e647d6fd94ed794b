//! Tests on mutual TLS, as the mesh runs: leaves of a test's embedded CA under the
//! architecture's policy, channels that call an address as a given service, and stand-ins
//! served as the runtime serves (the policy's verdict and the method called reach handlers).

use std::net::SocketAddr;

use tokio_util::sync::CancellationToken;
use tonic::service::Routes;
use tonic::transport::{Channel, Endpoint, Server};
use tunemesh_discovery::connect::{self, EmbeddedCa, MeshTls, Policy};
use tunemesh_discovery::{EmbeddedRegistry, Registration, Registry as _};
use tunemesh_runtime::grpc::authorize::AuthorizeLayer;
use tunemesh_runtime::grpc::method::MethodLayer;

/// `service`'s identity from `ca`, under the architecture's policy. Must be called inside a
/// tokio runtime.
pub fn leaf(ca: &EmbeddedCa, service: &str) -> anyhow::Result<MeshTls> {
    Ok(MeshTls::embedded(ca, service, Policy::architecture())?)
}

/// A channel to `addr`, an instance of `callee`, presenting `tls`'s leaf (calling as its
/// service); it connects on first use.
pub fn channel_as(tls: &MeshTls, callee: &str, addr: SocketAddr) -> anyhow::Result<Channel> {
    Ok(Endpoint::from_shared(format!("http://{addr}"))?
        .connect_with_connector_lazy(connect::connector(tls, callee)?))
}

/// Serves `routes` as `service` on a free loopback port over mutual TLS with a leaf of `ca`,
/// until `shutdown`, and registers it in `registry`; returns where it listens.
pub async fn serve_as(
    registry: &EmbeddedRegistry,
    service: &str,
    ca: &EmbeddedCa,
    routes: Routes,
    shutdown: CancellationToken,
) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    // As the runtime's server: refused callers stop here, and the caller check of a
    // handler needs the method called.
    let serve = Server::builder()
        .layer(AuthorizeLayer)
        .layer(MethodLayer)
        .add_routes(routes)
        .serve_with_incoming_shutdown(
            connect::incoming(listener, leaf(ca, service)?),
            shutdown.cancelled_owned(),
        );
    tokio::spawn(serve);
    registry
        .register(&Registration::for_service(service, addr, "test"))
        .await?;
    Ok(addr)
}
