//! A Consul dev agent of one test with ACLs on (default deny), killed when dropped.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::servers;

/// A private Consul agent whose ACL system denies by default; `master` is its management
/// token (Consul 1.8's `acl.tokens.master`).
#[derive(Debug)]
pub struct PrivateConsul {
    _child: Child,
    _dir: tempfile::TempDir,
    http: u16,
}

impl PrivateConsul {
    /// Starts the agent and waits until it has a leader and its ACL system answers.
    pub async fn start_with_acls(master: &str) -> anyhow::Result<Self> {
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
        let config = dir.path().join("acl.hcl");
        std::fs::write(
            &config,
            format!(
                "acl {{\n  enabled = true\n  default_policy = \"deny\"\n  \
                 enable_token_persistence = false\n  tokens {{\n    master = \"{master}\"\n  }}\n}}\n"
            ),
        )?;
        let log = std::fs::File::create(dir.path().join("consul.log"))?;
        let port = |p: u16| p.to_string();
        let child = Command::new(bin)
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
            ])
            .arg("-config-file")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()?;
        let this = Self {
            _child: child,
            _dir: dir,
            http,
        };
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

    /// `http://127.0.0.1:<port>`.
    pub fn addr(&self) -> String {
        format!("http://127.0.0.1:{}", self.http)
    }
}
