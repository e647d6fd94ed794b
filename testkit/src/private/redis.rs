//! A redis-server of one test, killed when dropped.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::servers;
use crate::tls::ServerCert;

/// A private redis-server listening on a TLS port only (no plaintext port).
#[derive(Debug)]
pub struct PrivateRedis {
    _child: Child,
    port: u16,
}

impl PrivateRedis {
    /// Starts it with `cert`; clients are not asked for certificates.
    pub async fn start_tls_only(cert: &ServerCert) -> anyhow::Result<Self> {
        let bin = servers()
            .redis_bin
            .clone()
            .unwrap_or_else(|| PathBuf::from("redis-server"));
        let port = super::free_port()?;
        let child = Command::new(bin)
            .args(["--port", "0", "--tls-port", &port.to_string()])
            .arg("--tls-cert-file")
            .arg(&cert.cert)
            .arg("--tls-key-file")
            .arg(&cert.key)
            .args(["--tls-auth-clients", "no", "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        super::wait_listening(port, "redis-server", Duration::from_secs(10)).await?;
        Ok(Self {
            _child: child,
            port,
        })
    }

    /// The TLS port (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }
}
