//! What the route handlers share, and how they call the services behind the gateway.

use std::sync::Arc;
use std::time::Duration;

use tunemesh_discovery::{Mesh, MeshChannel, RetryChannel, Streaming};
use tunemesh_runtime::identity::{Caller, MeshIdentity};

use crate::audio_cache::AudioCache;
use crate::audio_info::AudioInfos;
use crate::auth::{Auth, MediaTokens};
use crate::error::ApiError;
use crate::settings::GatewaySettings;
use crate::streams::StreamPermits;

/// The state of every handler; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    auth: Auth,
    media: MediaTokens,
    identity: MeshIdentity,
    mesh: Mesh,
    player_upstream: String,
    playlist_upstream: String,
    search_upstream: String,
    reco_upstream: String,
    upstream_timeout: Duration,
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
                identity,
                mesh,
                player_upstream: settings.player_upstream.clone(),
                playlist_upstream: settings.playlist_upstream.clone(),
                search_upstream: settings.search_upstream.clone(),
                reco_upstream: settings.reco_upstream.clone(),
                upstream_timeout: settings.http.request_timeout,
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

    /// The channel to the service serving the catalogue and audio. Its reads are idempotent
    /// and `ReportPlayback` is idempotent per (session, sequence), so a call that met a replica
    /// that just died is retried on another (within the mesh's retry budget and the deadline).
    pub fn player(&self) -> RetryChannel {
        self.inner
            .mesh
            .channel(&self.inner.player_upstream)
            .retrying([
                "/tunemesh.catalog.v1.CatalogService/",
                "/tunemesh.player.v1.PlayerService/",
            ])
    }

    /// The channel to the service serving playlists and liked songs.
    pub fn playlist(&self) -> MeshChannel {
        self.inner.mesh.channel(&self.inner.playlist_upstream)
    }

    /// The channel to the search service.
    pub fn search(&self) -> MeshChannel {
        self.inner.mesh.channel(&self.inner.search_upstream)
    }

    /// The channel to the recommendation service.
    pub fn reco(&self) -> MeshChannel {
        self.inner.mesh.channel(&self.inner.reco_upstream)
    }

    /// A downstream request carrying `caller`'s signed identity and the gateway's deadline.
    /// The request is built here from a fresh message, so nothing a client sent (headers
    /// included) reaches the service except what the handler put into `message`.
    pub fn downstream<T>(
        &self,
        caller: &Caller,
        message: T,
    ) -> Result<tonic::Request<T>, ApiError> {
        self.downstream_within(caller, message, self.inner.upstream_timeout)
    }

    /// A downstream request for a streamed audio body, with the longer audio deadline, sent
    /// over the endpoint's streaming connection (so a stalled one never holds up unary calls).
    pub fn audio_downstream<T>(
        &self,
        caller: &Caller,
        message: T,
    ) -> Result<tonic::Request<T>, ApiError> {
        let mut request = self.downstream_within(caller, message, self.inner.audio_timeout)?;
        request.extensions_mut().insert(Streaming);
        Ok(request)
    }

    fn downstream_within<T>(
        &self,
        caller: &Caller,
        message: T,
        deadline: Duration,
    ) -> Result<tonic::Request<T>, ApiError> {
        let mut request = tonic::Request::new(message);
        request.set_timeout(deadline);
        self.inner
            .identity
            .attach(caller, request.metadata_mut())
            .map_err(|e| ApiError::internal(&e))?;
        Ok(request)
    }
}
