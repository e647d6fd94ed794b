//! `tunemesh up`: every service and the gateway in one process, each its own gRPC server on
//! loopback, calling each other over real gRPC through the mesh channel, discovered through the
//! embedded registry. Same code paths as a fleet, nothing to install.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use anyhow::Context as _;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tunemesh_discovery::{EmbeddedRegistry, Mesh, Registry};
use tunemesh_events::EventBus;
use tunemesh_events::embedded::{EmbeddedBus, EmbeddedSettings};
use tunemesh_gateway::{Gateway, GatewayContext};
use tunemesh_runtime::admin::AdminServer;
use tunemesh_runtime::identity::MeshIdentity;
use tunemesh_runtime::{App, ServiceContext, Storage};

use crate::settings::Settings;

/// The whole mesh, bound and ready to run.
#[derive(Debug)]
pub struct Up {
    registry: Arc<dyn Registry>,
    services: Vec<(&'static str, App)>,
    gateway: Gateway,
    /// `/metrics` and the probes, on their own (loopback by default) port: the gateway's
    /// public port serves the probes but never `/metrics`.
    admin: Option<AdminServer>,
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
        let settings = &with_kept_secrets(settings)?;
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
            mesh: mesh.clone(),
        };
        let services = vec![
            (
                tunemesh_player::SERVICE_NAME,
                tunemesh_player::build(&settings.player, &ctx, bus.clone()).await?,
            ),
            (
                tunemesh_playlist::SERVICE_NAME,
                tunemesh_playlist::build(&settings.playlist, &ctx, bus.clone()).await?,
            ),
            (
                tunemesh_search::SERVICE_NAME,
                tunemesh_search::build(&settings.search, &ctx, bus.clone()).await?,
            ),
            (
                tunemesh_reco::SERVICE_NAME,
                tunemesh_reco::build(&settings.reco, &ctx, bus).await?,
            ),
        ];
        let gateway_ctx = GatewayContext {
            storage: ctx.storage.clone(),
            identity: ctx.identity.clone(),
            mesh,
        };
        let gateway = Gateway::build(&settings.gateway, gateway_ctx)
            .await
            .context("cannot start the gateway")?;
        let admin = match settings.admin.addr {
            Some(addr) => Some(
                AdminServer::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr} (admin.addr)"))?,
            ),
            None => None,
        };
        Ok(Self {
            registry,
            services,
            gateway,
            admin,
        })
    }

    /// Where the gateway listens.
    pub fn gateway_addr(&self) -> SocketAddr {
        self.gateway.local_addr()
    }

    /// Where `/metrics`, `/healthz` and `/readyz` listen, unless turned off.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().map(AdminServer::local_addr)
    }

    /// Where each service's gRPC server listens.
    pub fn service_addrs(&self) -> Vec<(&'static str, SocketAddr)> {
        self.services
            .iter()
            .map(|(name, app)| (*name, app.local_addr()))
            .collect()
    }

    /// Runs everything until `shutdown` is cancelled, then drains everything. If any part
    /// fails, the rest is shut down too and the first error is returned.
    pub async fn run_until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut parts = JoinSet::new();
        for (name, app) in self.services {
            let (registry, token) = (self.registry.clone(), shutdown.clone());
            parts.spawn(async move {
                let result = app.run_until(Some(registry), token).await;
                result.with_context(|| format!("{name} failed"))
            });
        }
        if let Some(admin) = self.admin {
            // The whole mesh is ready when the gateway finds every service ready.
            let (readiness, token) = (self.gateway.readiness(), shutdown.clone());
            parts.spawn(async move {
                let result = admin.run_until(readiness, token).await;
                result.context("admin endpoint failed")
            });
        }
        let token = shutdown.clone();
        parts.spawn(async move {
            let result = self.gateway.run_until(token).await;
            result.context("gateway failed")
        });
        let mut first_error = None;
        while let Some(joined) = parts.join_next().await {
            let result = joined
                .context("a service panicked")
                .and_then(|result| result);
            if let Err(error) = result {
                shutdown.cancel();
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// `settings` with each secret that is not configured pointed at a file in the data dir
/// (`secrets/identity`, `secrets/jwt`, mode 0600), generated on the first start and kept, so a
/// restart keeps sessions valid and `tunemesh ingest` finds the mesh secret.
pub fn with_kept_secrets(settings: &Settings) -> anyhow::Result<Settings> {
    let mut settings = settings.clone();
    let keep = |path: &std::path::Path| {
        tunemesh_runtime::secret::load_or_create(path)
            .with_context(|| format!("cannot keep a secret in {}", path.display()))
    };
    if !settings.identity.has_secret() {
        let path = settings.up_secret_path(UP_IDENTITY_SECRET);
        keep(&path)?;
        settings.identity.secret_file = Some(path);
    }
    if !settings.gateway.auth.has_secret() {
        let path = settings.up_secret_path(UP_JWT_SECRET);
        keep(&path)?;
        settings.gateway.auth.jwt_secret_file = Some(path);
    }
    Ok(settings)
}

/// The mesh identity `tunemesh ingest` signs with: the configured secret, else the one a
/// `tunemesh up` keeps in `data_dir`, so ingesting into `up` needs no configuration.
pub fn ingest_identity(
    settings: &tunemesh_runtime::identity::IdentitySettings,
    data_dir: &std::path::Path,
) -> anyhow::Result<MeshIdentity> {
    let mut settings = settings.clone();
    let kept = data_dir.join("secrets").join(UP_IDENTITY_SECRET);
    if !settings.has_secret() && kept.exists() {
        settings.secret_file = Some(kept);
    }
    Ok(MeshIdentity::new(&settings)?)
}

/// The file under `data_dir/secrets/` holding `up`'s mesh identity secret.
pub const UP_IDENTITY_SECRET: &str = "identity";
/// The file under `data_dir/secrets/` holding `up`'s access-token secret.
pub const UP_JWT_SECRET: &str = "jwt";
