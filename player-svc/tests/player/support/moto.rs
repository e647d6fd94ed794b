//! A private S3-compatible server for one test: moto (PyPI `moto[server]`, installed by
//! scripts/deps.sh) on a free loopback port, stopped when the handle drops.
#![allow(dead_code)] // not every part is called in every build (the `s3` feature on or off)

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use secrecy::SecretString;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tunemesh_player::settings::S3Settings;
use tunemesh_testkit::eventually;

/// A running moto server.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        // Only the process this test started.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `moto_server` from PATH, or where `pip install --user` puts it.
fn program() -> std::path::PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("moto_server"))
            .find(|p| p.is_file())
    });
    let user = std::env::var_os("HOME")
        .map(|home| std::path::Path::new(&home).join(".local/bin/moto_server"));
    on_path.or(user).unwrap_or_else(|| "moto_server".into())
}

impl Moto {
    /// Starts moto and waits until it answers.
    pub async fn start() -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new(program())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                anyhow::anyhow!("cannot run moto_server ({e}): run scripts/deps.sh to install it")
            })?;
        let moto = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        eventually(Duration::from_secs(30), || moto.request("GET", "/")).await?;
        Ok(moto)
    }

    /// Creates `bucket` (moto accepts unsigned requests).
    pub async fn create_bucket(&self, bucket: &str) -> anyhow::Result<()> {
        let status = self.request("PUT", &format!("/{bucket}")).await?;
        anyhow::ensure!(status == 200, "creating bucket {bucket}: HTTP {status}");
        Ok(())
    }

    /// Settings for `bucket` on this server, with moto's accepted dummy credentials.
    pub fn settings(&self, bucket: &str) -> S3Settings {
        S3Settings {
            bucket: bucket.to_owned(),
            endpoint: Some(self.url.clone()),
            allow_http: true,
            access_key_id: Some("testing".to_owned()),
            secret_access_key: Some(SecretString::from("testing-secret")),
            ..S3Settings::default()
        }
    }

    /// One bodiless HTTP/1.1 request; returns the status code.
    async fn request(&self, method: &str, path: &str) -> anyhow::Result<u16> {
        let host = self.url.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(host).await?;
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        let head = String::from_utf8_lossy(&response[..response.len().min(64)]).into_owned();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("not an HTTP response: {head:?}"))?;
        Ok(status)
    }
}
