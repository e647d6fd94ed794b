//! `tunemesh cluster`: the production topology on one machine. Every service and the gateway
//! run as separate `tunemesh serve` processes (two replicas each by default) against real
//! Consul, NATS JetStream, PostgreSQL and Redis on loopback.
//!
//! Each cluster is isolated from any other on the same servers: it starts its own Consul dev
//! agent (service names are fixed, so a shared agent would mix clusters), gets one database per
//! service, its own Redis key prefix and its own JetStream stream prefix, all named after
//! [`ClusterOptions::name`]. Given a `nats-server` binary it runs its own NATS too, as
//! production does: one user per service, allowed only its subjects
//! (`tunemesh_events::access`). The whole-mesh test `tests/mesh/cluster.rs` drives it, kills
//! replicas with SIGKILL and freezes them with SIGSTOP.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use secrecy::{ExposeSecret as _, SecretString};
use tokio::process::Child;
use tunemesh_discovery::connect::Policy;
use tunemesh_discovery::{ConsulConnect, ConsulSettings};
use tunemesh_gateway::settings::SubsonicSettings;
use tunemesh_runtime::secret::generate;

mod command;
mod process;

pub use command::{ClusterArgs, run};
use process::{
    admin_client, database_url, free_port, path_text, signal, spawn, start_consul, start_nats,
    terminate, wait_ready_one,
};

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
    /// NATS with JetStream, used as is (no user) when `nats_bin` is unset.
    pub nats_url: String,
    /// A `nats-server` binary: the cluster then runs its own, with one user per service.
    pub nats_bin: Option<PathBuf>,
    /// The `consul` binary for the cluster's private agent.
    pub consul_bin: PathBuf,
    /// Extra settings file lines (TOML), e.g. `[player]` qualities; lists cannot be set by
    /// environment variables.
    pub settings_toml: String,
    /// Extra `TUNEMESH_*` variables for every process (e.g. the OTLP endpoint).
    pub env: Vec<(String, String)>,
}

/// One `tunemesh serve` process.
pub struct Replica {
    /// `player`, ..., or `gateway`.
    pub service: &'static str,
    /// 0-based replica number within its service.
    pub index: usize,
    /// The gRPC address (services) or the HTTP address (gateway).
    pub addr: SocketAddr,
    /// `/readyz`, `/healthz`, `/metrics` (the gateway serves its probes on `addr` too).
    pub admin: SocketAddr,
    env: Vec<(String, String)>,
    child: Option<Child>,
}

impl std::fmt::Debug for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not its environment: it holds the secrets.
        f.debug_struct("Replica")
            .field("service", &self.service)
            .field("index", &self.index)
            .field("addr", &self.addr)
            .field("pid", &self.pid())
            .finish_non_exhaustive()
    }
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
    /// The gateways' assertion key (PKCS#8 PEM) and its public key, which services get.
    assertion_key: (SecretString, String),
    jwt_secret: SecretString,
    subsonic_pepper: SecretString,
    subsonic_seal_keys: SecretString,
    replicas: Vec<Replica>,
    consul: Child,
    /// The cluster's own nats-server, with its URL and each service's password.
    nats: Option<(Child, String, BTreeMap<&'static str, SecretString>)>,
}

