//! The services behind the gateway as typed clients, and the one way a handler calls them:
//! [`Upstream::call`] builds the request from a fresh message for the caller (each client's
//! channel mints the caller's assertion for its service and the method called) with the
//! gateway's deadline, calls, and classifies a failure once (`From<tonic::Status> for ApiError`).
//!
//! A handler writes `state.playlists().call(&caller, message, async |c, r| c.get_playlist(r).await)`
//! and gets the response message or an [`ApiError`]; nothing else builds a downstream request.

use std::sync::Arc;
use std::time::Duration;

use tunemesh_discovery::{Idempotent, LongCall, Mesh, MeshChannel, RetryChannel, Streaming};
use tunemesh_proto::catalog::v1::catalog_service_client::CatalogServiceClient;
use tunemesh_proto::catalog::v1::ingest_service_client::IngestServiceClient;
use tunemesh_proto::player::v1::player_service_client::PlayerServiceClient;
use tunemesh_proto::playlist::v1::playlist_service_client::PlaylistServiceClient;
use tunemesh_proto::reco::v1::recommendation_service_client::RecommendationServiceClient;
use tunemesh_proto::search::v1::search_service_client::SearchServiceClient;
use tunemesh_runtime::identity::{ActAs, Asserting, AssertionSigner, Caller};

use crate::error::ApiError;
use crate::settings::GatewaySettings;

/// The catalogue on player-svc.
pub(crate) type CatalogClient = CatalogServiceClient<Asserting<RetryChannel>>;
/// Admin ingest on player-svc (never retried: an upload's body cannot be replayed).
pub(crate) type IngestClient = IngestServiceClient<Asserting<MeshChannel>>;
/// Audio and play reports on player-svc.
pub(crate) type PlayerClient = PlayerServiceClient<Asserting<RetryChannel>>;
/// Playlists and liked songs on playlist-svc (reads and keyed writes retried).
pub(crate) type PlaylistClient = PlaylistServiceClient<Asserting<RetryChannel>>;
/// search-svc (only reads: retried).
pub(crate) type SearchClient = SearchServiceClient<Asserting<RetryChannel>>;
/// reco-svc (only reads: retried).
pub(crate) type RecoClient = RecommendationServiceClient<Asserting<RetryChannel>>;

/// The reads of playlist-svc: safe to send again to another replica. Its writes are retried
/// only with an idempotency key ([`Upstream::idempotent`]).
const PLAYLIST_READS: [&str; 8] = [
    "/tunemesh.playlist.v1.PlaylistService/GetPlaylist",
    "/tunemesh.playlist.v1.PlaylistService/ListMyPlaylists",
    "/tunemesh.playlist.v1.PlaylistService/ListLikedTracks",
    "/tunemesh.playlist.v1.PlaylistService/CheckLikedTracks",
    "/tunemesh.playlist.v1.PlaylistService/ListLikedAlbums",
    "/tunemesh.playlist.v1.PlaylistService/CheckLikedAlbums",
    "/tunemesh.playlist.v1.PlaylistService/ListLikedArtists",
    "/tunemesh.playlist.v1.PlaylistService/CheckLikedArtists",
];

/// The services' names, as assertions name their audience (fixed, whatever their discovery
/// names).
pub(crate) mod audience {
    /// player-svc (`CatalogService`, `PlayerService`, `IngestService`).
    pub(crate) const PLAYER: &str = "player";
    /// playlist-svc.
    pub(crate) const PLAYLIST: &str = "playlist";
    /// search-svc.
    pub(crate) const SEARCH: &str = "search";
    /// reco-svc.
    pub(crate) const RECO: &str = "reco";
}

/// Where the services are and how calls to them are signed and bounded; cheap to clone.
#[derive(Debug, Clone)]
pub struct Upstreams {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    mesh: Mesh,
    signer: AssertionSigner,
    player: String,
    playlist: String,
    search: String,
    reco: String,
    timeout: Duration,
    audio_timeout: Duration,
}

impl Upstreams {
    /// The services named in `settings`, reached through `mesh`, called with assertions
    /// signed by `signer`.
    pub fn new(mesh: Mesh, signer: AssertionSigner, settings: &GatewaySettings) -> Self {
        Self {
            inner: Arc::new(Inner {
                mesh,
                signer,
                player: settings.player_upstream.clone(),
                playlist: settings.playlist_upstream.clone(),
                search: settings.search_upstream.clone(),
                reco: settings.reco_upstream.clone(),
                timeout: settings.http.request_timeout,
                audio_timeout: settings.http.audio_timeout,
            }),
        }
    }

    /// The catalogue (player-svc).
    pub fn catalog(&self) -> Upstream<CatalogClient> {
        self.upstream(CatalogServiceClient::new(
            self.signed(self.player_channel(), audience::PLAYER),
        ))
    }

