//! Test support: in-process replicas on port 0, child-process replicas, and a steady load.

#![allow(dead_code)]

pub mod harness;
pub mod load;

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio_stream::wrappers::TcpListenerStream;
use tonic_health::pb::health_server::HealthServer;
use tunemesh_discovery::{HealthCheck, Registration, ServiceInstance};

pub use tunemesh_discovery::testsuite::{Behaviour, REPLICA_HEADER, TRAFFIC};

/// A health check fast enough for tests.
pub fn fast_check() -> HealthCheck {
    HealthCheck {
        interval: Duration::from_millis(200),
        timeout: Duration::from_millis(500),
        ..HealthCheck::default()
    }
}

/// A replica served in this process on 127.0.0.1, port 0.
#[derive(Debug)]
pub struct Server {
    pub id: String,
    pub addr: SocketAddr,
    pub behaviour: Arc<Behaviour>,
    stop: Option<oneshot::Sender<()>>,
}

impl Server {
    /// Starts a replica answering as `id`.
    pub async fn start(id: &str) -> anyhow::Result<Server> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let behaviour = Arc::new(Behaviour::default());
        let health = tunemesh_discovery::testsuite::Replica::new(id, behaviour.clone())?;
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tonic::transport::Server::builder()
            .add_service(HealthServer::new(health))
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                let _ = stopped.await;
            });
        tokio::spawn(server);
        Ok(Server {
            id: id.to_owned(),
            addr,
            behaviour,
            stop: Some(stop),
        })
    }

    /// This replica as an instance of `service`.
    pub fn instance(&self, service: &str) -> ServiceInstance {
        ServiceInstance::new(self.id.as_str(), service, self.addr)
    }

    /// A registration of this replica with a fast check.
    pub fn registration(&self, service: &str) -> Registration {
        Registration {
            instance: self.instance(service),
            check: fast_check(),
        }
    }

    /// Stops serving (graceful: in-flight calls finish).
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A `tunemesh-test-replica` child process, registered in Consul; killed when dropped.
#[derive(Debug)]
pub struct ChildReplica {
    pub id: String,
    pub addr: SocketAddr,
    child: Child,
}

impl ChildReplica {
    /// Starts a replica of `service` registered at `consul` and waits until it is registered.
    pub async fn start(
        consul: &str,
        service: &str,
        id: &str,
        tags: &[&str],
    ) -> anyhow::Result<Self> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tunemesh-test-replica"))
            .args([consul, service, id])
            .args(tags)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("spawning tunemesh-test-replica")?;
        let stdout = child.stdout.take().context("replica stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .context("replica did not start")??
            .context("replica exited before listening")?;
        let addr = line
            .strip_prefix("listening ")
            .context("unexpected replica output")?
            .parse()?;
        Ok(Self {
            id: id.to_owned(),
            addr,
            child,
        })
    }

    /// SIGKILL: the process dies without deregistering.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        self.child.kill().await?;
        Ok(())
    }

    /// SIGTERM: the process leaves the mesh and exits; returns once it has exited.
    pub async fn terminate(&mut self) -> anyhow::Result<std::process::ExitStatus> {
        let pid = self.child.id().context("replica already exited")?;
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await?;
        anyhow::ensure!(status.success(), "kill -TERM {pid} failed");
        Ok(tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await??)
    }
}
