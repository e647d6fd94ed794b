//! `player.v1.PlayerService`: each method verifies the caller, calls the [`Playback`] domain
//! and maps its errors (in a stream, each item's) through the one error table.

use std::pin::Pin;
use std::sync::Arc;

use futures::{Stream, StreamExt as _};
use tunemesh_proto::player::v1::player_service_server::PlayerService;
use tunemesh_proto::player::v1::*;
use tunemesh_proto::tonic::{self, Request, Response, Status};
use tunemesh_runtime::error::to_status;
use tunemesh_runtime::identity::Verifier;

use super::caller;
use crate::service::{AudioStream, Playback};

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// `PlayerService` over a [`Playback`] domain.
#[derive(Debug, Clone)]
pub(crate) struct PlayerApi {
    domain: Arc<dyn Playback>,
    identity: Verifier,
}

impl PlayerApi {
    /// Serves `domain`, verifying callers with `identity`.
    pub(crate) fn new(domain: Arc<dyn Playback>, identity: Verifier) -> Self {
        Self { domain, identity }
    }
}

/// The domain's stream with each error as its status.
fn statuses<T: Send + 'static>(stream: AudioStream<T>) -> Response<BoxStream<T>> {
    Response::new(Box::pin(stream.map(|item| item.map_err(|e| to_status(&e)))))
}

#[tonic::async_trait]
impl PlayerService for PlayerApi {
    async fn stream_audio(
        &self,
        request: Request<StreamAudioRequest>,
    ) -> Result<Response<BoxStream<StreamAudioResponse>>, Status> {
        caller(&self.identity, &request)?;
        self.domain
            .stream(request.into_inner())
            .await
            .map(statuses)
            .map_err(|e| to_status(&e))
    }

    async fn get_audio_manifest(
        &self,
        request: Request<GetAudioManifestRequest>,
    ) -> Result<Response<GetAudioManifestResponse>, Status> {
        caller(&self.identity, &request)?;
        self.domain
            .manifest(request.into_inner())
            .await
            .map(Response::new)
            .map_err(|e| to_status(&e))
    }

    async fn read_audio_range(
        &self,
        request: Request<ReadAudioRangeRequest>,
    ) -> Result<Response<BoxStream<ReadAudioRangeResponse>>, Status> {
        caller(&self.identity, &request)?;
        self.domain
            .read_range(request.into_inner())
            .await
            .map(statuses)
            .map_err(|e| to_status(&e))
    }

    async fn get_audio_segment(
        &self,
        request: Request<GetAudioSegmentRequest>,
    ) -> Result<Response<GetAudioSegmentResponse>, Status> {
        caller(&self.identity, &request)?;
        self.domain
            .segment(request.into_inner())
            .await
            .map(Response::new)
            .map_err(|e| to_status(&e))
    }

    async fn report_playback(
        &self,
        request: Request<ReportPlaybackRequest>,
    ) -> Result<Response<ReportPlaybackResponse>, Status> {
        let user = self.identity.user(&request)?;
        self.domain
            .report(&user, request.into_inner())
            .await
            .map(Response::new)
            .map_err(|e| to_status(&e))
    }
}
