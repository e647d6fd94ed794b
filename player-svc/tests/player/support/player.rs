//! A player service on port 0 with its own data directory, and requests carrying a signed
//! caller identity.
#![allow(dead_code)] // not every part is called in every build (the `s3` feature on or off)

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tunemesh_discovery::{EmbeddedRegistry, Mesh, MeshSettings};
use tunemesh_events::EventBus;
use tunemesh_events::embedded::{EmbeddedBus, EmbeddedSettings};
use tunemesh_player::PlayerSettings;
use tunemesh_proto::catalog::v1::catalog_service_client::CatalogServiceClient;
use tunemesh_proto::catalog::v1::ingest_service_client::IngestServiceClient;
use tunemesh_proto::player::v1::player_service_client::PlayerServiceClient;
use tunemesh_proto::tonic::Request;
use tunemesh_proto::tonic::transport::Channel;
use tunemesh_runtime::identity::{
    ActAs, Asserting, AssertionSigner, Caller, IdentitySettings, MeshIdentity,
};
use tunemesh_runtime::{ServiceContext, Storage};
use tunemesh_testkit::{SpawnedApp, grpc_settings, spawn_app};

/// Real tagged Ogg Vorbis, 42.7 s.
pub const CHIMES: &str = "/usr/share/games/singularity/music/lose/Chimes They Fade.ogg";
/// Real tagged Ogg Vorbis, the other track of the same album folder.
pub const MARCH: &str = "/usr/share/games/singularity/music/lose/March Thee to Dis.ogg";
/// Real Ogg Vorbis, 104.5 s.
pub const APEX: &str = "/usr/share/games/singularity/music/win/Apex Aleph.ogg";

/// A real music file, or a failure saying how to install it.
pub fn music(path: &str) -> PathBuf {
    let path = PathBuf::from(path);
    assert!(
        path.is_file(),
        "{} is missing: run scripts/music.sh",
        path.display()
    );
    path
}

/// Settings that keep tests quick: two qualities.
pub fn quick_settings() -> PlayerSettings {
    PlayerSettings {
        qualities: vec!["low".into(), "very_high".into()],
        ..PlayerSettings::default()
    }
}

/// A running player service.
#[derive(Debug)]
pub struct Player {
    pub app: Option<SpawnedApp>,
    pub identity: MeshIdentity,
    /// Kept so the data directory outlives the service.
    #[allow(dead_code)]
    pub data: Arc<tempfile::TempDir>,
    pub channel: Channel,
}

/// An embedded event bus in `dir`.
pub async fn embedded_bus(dir: &Path) -> anyhow::Result<Arc<dyn EventBus>> {
    let settings = EmbeddedSettings::new(dir.join("events.sqlite"));
    Ok(Arc::new(EmbeddedBus::open(&settings).await?))
}

impl Player {
    /// Starts the service on embedded storage in a fresh directory with an embedded bus.
    pub async fn start(settings: PlayerSettings) -> anyhow::Result<Self> {
        let data = Arc::new(tempfile::tempdir()?);
        let bus = embedded_bus(data.path()).await?;
        Self::start_in(settings, data, bus).await
    }

    /// Starts the service on embedded storage in `data` with `bus`.
    pub async fn start_in(
        settings: PlayerSettings,
        data: Arc<tempfile::TempDir>,
        bus: Arc<dyn EventBus>,
    ) -> anyhow::Result<Self> {
        let identity = MeshIdentity::new(&IdentitySettings::for_tests()).expect("the test key");
        let ctx = ServiceContext {
            grpc: grpc_settings(),
            storage: Storage::Embedded {
                data_dir: data.path().to_owned(),
            },
            identity: identity.clone(),
            mesh: Mesh::new(
                Arc::new(EmbeddedRegistry::default()),
                MeshSettings::default(),
            ),
            // One service alone, called directly: plaintext.
            connect: None,
            tls: None,
        };
        let app = tunemesh_player::build(&settings, &ctx, bus).await?;
        let app = spawn_app(app, None);
        let channel = app.channel().await?;
        Ok(Self {
            app: Some(app),
            identity,
            data,
            channel,
        })
    }

    /// Stops the service as SIGTERM does.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(app) = self.app.take() {
            app.stop().await?;
        }
        Ok(())
    }

    /// `message` as sent by `user` (with `roles`): the clients below sign it as the test
    /// gateway would, for player-svc and the method called.
    pub fn as_user<T>(&self, user: &str, roles: &[&str], message: T) -> Request<T> {
        let mut request = Request::new(message);
        let caller = Caller::new(
            user.to_owned(),
            roles.iter().map(|r| (*r).to_owned()).collect(),
        );
        request.extensions_mut().insert(ActAs(caller));
        request
    }

    /// `message` from a listener.
    pub fn req<T>(&self, message: T) -> Request<T> {
        self.as_user("listener-1", &[], message)
    }

    /// `message` from an admin.
    pub fn admin<T>(&self, message: T) -> Request<T> {
        self.as_user("admin-1", &["admin"], message)
    }

    pub fn catalog(&self) -> CatalogServiceClient<Asserting<Channel>> {
        CatalogServiceClient::new(signed(self.channel.clone()))
    }

    pub fn ingest(&self) -> IngestServiceClient<Asserting<Channel>> {
        IngestServiceClient::new(signed(self.channel.clone()))
    }

    pub fn player(&self) -> PlayerServiceClient<Asserting<Channel>> {
        PlayerServiceClient::new(signed(self.channel.clone())).max_decoding_message_size(8 << 20)
    }
}

/// `channel`, signing requests made [`Player::as_user`] as the test gateway would.
pub fn signed<S>(channel: S) -> Asserting<S> {
    Asserting::new(
        channel,
        AssertionSigner::for_tests(),
        tunemesh_player::SERVICE_NAME,
    )
}
