//! Services under test: a built [`App`] run on port 0 in the test's runtime, cancelled when the
//! handle is dropped, so a failing test never leaves a server behind.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tunemesh_discovery::Registry;
use tunemesh_runtime::App;
use tunemesh_runtime::grpc::{GrpcServerSettings, ServerError};

/// Server settings for tests: a free loopback port and a short drain.
pub fn grpc_settings() -> GrpcServerSettings {
    GrpcServerSettings {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        drain_grace: Duration::from_secs(5),
        ..GrpcServerSettings::default()
    }
}

/// A running service; dropping it starts its shutdown.
#[derive(Debug)]
pub struct SpawnedApp {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: Option<JoinHandle<Result<(), ServerError>>>,
}

/// Runs `app` (built with [`grpc_settings`]) until the handle is stopped or dropped,
/// registering it in `registry` if one is given.
pub fn spawn_app(app: App, registry: Option<Arc<dyn Registry>>) -> SpawnedApp {
    let addr = app.local_addr();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(app.run_until(registry, shutdown.clone()));
    SpawnedApp {
        addr,
        shutdown,
        task: Some(task),
    }
}

impl SpawnedApp {
    /// Where the service listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A connected channel to the service.
    pub async fn channel(&self) -> anyhow::Result<Channel> {
        Ok(Channel::from_shared(format!("http://{}", self.addr))?
            .connect()
            .await?)
    }

    /// Shuts the service down like SIGTERM does and returns how it ended.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        match self.task.take() {
            Some(task) => Ok(task.await??),
            None => Ok(()),
        }
    }
}

impl Drop for SpawnedApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
