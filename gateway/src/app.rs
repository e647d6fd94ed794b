//! The gateway's HTTP server: bound in `build`, served in `run_until`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tunemesh_discovery::Mesh;
use tunemesh_runtime::Storage;
use tunemesh_runtime::admin::Readiness;
use tunemesh_runtime::identity::AssertionSigner;
use tunemesh_runtime::identity::signer::SignerError;
use tunemesh_runtime::postgres::PostgresError;
use tunemesh_runtime::shutdown::drain;

use crate::GatewaySettings;
use crate::accounts::{AccountStore, PostgresAccounts, SqliteAccounts, StoreError};
use crate::auth::password::HashError;
use crate::auth::tokens::TokenError;
use crate::auth::{AccessTokens, Auth, Passwords};
use crate::grpc::{GrpcRoutes, ProxyParts};
use crate::layers::cors::InvalidOrigin;
use crate::listener::{Bounds, Caps};
use crate::media::MediaTokens;
use crate::ratelimit::Limits;
use crate::readiness::MeshReadiness;
use crate::state::AppState;
use crate::subsonic::Subsonic;
use crate::subsonic::passwords::{AppPasswords, Pepper};
use crate::subsonic::seal::SealKeys;

/// How often idle rate-limit buckets are dropped.
const PRUNE_INTERVAL: Duration = Duration::from_secs(60);

/// What the gateway is built with besides its own settings.
#[derive(Debug, Clone)]
pub struct GatewayContext {
    /// Where the accounts live: SQLite under `data_dir/gateway/`, or PostgreSQL.
    pub storage: Storage,
    /// Channels to the services.
    pub mesh: Mesh,
}

