//! The processes of a cluster: spawning `tunemesh serve`, its private Consul agent, stopping
//! them, and the bare HTTP probes that tell when they are ready.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::process::{Child, Command};

use super::{ClusterOptions, Replica};

/// Starts `tunemesh serve` for `replica`, logging to `<logs>/<service>-<index>.log`. The
/// environment is cleared first so nothing of the caller's (a stray `TUNEMESH_*`) leaks in.
pub(super) fn spawn(
    binary: &PathBuf,
    settings: &PathBuf,
    logs: &std::path::Path,
    replica: &Replica,
) -> anyhow::Result<Child> {
    let log_path = logs.join(format!("{}-{}.log", replica.service, replica.index));
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)?;
    let mut command = Command::new(binary);
    command
        .args(["--config"])
        .arg(settings)
        .args(["serve", replica.service])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(replica.env.iter().map(|(k, v)| (k, v)))
        .current_dir(logs)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true);
    command
        .spawn()
        .with_context(|| format!("cannot run {}", binary.display()))
}

/// Polls `/readyz` until 200; fails early, with the log's tail, if the process exits.
pub(super) async fn wait_ready_one(replica: &Replica) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if http_status(replica.admin, "/readyz").await == Some(200) {
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{}-{} not ready within 60 s",
            replica.service,
            replica.index
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A private nats-server with JetStream on a free loopback port, whose only users are the
/// services, each limited to its own subjects (`tunemesh_events::access`); `password` gives
/// each one's. The configuration holds the passwords: it is written mode 0600.
pub(super) async fn start_nats(
    options: &ClusterOptions,
    bin: &std::path::Path,
    password: impl Fn(&str) -> String,
) -> anyhow::Result<(Child, String)> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let addr = free_port()?;
    let store = path_text(&options.dir.join("nats"))?;
    let users =
        tunemesh_events::access::authorization(&options.name, |s| format!("\"{}\"", password(s)));
    let config = format!("listen: {addr}\njetstream {{\n  store_dir: {store:?}\n}}\n{users}");
    let file = options.dir.join("nats.conf");
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&file)?;
    std::io::Write::write_all(&mut out, config.as_bytes())?;
    let log = std::fs::File::create(options.dir.join("logs/nats.log"))?;
    let mut child = Command::new(bin)
        .arg("-c")
        .arg(&file)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        if let Some(status) = child.try_wait()? {
            anyhow::bail!(
                "nats-server exited with {status}; see {}",
                options.dir.display()
            );
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "nats-server never listened"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok((child, format!("nats://{addr}")))
}

/// A private Consul dev agent on free loopback ports, once it has elected itself leader.
pub(super) async fn start_consul(options: &ClusterOptions) -> anyhow::Result<(Child, String)> {
    let [http, serf_lan, serf_wan, server] =
        [free_port()?, free_port()?, free_port()?, free_port()?];
    let log = std::fs::File::create(options.dir.join("logs/consul.log"))?;
    let port = |a: SocketAddr| a.port().to_string();
    let mut child = Command::new(&options.consul_bin)
        .args([
            "agent",
            "-dev",
            "-client",
            "127.0.0.1",
            "-bind",
            "127.0.0.1",
        ])
        .args(["-node", &options.name, "-log-level", "warn"])
        .args(["-dns-port", "-1", "-grpc-port", "-1"])
        .args(["-http-port", &port(http), "-serf-lan-port", &port(serf_lan)])
        .args([
            "-serf-wan-port",
            &port(serf_wan),
            "-server-port",
            &port(server),
        ])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot run {}", options.consul_bin.display()))?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while http_body(http, "/v1/status/leader")
        .await
        .is_none_or(|b| !b.contains("127.0.0.1"))
    {
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("consul exited with {status}; see {}", options.dir.display());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "consul elected no leader"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok((child, format!("http://{http}")))
}

/// Sends `signal` (`TERM`, `STOP`, `CONT`) to the child: tokio itself can only SIGKILL.
pub(super) async fn signal(child: &Child, signal: &str) -> anyhow::Result<()> {
    let pid = child.id().context("the process has exited")?;
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .await?;
    anyhow::ensure!(status.success(), "kill -{signal} {pid} failed");
    Ok(())
}

pub(super) async fn terminate(child: &mut Child) {
    // SIGTERM lets the process drain and deregister; SIGCONT wakes it if it was frozen.
    let _ = signal(child, "TERM").await;
    let _ = signal(child, "CONT").await;
    if tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}

/// A loopback port nothing listens on now (the OS picks it; the listener is closed at once).
pub(super) fn free_port() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

pub(super) fn path_text(path: &std::path::Path) -> anyhow::Result<String> {
    path.to_str()
        .map(str::to_owned)
        .with_context(|| format!("{} is not UTF-8", path.display()))
}

/// `admin_url` with its database replaced by `database`.
pub(super) fn database_url(admin_url: &str, database: &str) -> anyhow::Result<String> {
    let (base, _) = admin_url
        .rsplit_once('/')
        .filter(|(base, _)| base.contains("://"))
        .with_context(|| "the postgres url names no database".to_owned())?;
    Ok(format!("{base}/{database}"))
}

pub(super) async fn admin_client(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .context("cannot reach postgresql")?;
    tokio::spawn(connection);
    Ok(client)
}

async fn http_status(addr: SocketAddr, path: &str) -> Option<u16> {
    let response = http_get(addr, path).await?;
    response.split_whitespace().nth(1)?.parse().ok()
}

async fn http_body(addr: SocketAddr, path: &str) -> Option<String> {
    let response = http_get(addr, path).await?;
    Some(response.split_once("\r\n\r\n")?.1.to_owned())
}

/// A bare HTTP/1.0 GET: enough for health endpoints, and no HTTP client in the binary.
async fn http_get(addr: SocketAddr, path: &str) -> Option<String> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await.ok()?;
        Some(response)
    };
    tokio::time::timeout(Duration::from_secs(2), exchange)
        .await
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_url_replaces_only_the_database() {
        let url = database_url("postgres://postgres@127.0.0.1:5432/postgres", "c_player");
        assert_eq!(
            url.expect("valid"),
            "postgres://postgres@127.0.0.1:5432/c_player"
        );
        assert!(database_url("nonsense", "x").is_err());
    }
}
