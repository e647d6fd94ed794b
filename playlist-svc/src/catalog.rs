//! The catalog port: which track, album and artist ids exist, and how long tracks play. The
//! production adapter asks player-svc's `CatalogService.BatchGetTracks` (`BatchGetAlbums`,
//! `BatchGetArtists`) through the mesh.

use std::time::Duration;

use async_trait::async_trait;
use tunemesh_discovery::RetryChannel;
use tunemesh_proto::catalog::v1::catalog_service_client::CatalogServiceClient;
use tunemesh_proto::catalog::v1::{
    BatchGetAlbumsRequest, BatchGetArtistsRequest, BatchGetTracksRequest,
};
use tunemesh_runtime::identity::Caller;

use crate::error::PlaylistError;
use crate::library::LikeKind;
use crate::model::Durations;

/// What the catalogue said of some track ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TrackCheck {
    /// The ids that name no track, in request order.
    pub(crate) missing: Vec<String>,
    /// The durations (ms) of the tracks found.
    pub(crate) durations: Durations,
}

/// Knows which tracks exist, and how long they play.
#[async_trait]
pub(crate) trait TrackCatalog: Send + Sync + std::fmt::Debug {
    /// Which of the ids (at most 100, distinct) name no track, and the others' durations.
    async fn check(
        &self,
        caller: &Caller,
        track_ids: &[String],
    ) -> Result<TrackCheck, PlaylistError>;

    /// The album or artist ids (at most 100, distinct) that name nothing, in request order.
    async fn missing_items(
        &self,
        caller: &Caller,
        kind: LikeKind,
        ids: &[String],
    ) -> Result<Vec<String>, PlaylistError>;
}

/// player-svc's catalogue over gRPC.
#[derive(Debug, Clone)]
pub(crate) struct GrpcCatalog {
    channel: RetryChannel,
    timeout: Duration,
}

impl GrpcCatalog {
    /// Calls through `channel` (the mesh's `player`, retrying the catalogue's reads on another
    /// replica), forwarding the user's assertion unchanged (or, for playlist-svc's own work,
    /// none: its certificate speaks for it).
    pub(crate) fn new(channel: RetryChannel, timeout: Duration) -> Self {
        Self { channel, timeout }
    }
}

fn unavailable(source: impl Into<anyhow::Error>) -> PlaylistError {
    PlaylistError::Unavailable {
        what: "track catalog",
        source: source.into(),
    }
}

#[async_trait]
impl TrackCatalog for GrpcCatalog {
    async fn check(
        &self,
        caller: &Caller,
        track_ids: &[String],
    ) -> Result<TrackCheck, PlaylistError> {
        if track_ids.is_empty() {
            return Ok(TrackCheck::default());
        }
        let request = self.request(
            caller,
            BatchGetTracksRequest {
                track_ids: track_ids.to_vec(),
            },
        );
        let response = CatalogServiceClient::new(self.channel.clone())
            .batch_get_tracks(request)
            .await
            .map_err(unavailable)?;
        let response = response.into_inner();
        let durations = response
            .tracks
            .iter()
            .map(|track| (track.id.clone(), duration_ms(track.duration.as_ref())))
            .collect();
        Ok(TrackCheck {
            missing: response.missing_track_ids,
            durations,
        })
    }

    async fn missing_items(
        &self,
        caller: &Caller,
        kind: LikeKind,
        ids: &[String],
    ) -> Result<Vec<String>, PlaylistError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = ids.to_vec();
        let mut client = CatalogServiceClient::new(self.channel.clone());
        match kind {
            LikeKind::Album => {
                let request = self.request(caller, BatchGetAlbumsRequest { album_ids: ids });
                let response = client
                    .batch_get_albums(request)
                    .await
                    .map_err(unavailable)?;
                Ok(response.into_inner().missing_album_ids)
            }
            LikeKind::Artist => {
                let request = self.request(caller, BatchGetArtistsRequest { artist_ids: ids });
                let response = client
                    .batch_get_artists(request)
                    .await
                    .map_err(unavailable)?;
                Ok(response.into_inner().missing_artist_ids)
            }
        }
    }
}

impl GrpcCatalog {
    /// `message` with the call's timeout and the gateway's assertion the caller came with,
    /// passed on unchanged (player-svc accepts it from playlist-svc's certificate only).
    fn request<T>(&self, caller: &Caller, message: T) -> tunemesh_proto::tonic::Request<T> {
        let mut request = tonic_request(message);
        request.set_timeout(self.timeout);
        caller.forward(request.metadata_mut());
        request
    }
}

/// Longest track duration kept, ms (about 34 years): a playlist's sum of at most
/// `MAX_ITEMS` of them still fits the stores' signed 64-bit columns.
const MAX_TRACK_MS: u64 = 1 << 40;

/// A catalogue duration in whole ms; unset or negative is 0, an absurd one is capped.
fn duration_ms(duration: Option<&tunemesh_proto::prost_types::Duration>) -> u64 {
    duration.map_or(0, |d| {
        let seconds = u64::try_from(d.seconds).unwrap_or(0);
        let millis = u64::try_from(d.nanos / 1_000_000).unwrap_or(0);
        seconds
            .saturating_mul(1000)
            .saturating_add(millis)
            .min(MAX_TRACK_MS)
    })
}

fn tonic_request<T>(message: T) -> tunemesh_proto::tonic::Request<T> {
    tunemesh_proto::tonic::Request::new(message)
}
