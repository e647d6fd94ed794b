//! The catalog port: which track, album and artist ids exist. The production adapter asks
//! player-svc's `CatalogService.BatchGetTracks` (`BatchGetAlbums`, `BatchGetArtists`) through
//! the mesh.

use std::time::Duration;

use async_trait::async_trait;
use tunemesh_discovery::MeshChannel;
use tunemesh_proto::catalog::v1::catalog_service_client::CatalogServiceClient;
use tunemesh_proto::catalog::v1::{
    BatchGetAlbumsRequest, BatchGetArtistsRequest, BatchGetTracksRequest,
};
use tunemesh_runtime::identity::{Caller, MeshIdentity};

use crate::error::PlaylistError;
use crate::library::LikeKind;

/// Knows which tracks exist.
#[async_trait]
pub(crate) trait TrackCatalog: Send + Sync + std::fmt::Debug {
    /// The ids (at most 100, distinct) that name no track, in request order.
    async fn missing(
        &self,
        caller: &Caller,
        track_ids: &[String],
    ) -> Result<Vec<String>, PlaylistError>;

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
    channel: MeshChannel,
    identity: MeshIdentity,
    timeout: Duration,
}

impl GrpcCatalog {
    /// Calls through `channel` (the mesh's `player`), forwarding the caller's identity.
    pub(crate) fn new(channel: MeshChannel, identity: MeshIdentity, timeout: Duration) -> Self {
        Self {
            channel,
            identity,
            timeout,
        }
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
    async fn missing(
        &self,
        caller: &Caller,
        track_ids: &[String],
    ) -> Result<Vec<String>, PlaylistError> {
        if track_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut request = tonic_request(BatchGetTracksRequest {
            track_ids: track_ids.to_vec(),
        });
        request.set_timeout(self.timeout);
        self.identity
            .attach(caller, request.metadata_mut())
            .map_err(|e| PlaylistError::Internal(e.into()))?;
        let response = CatalogServiceClient::new(self.channel.clone())
            .batch_get_tracks(request)
            .await
            .map_err(unavailable)?;
        Ok(response.into_inner().missing_track_ids)
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
                let request = self.request(caller, BatchGetAlbumsRequest { album_ids: ids })?;
                let response = client
                    .batch_get_albums(request)
                    .await
                    .map_err(unavailable)?;
                Ok(response.into_inner().missing_album_ids)
            }
            LikeKind::Artist => {
                let request = self.request(caller, BatchGetArtistsRequest { artist_ids: ids })?;
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
    /// `message` with the call's timeout and the caller's identity.
    fn request<T>(
        &self,
        caller: &Caller,
        message: T,
    ) -> Result<tunemesh_proto::tonic::Request<T>, PlaylistError> {
        let mut request = tonic_request(message);
        request.set_timeout(self.timeout);
        self.identity
            .attach(caller, request.metadata_mut())
            .map_err(|e| PlaylistError::Internal(e.into()))?;
        Ok(request)
    }
}

fn tonic_request<T>(message: T) -> tunemesh_proto::tonic::Request<T> {
    tunemesh_proto::tonic::Request::new(message)
}
