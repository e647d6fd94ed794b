//! `tunemesh up`: every service and the gateway in one process, each its own gRPC server on
//! loopback, calling each other over real gRPC through the mesh channel, discovered through the
//! embedded registry. Same code paths as a fleet, nothing to install.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;
use tunemesh_discovery::connect::{self, ConnectCa, EmbeddedCa};
use tunemesh_discovery::{EmbeddedRegistry, Mesh, Registry};
use tunemesh_events::EventBus;
use tunemesh_events::embedded::{EmbeddedBus, EmbeddedSettings};
use tunemesh_runtime::identity::{MeshIdentity, keys};
use tunemesh_runtime::process::Process;
use tunemesh_runtime::{ServiceContext, Storage};

use crate::cli::ServiceName;
use crate::services::{self, SERVICES};
use crate::settings::Settings;
use tunemesh_gateway::settings::SubsonicSettings;

/// The whole mesh, bound and ready to run.
#[derive(Debug)]
pub struct Up {
    process: Process,
    gateway_addr: SocketAddr,
    /// `/metrics` and the probes, on their own (loopback by default) port: the gateway's
    /// public port serves the probes but never `/metrics`.
    admin_addr: Option<SocketAddr>,
    service_addrs: Vec<(&'static str, SocketAddr)>,
}

impl Up {
    /// Creates the data directory and binds every service (each on a free loopback port), the
    /// gateway (on `settings.gateway.addr`) and the admin endpoint (on `settings.admin.addr`).
    /// Secrets not configured are generated on the first start and kept in the data dir (see
    /// [`with_kept_secrets`]).
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let data_dir = &settings.data_dir;
        tokio::fs::create_dir_all(data_dir)
            .await
            .with_context(|| format!("cannot create data dir {}", data_dir.display()))?;
        let settings = &with_direct_audio(with_kept_secrets(settings)?);
        settings.check_secrets(true)?;
        let registry: Arc<dyn Registry> = Arc::new(EmbeddedRegistry::default());
        let mesh = Mesh::new(registry.clone(), settings.mesh.clone());
        let bus_settings = EmbeddedSettings::new(data_dir.join("events.sqlite"));
        let bus: Arc<dyn EventBus> = Arc::new(EmbeddedBus::open(&bus_settings).await?);
        let mut grpc = settings.grpc.clone();
        // In one process the services only talk to each other: loopback, any free port.
        grpc.addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        grpc.advertise_addr = None;
        let ctx = ServiceContext {
            grpc,
            storage: Storage::Embedded {
                data_dir: data_dir.clone(),
            },
            identity: MeshIdentity::new(&settings.identity)?,
            mesh,
            connect: Some(ConnectCa::embedded(embedded_ca(data_dir)?)),
            tls: None,
        };
        let mut process = Process::new(Some(registry));
        // Built at the same time: each opens its own store and binds its own port, and none
        // calls another before it runs, so search-svc's index and reco-svc's saved model (each
        // seconds at a million tracks) load side by side. Added in order; the first failure in
        // that order is returned and whatever else was built is dropped unstarted, as when the
        // gateway fails after them (reco-svc's model, taken from disk by its build, is then
        // gone, and the next start replays the stream).
        let built = futures::future::join_all(
            SERVICES.map(|service| services::build(service, settings, &ctx, Some(&bus))),
        )
        .await;
        let mut service_addrs = Vec::new();
        for built in built {
            let added = services::register(&mut process, built?);
            service_addrs.push((added.name, added.addr));
        }
        let gateway =
            services::add(&mut process, ServiceName::Gateway, settings, &ctx, None).await?;
        // The whole mesh is ready when the gateway finds every service ready.
        let admin_addr =
            services::add_admin(&mut process, settings.admin.addr, gateway.readiness).await?;
        Ok(Self {
            process,
            gateway_addr: gateway.addr,
            admin_addr,
            service_addrs,
        })
    }

    /// Where the gateway listens.
    pub fn gateway_addr(&self) -> SocketAddr {
        self.gateway_addr
    }

    /// Where `/metrics`, `/healthz` and `/readyz` listen, unless turned off.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// Where each service's gRPC server listens.
    pub fn service_addrs(&self) -> Vec<(&'static str, SocketAddr)> {
        self.service_addrs.clone()
    }

    /// Runs everything until `shutdown` is cancelled, then drains everything. If any part
    /// fails, the rest is shut down too and the first error is returned.
    pub async fn run_until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        self.process.run_until(shutdown).await
    }
}

