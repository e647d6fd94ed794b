//! A dev-mode Consul agent of one test's own, on free ports, for what must never touch the
//! shared agent: stopping it, or rotating its Connect CA (which every service on the agent
//! would see).

use std::net::TcpListener;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use tokio::process::{Child, Command};

use crate::{eventually, servers};

/// A private agent, killed when dropped.
#[derive(Debug)]
pub struct PrivateConsul {
    http_port: u16,
    child: Child,
}

impl PrivateConsul {
    /// Starts an agent and waits until it has a leader (and so a Connect CA).
    pub async fn start() -> anyhow::Result<Self> {
        let bin = servers()
            .consul_bin
            .clone()
            .context("no consul binary: run scripts/servers.sh")?;
        let ports = free_ports()?;
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
        let consul = Self {
            http_port: ports[0],
            child,
        };
        let url = format!("{}/v1/connect/ca/roots", consul.addr());
        eventually(Duration::from_secs(30), || async {
            let roots: serde_json::Value = reqwest::get(&url).await?.json().await?;
            anyhow::ensure!(
                roots["Roots"].as_array().is_some_and(|r| !r.is_empty()),
                "no CA yet"
            );
            Ok(())
        })
        .await?;
        Ok(consul)
    }

    /// The agent's HTTP API.
    pub fn addr(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// Stops the agent.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
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