impl Cluster {
    /// Starts Consul, prepares the databases, then every replica; returns once each one is
    /// ready (`/readyz` 200).
    pub async fn start(options: ClusterOptions) -> anyhow::Result<Self> {
        std::fs::create_dir_all(options.dir.join("logs"))?;
        let (consul, consul_addr) = start_consul(&options).await?;
        // Default deny between services, the architecture's calls allowed.
        let connect = ConsulConnect::new(ConsulSettings {
            addr: consul_addr.clone(),
            ..ConsulSettings::default()
        })?;
        connect.apply(&Policy::architecture()).await?;
        // Fresh random secrets per cluster: the gateways share the access-token one and the
        // assertion key (services get only its public half), and nothing outside knows them.
        let (jwt_secret, subsonic_pepper) = (generate(), generate());
        let nats = match &options.nats_bin {
            Some(bin) => {
                let passwords: BTreeMap<_, _> = SERVICES.iter().map(|s| (*s, generate())).collect();
                let pick = |s: &str| {
                    passwords
                        .get(s)
                        .map(|p| p.expose_secret().to_owned())
                        .unwrap_or_default()
                };
                let (child, url) = start_nats(&options, bin, pick).await?;
                Some((child, url, passwords))
            }
            None => None,
        };
        let mut cluster = Self {
            consul_addr,
            assertion_key: tunemesh_runtime::identity::keys::generate_pair(),
            jwt_secret,
            subsonic_pepper,
            subsonic_seal_keys: SubsonicSettings::generate_seal_keys(),
            replicas: Vec::new(),
            consul,
            nats,
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

    /// Where its logs, blobs, search indexes and settings file are.
    pub fn dir(&self) -> &std::path::Path {
        &self.options.dir
    }

    /// The cluster's Consul agent, e.g. `http://127.0.0.1:8500`.
    pub fn consul_addr(&self) -> &str {
        &self.consul_addr
    }

    /// The gateways' assertion signing key (PKCS#8 PEM): what a test acting as the gateway
    /// signs with.
    pub fn assertion_key(&self) -> &SecretString {
        &self.assertion_key.0
    }

    /// The public key the services verify assertions with (SPKI PEM).
    pub fn assertion_public_key(&self) -> &str {
        &self.assertion_key.1
    }

    /// The NATS the services use (the cluster's own, or the one given).
    pub fn nats_url(&self) -> &str {
        self.nats
            .as_ref()
            .map_or(&self.options.nats_url, |(_, url, _)| url)
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

    /// Stops replica `index` of `service` as an orchestrator does (SIGTERM: it drains,
    /// deregisters and saves what it keeps; SIGKILL after 15 s), and waits for it to exit.
    pub async fn terminate(&mut self, service: &str, index: usize) -> anyhow::Result<()> {
        let replica = self.find(service, index)?;
        if let Some(mut child) = replica.child.take() {
            terminate(&mut child).await;
        }
        Ok(())
    }

    /// Freezes replica `index` of `service` with SIGSTOP: it answers nothing and keeps its
    /// connections and registration, like a host in a long GC pause or a hung VM.
    pub async fn freeze(&mut self, service: &str, index: usize) -> anyhow::Result<()> {
        let replica = self.find(service, index)?;
        let child = replica
            .child
            .as_ref()
            .context("the replica is not running")?;
        signal(child, "STOP").await
    }

    /// Wakes a frozen replica with SIGCONT.
    pub async fn thaw(&mut self, service: &str, index: usize) -> anyhow::Result<()> {
        let replica = self.find(service, index)?;
        let child = replica
            .child
            .as_ref()
            .context("the replica is not running")?;
        signal(child, "CONT").await
    }

    /// Starts a killed or terminated replica again on the same addresses and waits until ready.
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
        if let Some((child, _, _)) = &mut self.nats {
            terminate(child).await;
        }
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

    /// The database of `service` (`<name>_<service>`).
    pub fn database(&self, service: &str) -> String {
        format!("{}_{service}", self.options.name)
    }

    /// The URL `service`'s replicas connect to its database with.
    pub fn database_url(&self, service: &str) -> anyhow::Result<String> {
        database_url(&self.options.postgres_url, &self.database(service))
    }

    /// A replica with fresh ports and its environment, started.
    fn replica(&self, service: &'static str, index: usize) -> anyhow::Result<Replica> {
        let (addr, admin) = (free_port()?, free_port()?);
        let o = &self.options;
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        let mut set = |k: &str, v: String| env.insert(format!("TUNEMESH_{k}"), v);
        set("CONSUL__ADDR", self.consul_addr.clone());
        set(
            "IDENTITY__GATEWAY_PUBLIC_KEYS",
            self.assertion_key.1.clone(),
        );
        set("POSTGRES__URL", self.database_url(service)?);
        set("POSTGRES__MAX_CONNECTIONS", "4".into());
        set("REDIS__URL", o.redis_url.clone());
        set("REDIS__KEY_PREFIX", format!("{}:{service}:", o.name));
        set("NATS__URL", self.nats_url().to_owned());
        if let Some(password) = self.nats.as_ref().and_then(|(_, _, p)| p.get(service)) {
            set("NATS__USER", service.to_owned());
            set("NATS__PASSWORD", password.expose_secret().to_owned());
        }
        set("NATS__STREAM_PREFIX", o.name.clone());
        set("TELEMETRY__SERVICE_NAME", format!("{service}-{index}"));
        set("TELEMETRY__LOG_FORMAT", "json".into());
        set("GRPC__DRAIN_GRACE", "5s".into());
        set("GRPC__DEREGISTER_DELAY", "500ms".into());
        // Every process, the gateway too, serves `/metrics` on its own admin port.
        set("ADMIN__ADDR", admin.to_string());
        match service {
            "gateway" => {
                set("GATEWAY__ADDR", addr.to_string());
                set(
                    "GATEWAY__AUTH__JWT_SECRET",
                    self.jwt_secret.expose_secret().to_owned(),
                );
                set(
                    "GATEWAY__ASSERTION__SIGNING_KEY",
                    self.assertion_key.0.expose_secret().to_owned(),
                );
                set(
                    "GATEWAY__SUBSONIC__LOOKUP_PEPPER",
                    self.subsonic_pepper.expose_secret().to_owned(),
                );
                // Shared by the gateways, as the pepper: any replica opens what another sealed.
                set(
                    "GATEWAY__SUBSONIC__SEAL_KEYS",
                    self.subsonic_seal_keys.expose_secret().to_owned(),
                );
                set(
                    "GATEWAY__SUBSONIC__FAILURES_PER_USER__PER_MINUTE",
                    "0".into(),
                );
                set("GATEWAY__SUBSONIC__FAILURES_PER_USER__BURST", "0".into());
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
            }
        }
        // Shared by the player replicas, as a ReadWriteMany volume is in Kubernetes, and read
        // by the gateways, which mount it read only there.
        let blobs = path_text(&o.dir.join("blobs"))?;
        if service == "gateway" {
            set("GATEWAY__BLOBS__DIR", blobs.clone());
        }
        if service == "player" {
            set("PLAYER__BLOB_DIR", blobs);
            set("PLAYER__INGEST_WORKERS", "1".into());
        }
        if service == "search" {
            let dir = o.dir.join(format!("search-{index}"));
            set("SEARCH__INDEX_DIR", path_text(&dir)?);
            // Its durable consumers are named after it; the host name would be shared.
            set("SEARCH__REPLICA", format!("search-{index}"));
        }
        env.extend(o.env.iter().cloned());
        let mut replica = Replica {
            service,
            index,
            addr,
            admin,
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