/// Why the gateway could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// The bind error.
        #[source]
        source: std::io::Error,
    },
    /// The embedded data directory could not be created.
    #[error("cannot create the gateway data directory")]
    DataDir(#[source] std::io::Error),
    /// PostgreSQL is unreachable.
    #[error("cannot reach the accounts database")]
    Postgres(#[from] PostgresError),
    /// The account store could not be opened.
    #[error("cannot open the account store")]
    Store(#[from] StoreError),
    /// The auth settings are unusable.
    #[error("invalid gateway.auth settings")]
    Tokens(#[from] TokenError),
    /// A secret (access tokens, Subsonic lookups) is missing, weak or unreadable.
    #[error("invalid gateway secret settings")]
    Secret(#[source] tunemesh_runtime::secret::SecretError),
    /// The assertion signing key is missing or not an Ed25519 private key.
    #[error("invalid gateway.assertion settings")]
    Assertion(#[from] SignerError),
    /// The argon2 settings are unusable.
    #[error("invalid gateway.auth settings")]
    Hash(#[from] HashError),
    /// A trusted proxy is malformed.
    #[error("invalid gateway.rate_limits settings")]
    TrustedProxy(#[from] crate::ratelimit::InvalidCidr),
    /// A CORS origin is malformed.
    #[error("invalid gateway.http settings")]
    Cors(#[from] InvalidOrigin),
    /// The Subsonic seal keys are malformed (the cause names the entry, never a key).
    #[error("invalid gateway.subsonic settings")]
    SealKeys(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The media blob store of direct audio reads cannot be opened.
    #[error("invalid gateway.blobs settings")]
    Blobs(#[source] anyhow::Error),
}

/// A bound gateway, ready to serve.
#[derive(Debug)]
pub struct Gateway {
    listener: TcpListener,
    local_addr: SocketAddr,
    app: crate::router::App,
    limits: Arc<Limits>,
    readiness: MeshReadiness,
    auth: Auth,
    settings: GatewaySettings,
}

/// The gateway's request handling, assembled: everything [`Gateway`] serves but the socket.
struct Parts {
    app: crate::router::App,
    limits: Arc<Limits>,
    readiness: MeshReadiness,
    auth: Auth,
}

impl Parts {
    async fn assemble(settings: &GatewaySettings, ctx: GatewayContext) -> Result<Self, BuildError> {
        // Secrets first: a missing one is a configuration error, whatever else is reachable.
        let keys = settings.auth.keys().map_err(BuildError::Secret)?;
        let signer = AssertionSigner::new(&settings.assertion)?;
        let tokens = AccessTokens::new(&keys, settings.auth.access_ttl)?;
        let media = MediaTokens::new(&keys, settings.auth.media_link_ttl);
        let pepper = settings.subsonic.pepper().map_err(BuildError::Secret)?;
        let seal = match settings.subsonic.seal_keys().map_err(BuildError::Secret)? {
            Some(keys) => Some(
                SealKeys::parse(keys.expose_secret(), settings.subsonic.seal_version)
                    .map_err(|e| BuildError::SealKeys(Box::new(e)))?,
            ),
            None => {
                tracing::info!(
                    "gateway.subsonic.seal_keys is not set: Subsonic token authentication (t+s) is off"
                );
                None
            }
        };
        let store = open_store(&ctx.storage).await?;
        let passwords = Passwords::new(&settings.auth).await?;
        let limits = Limits::new(&settings.rate_limits)?;
        let subsonic = Subsonic::new(
            AppPasswords::new(store.clone(), Pepper::new(pepper), seal),
            limits.clone(),
            &settings.subsonic,
        );
        let auth = Auth::new(
            store,
            passwords,
            tokens.clone(),
            limits.login.clone(),
            &settings.auth,
        );
        let blobs = settings.blobs.open().map_err(BuildError::Blobs)?;
        let state = AppState::new(
            auth.clone(),
            subsonic,
            (media, blobs),
            signer.clone(),
            ctx.mesh.clone(),
            settings,
        );
        let grpc = crate::grpc::edge(ProxyParts {
            routes: GrpcRoutes::new(settings),
            tokens,
            signer,
            mesh: ctx.mesh.clone(),
            limits: limits.clone(),
            max_request_bytes: settings.http.max_body_bytes,
            body_timeout: settings.http.request_timeout,
            streams: state.media().streams().clone(),
            audio_timeout: settings.http.audio_timeout,
        });
        let readiness = MeshReadiness::new(ctx.mesh, settings.clone());
        let app = crate::router::app(
            state,
            limits.clone(),
            Arc::new(readiness.clone()),
            &settings.http,
            grpc,
        )?;
        Ok(Self {
            app,
            limits,
            readiness,
            auth,
        })
    }
}

/// The gateway's whole request handling (routes, layers, the gRPC edge) as one service, without
/// a listener or its background tasks: what [`Gateway::build`] serves, for driving in process
/// (the fuzz targets), so nothing outside this file repeats the assembly.
pub async fn service(
    settings: &GatewaySettings,
    ctx: GatewayContext,
) -> Result<crate::router::App, BuildError> {
    Ok(Parts::assemble(settings, ctx).await?.app)
}

impl Gateway {
    /// Opens the account store, binds `settings.addr` and assembles the routes; services are
    /// reached through `ctx.mesh`.
    pub async fn build(
        settings: &GatewaySettings,
        ctx: GatewayContext,
    ) -> Result<Self, BuildError> {
        let Parts {
            app,
            limits,
            readiness,
            auth,
        } = Parts::assemble(settings, ctx).await?;
        let listener =
            tunemesh_runtime::listen::bind(settings.addr).map_err(|source| BuildError::Bind {
                addr: settings.addr,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| BuildError::Bind {
            addr: settings.addr,
            source,
        })?;
        Ok(Self {
            listener,
            local_addr,
            app,
            limits,
            readiness,
            auth,
            settings: settings.clone(),
        })
    }

    /// The readiness of the mesh as the gateway sees it, for an admin listener: the gateway
    /// serves its probes publicly but never `/metrics`.
    pub fn readiness(&self) -> Arc<dyn Readiness> {
        Arc::new(self.readiness.clone())
    }

    /// The address the gateway listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` is cancelled, then lets in-flight requests finish within the
    /// drain grace period.
    pub async fn run_until(self, shutdown: CancellationToken) -> std::io::Result<()> {
        let connections = &self.settings.connections;
        let caps = Caps::new(connections, self.limits.trusted_proxies().to_vec());
        tracing::info!(addr = %self.local_addr, max_connections = caps.max(), "gateway listening");
        let pruner = tokio::spawn(prune_limits(self.limits.clone(), shutdown.clone()));
        let revocations = tokio::spawn(poll_revocations(
            self.auth.clone(),
            self.settings.auth.revocation_poll,
            shutdown.clone(),
        ));
        let bounds = Bounds {
            header_read_timeout: connections.header_read_timeout,
            idle_timeout: connections.idle_timeout,
        };
        // HTTP/1.1 and HTTP/2 cleartext (prior knowledge, which native gRPC clients need) on
        // the same port, under the connection caps and timeouts.
        let serve = crate::listener::serve(self.listener, self.app, caps, bounds, shutdown.clone());
        tokio::pin!(serve);
        tokio::select! {
            () = &mut serve => {}
            () = shutdown.cancelled() => {
                // Past the grace, what is still in flight is cut when `serve` is dropped.
                drain("gateway", self.settings.drain_grace, serve).await;
            }
        }
        pruner.abort();
        revocations.abort();
        Ok(())
    }
}

async fn open_store(storage: &Storage) -> Result<Arc<dyn AccountStore>, BuildError> {
    match storage {
        Storage::Embedded { .. } => {
            let dir = storage
                .create_embedded_dir("gateway")
                .await
                .map_err(BuildError::DataDir)?;
            Ok(Arc::new(
                SqliteAccounts::open(&dir.join("accounts.sqlite")).await?,
            ))
        }
        Storage::Production { postgres, .. } => {
            let pool = tunemesh_runtime::postgres::connect(postgres).await?;
            Ok(Arc::new(PostgresAccounts::open(pool).await?))
        }
    }
}

/// Reads the sessions ended on other replicas; a failed read is retried on the next tick (the
/// store being down costs only that delay).
async fn poll_revocations(auth: Auth, every: Duration, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(every.max(Duration::from_millis(100)));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {
                if let Err(error) = auth.poll_revocations().await {
                    tracing::warn!(error = %error, "cannot read ended sessions");
                }
            }
            () = shutdown.cancelled() => return,
        }
    }
}

async fn prune_limits(limits: Arc<Limits>, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(PRUNE_INTERVAL);
    loop {
        tokio::select! {
            _ = every.tick() => limits.prune(),
            () = shutdown.cancelled() => return,
        }
    }
}