/// `settings` with each secret that is not configured pointed at a file in the data dir
/// (`secrets/assertion-key`, `secrets/jwt`, `secrets/subsonic-pepper`,
/// `secrets/subsonic-seal-keys`, mode 0600), generated on the first start and kept, so a
/// restart keeps sessions valid and legacy Subsonic app passwords open. The services get the
/// public half of the gateway's assertion key, never the key.
pub fn with_kept_secrets(settings: &Settings) -> anyhow::Result<Settings> {
    let mut settings = settings.clone();
    let keep = |path: &std::path::Path| {
        tunemesh_runtime::secret::load_or_create(path)
            .with_context(|| format!("cannot keep a secret in {}", path.display()))
    };
    if !settings.gateway.assertion.has_key() {
        let path = settings.up_secret_path(UP_ASSERTION_KEY);
        tunemesh_runtime::secret::load_or_create_with(&path, keys::generate_private)
            .with_context(|| format!("cannot keep a secret in {}", path.display()))?;
        settings.gateway.assertion.signing_key_file = Some(path);
    }
    if !settings.identity.has_keys() {
        let key = settings.gateway.assertion.key_pem()?;
        settings.identity.gateway_public_keys = vec![keys::public_key_of(&key)?];
    }
    if !settings.gateway.auth.has_secret() {
        let path = settings.up_secret_path(UP_JWT_SECRET);
        keep(&path)?;
        settings.gateway.auth.jwt_secret_file = Some(path);
    }
    if !settings.gateway.subsonic.has_pepper() {
        let path = settings.up_secret_path(UP_SUBSONIC_PEPPER);
        keep(&path)?;
        settings.gateway.subsonic.lookup_pepper_file = Some(path);
    }
    if !settings.gateway.subsonic.has_seal_keys() {
        let path = settings.up_secret_path(UP_SUBSONIC_SEAL_KEYS);
        tunemesh_runtime::secret::load_or_create_with(&path, SubsonicSettings::generate_seal_keys)
            .with_context(|| format!("cannot keep a secret in {}", path.display()))?;
        settings.gateway.subsonic.seal_keys_file = Some(path);
    }
    Ok(settings)
}

/// `settings` with the gateway reading audio straight from player-svc's blob store (its
/// `player.s3` bucket or blob directory, by default `<data dir>/player/blobs`), unless
/// `gateway.blobs` says where already: in one process both see the same files.
fn with_direct_audio(mut settings: Settings) -> Settings {
    let blobs = &mut settings.gateway.blobs;
    if blobs.dir.is_none() && blobs.s3.is_none() {
        blobs.s3.clone_from(&settings.player.s3);
        blobs.dir = Some(settings.player.blob_dir.clone().unwrap_or_else(|| {
            settings
                .data_dir
                .join(tunemesh_player::SERVICE_NAME)
                .join("blobs")
        }));
    }
    settings
}

/// The in-process CA of `up` with its root kept in `data_dir/secrets/ca/`, so a restart (and
/// `tunemesh ingest` beside it) keeps one root.
pub fn embedded_ca(data_dir: &std::path::Path) -> anyhow::Result<EmbeddedCa> {
    let dir = data_dir.join("secrets").join(UP_CA_DIR);
    EmbeddedCa::load_or_create(&dir, connect::LEAF_TTL)
        .with_context(|| format!("cannot keep the mesh CA in {}", dir.display()))
}

/// The mutual-TLS identity of `tunemesh ingest` (service `ingest`): from the CA of the
/// `tunemesh up` that keeps `data_dir`, else from the Consul agent of `settings`.
pub async fn ingest_tls(
    settings: &Settings,
    data_dir: &std::path::Path,
) -> anyhow::Result<tunemesh_discovery::MeshTls> {
    const SERVICE: &str = "ingest";
    let kept = data_dir.join("secrets").join(UP_CA_DIR);
    let ca = if kept.join("ca-key.pem").exists() {
        ConnectCa::embedded(embedded_ca(data_dir)?)
    } else {
        ConnectCa::Consul(tunemesh_discovery::ConsulConnect::new(
            settings.consul.clone(),
        )?)
    };
    ca.tls(SERVICE)
        .await
        .with_context(|| format!("no certificate for {SERVICE}"))
}

/// The directory under `data_dir/secrets/` holding `up`'s mesh CA.
pub const UP_CA_DIR: &str = "ca";

/// The file under `data_dir/secrets/` holding the gateway's assertion key (PKCS#8 PEM).
pub const UP_ASSERTION_KEY: &str = "assertion-key";
/// The file under `data_dir/secrets/` holding `up`'s access-token secret.
pub const UP_JWT_SECRET: &str = "jwt";
/// The file under `data_dir/secrets/` holding `up`'s Subsonic lookup pepper.
pub const UP_SUBSONIC_PEPPER: &str = "subsonic-pepper";
/// The file under `data_dir/secrets/` holding `up`'s Subsonic seal keys (legacy token auth).
pub const UP_SUBSONIC_SEAL_KEYS: &str = "subsonic-seal-keys";
