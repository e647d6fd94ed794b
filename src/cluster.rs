//! `tunemesh cluster`: the production topology on one machine. Every service and the gateway
//! run as separate `tunemesh serve` processes (two replicas each by default) against real
//! Consul, NATS JetStream, PostgreSQL and Redis on loopback.
//!
//! Each cluster is isolated from any other on the same servers: it starts its own Consul dev
//! agent (service names are fixed, so a shared agent would mix clusters), gets one database per
//! service, its own Redis key prefix and its own JetStream stream prefix, all named after
//! [`ClusterOptions::name`]. The whole-mesh test `tests/mesh/cluster.rs` drives it and kills
//! replicas with SIGKILL.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::process::{Child, Command};

mod command;
pub use command::{ClusterArgs, run};

/// The services a cluster runs, in start order (the gateway last: its readiness needs them).
pub const SERVICES: [&str; 4] = ["player", "playlist", "search", "reco"];

/// What to run and against which servers.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// The `tunemesh` binary every replica runs.
    pub binary: PathBuf,
    /// Names the cluster's databases, key prefix and stream prefix; `[a-z0-9_]` only.
    pub name: String,
    /// Replicas of each service and of the gateway.
    pub replicas: usize,
    /// Logs, media blobs, search indexes and the settings file go here.
    pub dir: PathBuf,
    /// An administrative PostgreSQL URL (it creates and drops the cluster's databases).
    pub postgres_url: String,
    /// Redis.
    pub redis_url: String,
    /// NATS with JetStream.
    pub nats_url: String,
    /// The `consul` binary for the cluster's private agent.
    pub consul_bin: PathBuf,
    /// Extra settings file lines (TOML), e.g. `[player]` qualities; lists cannot be set by
    /// environment variables.
    pub settings_toml: String,
    /// Extra `TUNEMESH_*` variables for every process (e.g. the OTLP endpoint).
    pub env: Vec<(String, String)>,
}

/// One `tunemesh serve` process.
#[derive(Debug)]
pub struct Replica {
    /// `player`, ..., or `gateway`.
    pub service: &'static str,
    /// 0-based replica number within its service.
    pub index: usize,
    /// The gRPC address (services) or the HTTP address (gateway).
    pub addr: SocketAddr,
    /// `/readyz`, `/healthz`, `/metrics` (the gateway serves them on `addr`).
    pub admin: SocketAddr,
    env: Vec<(String, String)>,
    child: Option<Child>,
}

impl Replica {
    /// The process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }
}

/// A running cluster. Dropping it kills every process; [`Cluster::stop`] stops them gently
/// and drops the databases.
#[derive(Debug)]
pub struct Cluster {
    options: ClusterOptions,
    consul_addr: String,
    identity_secret: String,
    replicas: Vec<Replica>,
    consul: Child,
}

impl Cluster {
    /// Starts Consul, prepares the databases, then every replica; returns once each one is
    /// ready (`/readyz` 200).
    pub async fn start(options: ClusterOptions) -> anyhow::Result<Self> {
        std::fs::create_dir_all(options.dir.join("logs"))?;
        let (consul, consul_addr) = start_consul(&options).await?;
        let identity_secret = format!("{}-mesh-identity-{}", options.name, std::process::id());
        let mut cluster = Self {
            consul_addr,
            identity_secret,
            replicas: Vec::new(),
            consul,
            options,
        };
        cluster.create_databases().await?;
        std::fs::write(cluster.settings_file(), &cluster.options.settings_toml)?;
        // Replica 0 of each service first, so schema migrations never race a second replica.
        for index in 0..cluster.options.replicas {
            let first = cluster.replicas.len();
            for service in SERVICES {
                let replica = cluster.replica(service, index)?;
                cluster.replicas.push(replica);
            }
            cluster.wait_ready(first).await?;
        }
        let first = cluster.replicas.len();
        for index in 0..cluster.options.replicas {
            let replica = cluster.replica("gateway", index)?;
            cluster.replicas.push(replica);
        }
        cluster.wait_ready(first).await?;
        Ok(cluster)
    }

    /// Every replica, services first.
    pub fn replicas(&self) -> &[Replica] {
        &self.replicas
    }

