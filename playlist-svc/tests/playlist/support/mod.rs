//! The harness: playlist-svc built with `build` on port 0 against real PostgreSQL + Redis
//! (or the embedded SQLite + moka adapters), a small in-test `CatalogService` registered as
//! `player` in the test's own registry, every hop over mutual TLS with leaves of the test's
//! own embedded CA (as in `tunemesh up`), and clients that call as the gateway carrying its
//! assertions, or as another service known by its certificate alone.

#![allow(dead_code)]

use std::sync::Arc;

use tempfile::TempDir;
use tokio_util::sync::{CancellationToken, DropGuard};
use tunemesh_discovery::connect::{ConnectCa, EmbeddedCa, LEAF_TTL};
use tunemesh_discovery::{EmbeddedRegistry, Mesh, MeshSettings, Registry};
use tunemesh_events::EventBus;
use tunemesh_events::embedded::{EmbeddedBus, EmbeddedSettings};
use tunemesh_playlist::{PlaylistSettings, build};
use tunemesh_proto::catalog::v1::catalog_service_server::{CatalogService, CatalogServiceServer};
use tunemesh_proto::catalog::v1::{
    BatchGetAlbumsRequest, BatchGetAlbumsResponse, BatchGetArtistsRequest, BatchGetArtistsResponse,
    BatchGetTracksRequest, BatchGetTracksResponse, Track,
};
use tunemesh_proto::playlist::v1::playlist_service_client::PlaylistServiceClient;
use tunemesh_proto::prost_types;
use tunemesh_proto::tonic::service::Routes;
use tunemesh_proto::tonic::transport::Channel;
use tunemesh_proto::tonic::{self, Request, Response, Status};
use tunemesh_runtime::identity::{
    ActAs, Asserting, AssertionSigner, Caller, IdentitySettings, MeshIdentity,
};
use tunemesh_runtime::postgres::PostgresSettings;
use tunemesh_runtime::redis::RedisSettings;
use tunemesh_runtime::{ServiceContext, Storage};
use tunemesh_testkit::mesh::{channel_as, leaf, serve_as};
use tunemesh_testkit::{
    SpawnedApp, TestDatabase, grpc_settings, servers, spawn_app, test_database, unique_prefix,
};

/// Which adapters the service runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// PostgreSQL + Redis.
    Production,
    /// SQLite + moka.
    Embedded,
}

/// Known tracks: `track-0` … `track-999`.
pub fn track(n: usize) -> String {
    format!("track-{n}")
}

/// How long known track `track-n` plays, in ms: 100 + n seconds and a half (the catalogue
/// double answers it).
pub fn track_ms(n: u64) -> u64 {
    (100 + n) * 1000 + 500
}

/// Known albums: `album-0` … `album-999`.
pub fn album(n: usize) -> String {
    format!("album-{n}")
}

/// Known artists: `artist-0` … `artist-999`.
pub fn artist(n: usize) -> String {
    format!("artist-{n}")
}

/// The ids that are not `{prefix}0` … `{prefix}999`.
fn unknown(ids: Vec<String>, prefix: &str) -> Vec<String> {
    ids.into_iter()
        .filter(|id| {
            id.strip_prefix(prefix)
                .and_then(|n| n.parse::<u32>().ok())
                .is_none_or(|n| n >= 1000)
        })
        .collect()
}

#[derive(Debug)]
struct TestCatalog;

#[tonic::async_trait]
impl CatalogService for TestCatalog {
    async fn batch_get_tracks(
        &self,
        request: Request<BatchGetTracksRequest>,
    ) -> Result<Response<BatchGetTracksResponse>, Status> {
        let mut tracks = Vec::new();
        let mut missing = Vec::new();
        for id in request.into_inner().track_ids {
            let known = id
                .strip_prefix("track-")
                .and_then(|n| n.parse::<u64>().ok())
                .filter(|n| *n < 1000);
            match known {
                Some(n) => tracks.push(Track {
                    id,
                    duration: Some(prost_types::Duration {
                        seconds: i64::try_from(track_ms(n) / 1000).unwrap_or(0),
                        nanos: 500_000_000,
                    }),
                    ..Track::default()
                }),
                None => missing.push(id),
            }
        }
        Ok(Response::new(BatchGetTracksResponse {
            tracks,
            missing_track_ids: missing,
        }))
    }

    async fn batch_get_albums(
        &self,
        request: Request<BatchGetAlbumsRequest>,
    ) -> Result<Response<BatchGetAlbumsResponse>, Status> {
        Ok(Response::new(BatchGetAlbumsResponse {
            albums: Vec::new(),
            missing_album_ids: unknown(request.into_inner().album_ids, "album-"),
        }))
    }

    async fn batch_get_artists(
        &self,
        request: Request<BatchGetArtistsRequest>,
    ) -> Result<Response<BatchGetArtistsResponse>, Status> {
        Ok(Response::new(BatchGetArtistsResponse {
            artists: Vec::new(),
            missing_artist_ids: unknown(request.into_inner().artist_ids, "artist-"),
        }))
    }
}

/// Everything a test needs besides the service: kept alive with it.
pub struct Env {
    pub ctx: ServiceContext,
    pub identity: MeshIdentity,
    /// The mesh's CA: every identity of the test is a leaf of it.
    pub ca: EmbeddedCa,
    pub redis_prefix: String,
    pub db: Option<TestDatabase>,
    pub dir: TempDir,
    /// Stops the catalogue double with the test.
    _catalog: DropGuard,
}

