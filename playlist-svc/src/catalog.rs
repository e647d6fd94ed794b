//! The track catalog port: which track ids exist. The production adapter asks player-svc's
//! `CatalogService.BatchGetTracks` through the mesh.

use std::time::Duration;

use async_trait::async_trait;
use tunemesh_discovery::MeshChannel;
use tunemesh_proto::catalog::v1::BatchGetTracksRequest;
use tunemesh_proto::catalog::v1::catalog_service_client::CatalogServiceClient;
use tunemesh_runtime::identity::{Caller, MeshIdentity};

use crate::error::PlaylistError;

/// Knows which tracks exist.
#[async_trait]
pub(crate) trait TrackCatalog: Send + Sync + std::fmt::Debug {
    /// The ids (at most 100, distinct) that name no track, in request order.
    async fn missing(
        &self,
        caller: &Caller,
        track_ids: &[String],
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
}

fn tonic_request<T>(message: T) -> tunemesh_proto::tonic::Request<T> {
    tunemesh_proto::tonic::Request::new(message)
}