    /// The gateways' HTTP addresses.
    pub fn gateways(&self) -> Vec<SocketAddr> {
        self.of("gateway").map(|r| r.addr).collect()
    }

    /// The replicas of `service`.
    pub fn of<'a>(&'a self, service: &'a str) -> impl Iterator<Item = &'a Replica> + 'a {
        self.replicas.iter().filter(move |r| r.service == service)
    }

    /// The cluster's Consul agent, e.g. `http://127.0.0.1:8500`.
    pub fn consul_addr(&self) -> &str {
        &self.consul_addr
    }

    /// The mesh identity secret every process shares (callers sign with it).
    pub fn identity_secret(&self) -> &str {
        &self.identity_secret
    }

    /// The JetStream stream prefix (`<name>`; the stream is `<name>_events`).
    pub fn stream_prefix(&self) -> &str {
        &self.options.name
    }

    /// The Redis key prefix shared by the cluster's processes (`<name>:`).
    pub fn redis_prefix(&self) -> String {
        format!("{}:", self.options.name)
    }

    /// Kills replica `index` of `service` with SIGKILL: no drain, no deregistration.
    pub async fn kill(&mut self, service: &str, index: usize) -> anyhow::Result<()> {
        let replica = self.find(service, index)?;
        if let Some(mut child) = replica.child.take() {
            child.start_kill()?;
            child.wait().await?;
        }
        Ok(())
    }

    /// Starts a killed or stopped replica again on the same addresses and waits until ready.
    pub async fn restart(&mut self, service: &str, index: usize) -> anyhow::Result<()> {
        let logs = self.options.dir.join("logs");
        let settings = self.settings_file();
        let binary = self.options.binary.clone();
        let replica = self.find(service, index)?;
        anyhow::ensure!(replica.child.is_none(), "{service}-{index} is running");
        replica.child = Some(spawn(&binary, &settings, &logs, replica)?);
        let position = self
            .replicas
            .iter()
            .position(|r| r.service == service && r.index == index)
            .unwrap_or_default();
        wait_ready_one(&self.replicas[position]).await
    }

    /// SIGTERM to every process (gateways first), waits for them, stops Consul and drops the
    /// cluster's databases.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.replicas.reverse();
        for replica in &mut self.replicas {
            if let Some(mut child) = replica.child.take() {
                terminate(&mut child).await;
            }
        }
        terminate(&mut self.consul).await;
        self.drop_databases().await
    }

    fn find(&mut self, service: &str, index: usize) -> anyhow::Result<&mut Replica> {
        self.replicas
            .iter_mut()
            .find(|r| r.service == service && r.index == index)
            .with_context(|| format!("no replica {service}-{index}"))
    }

    fn settings_file(&self) -> PathBuf {
        self.options.dir.join("cluster.toml")
    }

    fn database(&self, service: &str) -> String {
        format!("{}_{service}", self.options.name)
    }

    /// A replica with fresh ports and its environment, started.
    fn replica(&self, service: &'static str, index: usize) -> anyhow::Result<Replica> {
        let (addr, admin) = (free_port()?, free_port()?);
        let o = &self.options;
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        let mut set = |k: &str, v: String| env.insert(format!("TUNEMESH_{k}"), v);
        set("CONSUL__ADDR", self.consul_addr.clone());
        set("IDENTITY__SECRET", self.identity_secret.clone());
        set(
            "POSTGRES__URL",
            database_url(&o.postgres_url, &self.database(service))?,
        );
        set("POSTGRES__MAX_CONNECTIONS", "4".into());
        set("REDIS__URL", o.redis_url.clone());
        set("REDIS__KEY_PREFIX", format!("{}:{service}:", o.name));
        set("NATS__URL", o.nats_url.clone());
        set("NATS__STREAM_PREFIX", o.name.clone());
        set("TELEMETRY__SERVICE_NAME", format!("{service}-{index}"));
        set("TELEMETRY__LOG_FORMAT", "json".into());
        set("GRPC__DRAIN_GRACE", "5s".into());
        set("GRPC__DEREGISTER_DELAY", "500ms".into());
        match service {
            "gateway" => {
                set("GATEWAY__ADDR", addr.to_string());
                set("GATEWAY__DRAIN_GRACE", "5s".into());
                // One client address sends everything here: per-address limits would bite.
                for quota in ["PER_IP", "PER_USER", "AUTH_PER_IP"] {
                    set(
                        &format!("GATEWAY__RATE_LIMITS__{quota}__PER_MINUTE"),
                        "0".into(),
                    );
                    set(&format!("GATEWAY__RATE_LIMITS__{quota}__BURST"), "0".into());
                }
            }
            _ => {
                set("GRPC__ADDR", addr.to_string());
                set("ADMIN__ADDR", admin.to_string());
            }
        }
        if service == "player" {
            // Shared by the replicas, as a ReadWriteMany volume is in Kubernetes.
            set("PLAYER__BLOB_DIR", path_text(&o.dir.join("blobs"))?);
            set("PLAYER__INGEST_WORKERS", "1".into());
        }
        if service == "search" {
            let dir = o.dir.join(format!("search-{index}"));
            set("SEARCH__INDEX_DIR", path_text(&dir)?);
        }
        env.extend(o.env.iter().cloned());
        let mut replica = Replica {
            service,
            index,
            addr,
            admin: if service == "gateway" { addr } else { admin },
            env: env.into_iter().collect(),
            child: None,
        };
        let logs = o.dir.join("logs");
        replica.child = Some(spawn(&o.binary, &self.settings_file(), &logs, &replica)?);
        Ok(replica)
    }

    /// Waits for the replicas from `from` on; they start together, so one by one is enough.
    async fn wait_ready(&self, from: usize) -> anyhow::Result<()> {
        for replica in &self.replicas[from..] {
            wait_ready_one(replica).await?;
        }
        Ok(())
    }

    async fn create_databases(&self) -> anyhow::Result<()> {
        let client = admin_client(&self.options.postgres_url).await?;
        // A leftover of an earlier run with the same name goes, quietly.
        client
            .batch_execute("SET client_min_messages = warning")
            .await?;
        for service in SERVICES.iter().copied().chain(["gateway"]) {
            let db = self.database(service);
            client
                .batch_execute(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
                .await?;
            client
                .batch_execute(&format!("CREATE DATABASE \"{db}\""))
                .await
                .with_context(|| format!("cannot create database {db}"))?;
        }
        Ok(())
    }

    async fn drop_databases(&self) -> anyhow::Result<()> {
        let client = admin_client(&self.options.postgres_url).await?;
        for service in SERVICES.iter().copied().chain(["gateway"]) {
            let db = self.database(service);
            client
                .batch_execute(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
                .await?;
        }
        Ok(())
    }
}

/// Starts `tunemesh serve` for `replica`, logging to `<logs>/<service>-<index>.log`. The
/// environment is cleared first so nothing of the caller's (a stray `TUNEMESH_*`) leaks in.
fn spawn(
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
async fn wait_ready_one(replica: &Replica) -> anyhow::Result<()> {
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

/// A private Consul dev agent on free loopback ports, once it has elected itself leader.
async fn start_consul(options: &ClusterOptions) -> anyhow::Result<(Child, String)> {
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

async fn terminate(child: &mut Child) {
    if let Some(pid) = child.id() {
        // tokio can only SIGKILL; SIGTERM lets the process drain and deregister.
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await;
    }
    if tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}

/// A loopback port nothing listens on now (the OS picks it; the listener is closed at once).
fn free_port() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

fn path_text(path: &std::path::Path) -> anyhow::Result<String> {
    path.to_str()
        .map(str::to_owned)
        .with_context(|| format!("{} is not UTF-8", path.display()))
}

/// `admin_url` with its database replaced by `database`.
fn database_url(admin_url: &str, database: &str) -> anyhow::Result<String> {
    let (base, _) = admin_url
        .rsplit_once('/')
        .filter(|(base, _)| base.contains("://"))
        .with_context(|| "the postgres url names no database".to_owned())?;
    Ok(format!("{base}/{database}"))
}

async fn admin_client(url: &str) -> anyhow::Result<tokio_postgres::Client> {
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