impl Env {
    /// A fresh database (or data dir), key prefix and registry with the catalogue double.
    pub async fn new(mode: Mode) -> anyhow::Result<Self> {
        Self::with_redis(mode, &servers().redis_url).await
    }

    /// Like [`Env::new`] with Redis at `redis_url`.
    pub async fn with_redis(mode: Mode, redis_url: &str) -> anyhow::Result<Self> {
        let registry = EmbeddedRegistry::new();
        let ca = EmbeddedCa::generate(LEAF_TTL)?;
        let catalog = CancellationToken::new();
        let routes = Routes::new(CatalogServiceServer::new(TestCatalog));
        serve_as(&registry, "player", &ca, routes, catalog.clone()).await?;
        let registry: Arc<dyn Registry> = Arc::new(registry);
        let identity = MeshIdentity::new(&IdentitySettings::for_tests()).expect("the test key");
        let dir = tempfile::tempdir()?;
        let redis_prefix = format!("{}:", unique_prefix("playlist"));
        let (storage, db) = match mode {
            Mode::Production => {
                let db = test_database().await?;
                let postgres = PostgresSettings {
                    url: db.url().to_owned().into(),
                    ..PostgresSettings::default()
                };
                let redis = RedisSettings {
                    url: redis_url.to_owned().into(),
                    key_prefix: redis_prefix.clone(),
                    ..RedisSettings::default()
                };
                (Storage::Production { postgres, redis }, Some(db))
            }
            Mode::Embedded => (
                Storage::Embedded {
                    data_dir: dir.path().to_owned(),
                },
                None,
            ),
        };
        let ctx = ServiceContext {
            grpc: grpc_settings(),
            storage,
            identity: identity.clone(),
            mesh: Mesh::new(registry, MeshSettings::default()),
            // As in `tunemesh up`: `spawn` gives the service its leaf of the test's CA.
            connect: Some(ConnectCa::embedded(ca.clone())),
            tls: None,
        };
        Ok(Self {
            ctx,
            identity,
            ca,
            redis_prefix,
            db,
            dir,
            _catalog: catalog.drop_guard(),
        })
    }

    /// An embedded bus in the test's directory.
    pub async fn embedded_bus(&self) -> anyhow::Result<Arc<dyn EventBus>> {
        Ok(Arc::new(
            EmbeddedBus::open(&EmbeddedSettings::new(
                self.dir.path().join("events.sqlite"),
            ))
            .await?,
        ))
    }

    /// Builds and runs the service with its leaf of the test's CA: it requires mutual TLS of
    /// its callers and presents the leaf to the catalogue.
    pub async fn spawn(
        &self,
        settings: &PlaylistSettings,
        bus: Arc<dyn EventBus>,
    ) -> anyhow::Result<Service> {
        let ctx = self
            .ctx
            .for_service(tunemesh_playlist::SERVICE_NAME)
            .await?;
        let app = spawn_app(build(settings, &ctx, bus).await?, None);
        let gateway = leaf(&self.ca, "gateway")?;
        let channel = channel_as(&gateway, tunemesh_playlist::SERVICE_NAME, app.addr())?;
        Ok(Service {
            app,
            channel,
            ca: self.ca.clone(),
        })
    }
}

/// A running service and a way to call it as someone.
pub struct Service {
    pub app: SpawnedApp,
    /// Calls as the gateway (by its certificate).
    channel: Channel,
    ca: EmbeddedCa,
}

impl Service {
    /// A client calling as `service` for itself: known by its certificate alone, with no
    /// assertion (reco-svc's mixer writing generated playlists).
    pub fn client_as(&self, service: &str) -> anyhow::Result<PlaylistServiceClient<Channel>> {
        let tls = leaf(&self.ca, service)?;
        let channel = channel_as(&tls, tunemesh_playlist::SERVICE_NAME, self.app.addr())?;
        Ok(PlaylistServiceClient::new(channel))
    }

    /// A client calling as the gateway: it signs each call it makes
    /// [`as_caller`](Self::as_caller) as the gateway would (for playlist-svc and the method
    /// called); a call without [`ActAs`] carries no assertion (the gateway itself).
    pub fn client(&self) -> PlaylistServiceClient<Asserting<Channel>> {
        PlaylistServiceClient::new(Asserting::new(
            self.channel.clone(),
            AssertionSigner::for_tests(),
            tunemesh_playlist::SERVICE_NAME,
        ))
    }

    /// `message` as a request from `caller`.
    pub fn as_caller<T>(&self, caller: &Caller, message: T) -> Request<T> {
        let mut request = Request::new(message);
        request.extensions_mut().insert(ActAs(caller.clone()));
        request
    }

    /// `message` as a request from `user` (`None`: anonymous, no identity).
    pub fn as_user<T>(&self, user: Option<&str>, message: T) -> Request<T> {
        match user {
            Some(user) => self.as_caller(&Caller::new(user.to_owned(), Vec::new()), message),
            None => Request::new(message),
        }
    }
}

/// Starts a service on an embedded bus, the usual case.
pub async fn start(mode: Mode) -> anyhow::Result<(Env, Service)> {
    tunemesh_testkit::init_tracing();
    let env = Env::new(mode).await?;
    let bus = env.embedded_bus().await?;
    let service = env.spawn(&PlaylistSettings::default(), bus).await?;
    Ok((env, service))
}
