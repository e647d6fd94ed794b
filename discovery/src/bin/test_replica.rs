//! `tunemesh-test-replica`: one replica for the mesh tests, run as a child process so tests can
//! SIGKILL and SIGTERM it.
//!
//! Usage: `tunemesh-test-replica <consul-addr> <service> <id> [tag...]`. It binds 127.0.0.1 on
//! port 0, prints `listening <addr>` once registered, and on SIGTERM leaves the mesh the way
//! a real service does: NOT_SERVING, deregister, settle, drain, exit.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::oneshot;
use tokio_stream::wrappers::TcpListenerStream;
use tonic_health::pb::health_server::HealthServer;
use tunemesh_discovery::lifecycle::Registered;
use tunemesh_discovery::testsuite;
use tunemesh_discovery::{
    ConsulRegistry, ConsulSettings, HealthCheck, Registration, ServiceInstance,
};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [consul, service, id, tags @ ..] = args.as_slice() else {
        return Err("usage: tunemesh-test-replica <consul-addr> <service> <id> [tag...]".into());
    };
    // Installed before anyone can know our address, so an early SIGTERM is never fatal.
    let mut term = signal(SignalKind::terminate())?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr: SocketAddr = listener.local_addr()?;
    let behaviour = Arc::new(testsuite::Behaviour::default());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tonic::transport::Server::builder()
        .add_service(HealthServer::new(testsuite::Replica::new(
            id,
            behaviour.clone(),
        )?))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
            let _ = stopped.await;
        });
    let server = tokio::spawn(server);

    let mut instance = ServiceInstance::new(id.as_str(), service.as_str(), addr);
    instance.tags = tags.to_vec();
    let check = HealthCheck {
        interval: Duration::from_millis(300),
        timeout: Duration::from_millis(300),
        ..HealthCheck::default()
    };
    let settings = ConsulSettings {
        addr: consul.clone(),
        ..ConsulSettings::default()
    };
    let registry = Arc::new(ConsulRegistry::new(settings)?);
    let registered = Registered::register(registry, Registration { instance, check }).await?;
    println!("listening {addr}");

    term.recv().await;
    behaviour.set_not_serving();
    // Callers' watches need a moment to drop this instance before the listener closes.
    registered.leave(None, Duration::from_secs(1)).await;
    let _ = stop.send(());
    server.await??;
    Ok(())
}