    /// Adding files to the catalogue (player-svc); admin callers only.
    pub fn ingest(&self) -> Upstream<IngestClient> {
        self.upstream(IngestServiceClient::new(
            self.signed(self.channel(&self.inner.player), audience::PLAYER),
        ))
    }

    /// Audio and play reports (player-svc).
    pub fn player(&self) -> Upstream<PlayerClient> {
        self.upstream(PlayerServiceClient::new(
            self.signed(self.player_channel(), audience::PLAYER),
        ))
    }

    /// Playlists and liked songs (playlist-svc).
    pub fn playlists(&self) -> Upstream<PlaylistClient> {
        let channel = self.channel(&self.inner.playlist).retrying(PLAYLIST_READS);
        self.upstream(PlaylistServiceClient::new(
            self.signed(channel, audience::PLAYLIST),
        ))
    }

    /// Search (search-svc).
    pub fn search(&self) -> Upstream<SearchClient> {
        let channel = self
            .channel(&self.inner.search)
            .retrying(["/tunemesh.search.v1.SearchService/"]);
        self.upstream(SearchServiceClient::new(
            self.signed(channel, audience::SEARCH),
        ))
    }

    /// Recommendations, radio, similar tracks (reco-svc).
    pub fn reco(&self) -> Upstream<RecoClient> {
        let channel = self
            .channel(&self.inner.reco)
            .retrying(["/tunemesh.reco.v1.RecommendationService/"]);
        self.upstream(RecommendationServiceClient::new(
            self.signed(channel, audience::RECO),
        ))
    }

    /// The channel to player-svc. Its reads are idempotent and `ReportPlayback` is idempotent
    /// per (session, sequence), so a call that met a replica that just died is retried on
    /// another (within the mesh's retry budget and the deadline).
    fn player_channel(&self) -> RetryChannel {
        self.channel(&self.inner.player).retrying([
            "/tunemesh.catalog.v1.CatalogService/",
            "/tunemesh.player.v1.PlayerService/",
        ])
    }

    /// `channel`, minting each call's assertion for `audience` and the method called.
    fn signed<S>(&self, channel: S, audience: &'static str) -> Asserting<S> {
        Asserting::new(channel, self.inner.signer.clone(), audience)
    }

    fn channel(&self, service: &str) -> MeshChannel {
        self.inner.mesh.channel(service)
    }

    fn upstream<C>(&self, client: C) -> Upstream<C> {
        Upstream {
            client,
            upstreams: self.clone(),
            streaming: false,
            timeout: None,
            idempotent: false,
        }
    }
}

/// A ready client of one service; [`Upstream::call`] is the only way through it.
#[derive(Debug)]
pub struct Upstream<C> {
    client: C,
    upstreams: Upstreams,
    streaming: bool,
    timeout: Option<Duration>,
    idempotent: bool,
}

impl<C> Upstream<C> {
    /// For a streamed body (audio, uploads): the longer audio deadline, over the endpoint's
    /// streaming connection (so a stalled one never holds up unary calls).
    #[must_use]
    pub fn streaming(mut self) -> Self {
        self.streaming = true;
        self
    }

    /// For a call answered only when its work is done, such as an upload and its
    /// transcoding: `timeout` is its deadline, and the mesh's fail-fast timeout (for answers
    /// that start at once) does not apply ([`LongCall`]).
    #[must_use]
    pub fn deadline(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// For a write carrying an idempotency key the service deduplicates (e.g.
    /// `AddPlaylistItemsRequest.request_id`): the mesh may retry it on another replica.
    #[must_use]
    pub fn idempotent(mut self, keyed: bool) -> Self {
        self.idempotent = keyed;
        self
    }

    /// Calls `rpc` (e.g. `async |c, r| c.get_track(r).await`) with `message` as `caller`. The
    /// request is built here from a fresh message, so nothing a client sent (headers
    /// included) reaches the service except what the handler put into `message` and the
    /// assertion the channel mints for `caller`. A failed call is classified once, at the
    /// edge (`crate::error::classify_downstream`).
    pub async fn call<T, R>(
        mut self,
        caller: &Caller,
        message: T,
        rpc: impl AsyncFnOnce(&mut C, tonic::Request<T>) -> Result<tonic::Response<R>, tonic::Status>,
    ) -> Result<R, ApiError> {
        let inner = &self.upstreams.inner;
        let mut request = tonic::Request::new(message);
        request.set_timeout(self.timeout.unwrap_or(if self.streaming {
            inner.audio_timeout
        } else {
            inner.timeout
        }));
        if self.streaming {
            request.extensions_mut().insert(Streaming);
        }
        if self.timeout.is_some() {
            request.extensions_mut().insert(LongCall);
        }
        request.extensions_mut().insert(ActAs(caller.clone()));
        if self.idempotent {
            request.extensions_mut().insert(Idempotent);
        }
        Ok(rpc(&mut self.client, request).await?.into_inner())
    }
}
