//! Consul going away: calls continue to the endpoints already known; the watch resumes when
//! Consul is back. Runs a private agent on free ports (never the shared one).

use std::net::TcpListener;
use std::process::Stdio;
use std::time::Duration;

use crate::support::harness::{assert_eventually, eventually, servers, unique_prefix};
use anyhow::Context as _;
use tokio::process::{Child, Command};
use tunemesh_discovery::{MeshSettings, Registry};

use super::{Mesh, consul_at, retrying_client, until_watched};
use crate::support::Server;
use crate::support::load::Load;

/// A dev-mode Consul agent of this test's own, killed when dropped.
struct PrivateConsul {
    ports: [u16; 4],
    child: Child,
}

impl PrivateConsul {
    async fn start(ports: [u16; 4]) -> anyhow::Result<Self> {
        let bin = servers()
            .consul_bin
            .clone()
            .context("no consul binary: run scripts/servers.sh")?;
        let [http, lan, wan, server] = ports.map(|p| p.to_string());
        let child = Command::new(bin)
            .args([
                "agent",
                "-dev",
                "-client",
                "127.0.0.1",
                "-bind",
                "127.0.0.1",
            ])
            .args([
                "-http-port",
                &http,
                "-serf-lan-port",
                &lan,
                "-serf-wan-port",
                &wan,
            ])
            .args([
                "-server-port",
                &server,
                "-grpc-port",
                "-1",
                "-dns-port",
                "-1",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let consul = Self { ports, child };
        consul.until_ready().await?;
        Ok(consul)
    }

    fn addr(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports[0])
    }

    async fn until_ready(&self) -> anyhow::Result<()> {
        let url = format!("{}/v1/status/leader", self.addr());
        eventually(Duration::from_secs(30), || async {
            let leader = reqwest::get(&url).await?.text().await?;
            anyhow::ensure!(leader.len() > 2, "no leader yet");
            Ok(())
        })
        .await
    }

    async fn kill(&mut self) -> anyhow::Result<()> {
        Ok(self.child.kill().await?)
    }
}

fn free_ports() -> anyhow::Result<[u16; 4]> {
    // All four held at once so they differ; released just before Consul binds them.
    let listeners = (0..4)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()?;
    let ports: Vec<u16> = listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<_, _>>()?;
    Ok([ports[0], ports[1], ports[2], ports[3]])
}

#[tokio::test]
async fn consul_outage_keeps_known_endpoints_and_the_watch_resumes() -> anyhow::Result<()> {
    let mut consul = PrivateConsul::start(free_ports()?).await?;
    let registry = consul_at(&consul.addr())?;
    let service = unique_prefix("outage");
    let mut replicas = Vec::new();
    for i in 0..2 {
        let server = Server::start(&format!("{service}-{i}")).await?;
        registry.register(&server.registration(&service)).await?;
        replicas.push(server);
    }
    let watch = registry.watch(&service);
    until_watched(&watch, &[&replicas[0].id, &replicas[1].id]).await?;
    let mesh = Mesh::new(registry.clone(), MeshSettings::default());
    let load = Load::start(
        retrying_client(&mesh, &service),
        4,
        Duration::from_millis(4),
    );
    assert_eventually!(load.snapshot().ok >= 200, timeout = Duration::from_secs(30));

    consul.kill().await?;
    let down = load.snapshot();
    assert_eventually!(
        load.snapshot().ok >= down.ok + 500,
        timeout = Duration::from_secs(30)
    );

    let ports = consul.ports;
    drop(consul);
    let _consul = PrivateConsul::start(ports).await?;
    // A dev agent forgets everything: instances register again, and one new one joins.
    let newcomer = Server::start(&format!("{service}-new")).await?;
    for server in replicas.iter().chain([&newcomer]) {
        registry.register(&server.registration(&service)).await?;
    }
    assert_eventually!(
        newcomer.behaviour.calls() > 0,
        timeout = Duration::from_secs(30)
    );

    let stats = load.stop().await;
    println!(
        "consul outage: {} ok, {} failed, {:?}",
        stats.ok, stats.failed, stats.by_replica
    );
    assert_eq!(stats.failed, 0, "failed calls: {:?}", stats.errors);
    Ok(())
}
