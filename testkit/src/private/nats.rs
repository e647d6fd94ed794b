//! A nats-server of one test with JetStream, run from a configuration file, killed when dropped.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::servers;

/// A private nats-server with JetStream in a temporary folder.
#[derive(Debug)]
pub struct PrivateNats {
    _child: Child,
    _dir: tempfile::TempDir,
    port: u16,
}

impl PrivateNats {
    /// Starts it with `config` (e.g. an `authorization { ... }` block) after the listen and
    /// JetStream lines this function writes.
    pub async fn start(config: &str) -> anyhow::Result<Self> {
        let bin = servers()
            .nats_bin
            .clone()
            .unwrap_or_else(|| PathBuf::from("nats-server"));
        let dir = tempfile::tempdir()?;
        let port = super::free_port()?;
        let store = dir.path().join("jetstream");
        let file = dir.path().join("nats.conf");
        std::fs::write(
            &file,
            format!(
                "listen: 127.0.0.1:{port}\njetstream {{\n  store_dir: {:?}\n}}\n{config}\n",
                store.display().to_string()
            ),
        )?;
        let log = std::fs::File::create(dir.path().join("nats.log"))?;
        let child = Command::new(bin)
            .arg("-c")
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()?;
        super::wait_listening(port, "nats-server", Duration::from_secs(10)).await?;
        Ok(Self {
            _child: child,
            _dir: dir,
            port,
        })
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}
