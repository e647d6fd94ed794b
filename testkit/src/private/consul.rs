//! A Consul dev agent of one test (with ACLs on, default deny, when asked), killed when dropped.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::servers;

/// A private Consul agent; with ACLs, its system denies by default and `master` is its
/// management token (Consul 1.8's `acl.tokens.master`).
#[derive(Debug)]
pub struct PrivateConsul {
    _child: Child,
    _dir: tempfile::TempDir,
    http: u16,
}

impl PrivateConsul {
    /// Starts a dev agent without ACLs and waits until it has a leader and a Connect CA: for
    /// tests that must not touch the shared agent (stopping it, rotating its CA).
    pub async fn start() -> anyhow::Result<Self> {
        let this = Self::spawn(None)?;
        let url = format!("{}/v1/connect/ca/roots", this.addr());
        crate::eventually(Duration::from_secs(30), || async {
            let roots: serde_json::Value = reqwest::get(&url).await?.json().await?;
            anyhow::ensure!(
                roots["Roots"].as_array().is_some_and(|r| !r.is_empty()),
                "no CA yet"
            );
            Ok(())
        })
        .await?;
        Ok(this)
    }

    /// Starts the agent and waits until it has a leader and its ACL system answers.
    pub async fn start_with_acls(master: &str) -> anyhow::Result<Self> {
        let this = Self::spawn(Some(format!(
            "acl {{\n  enabled = true\n  default_policy = \"deny\"\n  \
             enable_token_persistence = false\n  tokens {{\n    master = \"{master}\"\n  }}\n}}\n"
        )))?;
        let client = reqwest::Client::new();
        let url = format!("{}/v1/acl/token/self", this.addr());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let answer = client
                .get(&url)
                .header("X-Consul-Token", master)
                .send()
                .await;
            if answer.is_ok_and(|a| a.status().is_success()) {
                return Ok(this);
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "consul with acls never became ready"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A dev agent on free ports, with `config` (HCL) if any.
    fn spawn(config: Option<String>) -> anyhow::Result<Self> {
        let bin = servers()
            .consul_bin
            .clone()
            .unwrap_or_else(|| PathBuf::from("consul"));
        let dir = tempfile::tempdir()?;
        let [http, serf_lan, serf_wan, server] = [
            super::free_port()?,
            super::free_port()?,
            super::free_port()?,
            super::free_port()?,
        ];
        let log = std::fs::File::create(dir.path().join("consul.log"))?;
        let port = |p: u16| p.to_string();
        let mut command = Command::new(bin);
        command
            .args([
                "agent",
                "-dev",
                "-client",
                "127.0.0.1",
                "-bind",
                "127.0.0.1",
            ])
            .args(["-log-level", "warn", "-dns-port", "-1", "-grpc-port", "-1"])
            .args(["-http-port", &port(http), "-serf-lan-port", &port(serf_lan)])
            .args([
                "-serf-wan-port",
                &port(serf_wan),
                "-server-port",
                &port(server),
            ]);
        if let Some(config) = config {
            let file = dir.path().join("config.hcl");
            std::fs::write(&file, config)?;
            command.arg("-config-file").arg(&file);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()?;
        Ok(Self {
            _child: child,
            _dir: dir,
            http,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn addr(&self) -> String {
        format!("http://127.0.0.1:{}", self.http)
    }
}
