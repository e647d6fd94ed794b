//! What the route handlers share: accounts, media, and typed handles of the services behind
//! the gateway (`crate::upstream`).

use std::sync::Arc;
use std::time::Duration;

use tunemesh_discovery::Mesh;
use tunemesh_runtime::identity::MeshIdentity;

use crate::audio_cache::AudioCache;
use crate::audio_info::AudioInfos;
use crate::auth::{Auth, MediaTokens};
use crate::settings::GatewaySettings;
use crate::streams::StreamPermits;
use crate::upstream::{
    CatalogClient, PlayerClient, PlaylistClient, RecoClient, SearchClient, Upstream, Upstreams,
};

/// The state of every handler; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    auth: Auth,
    media: MediaTokens,
    upstreams: Upstreams,
    audio_timeout: Duration,
    audio_infos: AudioInfos,
    audio_cache: AudioCache,
    streams: StreamPermits,
}

impl AppState {
    /// State over the given parts.
    pub fn new(
        auth: Auth,
        media: MediaTokens,
        identity: MeshIdentity,
        mesh: Mesh,
        settings: &GatewaySettings,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                auth,
                media,
                upstreams: Upstreams::new(mesh, identity, settings),
                audio_timeout: settings.http.audio_timeout,
                audio_infos: AudioInfos::new(settings.audio_info_capacity, settings.audio_info_ttl),
                audio_cache: AudioCache::new(settings.audio_cache_bytes),
                streams: StreamPermits::new(settings.http.max_streams_per_user),
            }),
        }
    }

    /// What the audio route keeps of tracks.
    pub fn audio_infos(&self) -> &AudioInfos {
        &self.inner.audio_infos
    }

    /// The edge cache of audio bytes.
    pub fn audio_cache(&self) -> &AudioCache {
        &self.inner.audio_cache
    }

    /// Open audio streams per account (shared with the gRPC proxy's `StreamAudio`).
    pub fn streams(&self) -> &StreamPermits {
        &self.inner.streams
    }

    /// Longest an audio body may stream.
    pub fn audio_timeout(&self) -> Duration {
        self.inner.audio_timeout
    }

    /// Signed media links.
    pub fn media(&self) -> &MediaTokens {
        &self.inner.media
    }

    /// Accounts and sessions.
    pub fn auth(&self) -> &Auth {
        &self.inner.auth
    }

    /// The catalogue (player-svc).
    pub fn catalog(&self) -> Upstream<CatalogClient> {
        self.inner.upstreams.catalog()
    }

    /// Audio and play reports (player-svc).
    pub fn player(&self) -> Upstream<PlayerClient> {
        self.inner.upstreams.player()
    }

    /// Playlists and liked songs (playlist-svc).
    pub fn playlists(&self) -> Upstream<PlaylistClient> {
        self.inner.upstreams.playlists()
    }

    /// Search (search-svc).
    pub fn search(&self) -> Upstream<SearchClient> {
        self.inner.upstreams.search()
    }

    /// Recommendations (reco-svc).
    pub fn reco(&self) -> Upstream<RecoClient> {
        self.inner.upstreams.reco()
    }
}
