//! The domain: [`Playback`], every RPC of `PlayerService` as a method on plain messages (no
//! tonic types), implemented by [`PlaybackDomain`] over audio [`Delivery`], the catalogue and
//! the [`PlaySessionStore`].
//!
//! This file holds the trait and the implementation's state; the implementation forwards
//! each RPC to the inherent method in the file of its concern: `audio.rs` (manifests, byte
//! ranges, streams and segments as contract messages) and `reports.rs` (a report checked
//! against the contract and the catalogue, then applied to its session).

mod audio;
mod reports;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;
use tunemesh_events::outbox::OutboxWaker;
use tunemesh_proto::player::v1 as pb;
use tunemesh_runtime::identity::Caller;

use crate::catalog::Catalog;
use crate::delivery::Delivery;
use crate::error::PlayerError;
use crate::play_sessions::PlayRules;
use crate::store::PlaySessionStore;

/// Messages read as the consumer takes them; an `Err` ends the stream.
pub(crate) type AudioStream<T> = BoxStream<'static, Result<T, PlayerError>>;

/// `PlayerService` as the domain sees it; see `player_service.proto` for each method.
#[async_trait]
pub(crate) trait Playback: Send + Sync + fmt::Debug + 'static {
    /// GetAudioManifest: every stored rendition of a track, with its init segment.
    async fn manifest(
        &self,
        req: pb::GetAudioManifestRequest,
    ) -> Result<pb::GetAudioManifestResponse, PlayerError>;
    /// ReadAudioRange: a byte range of the progressive file, in chunks.
    async fn read_range(
        &self,
        req: pb::ReadAudioRangeRequest,
    ) -> Result<AudioStream<pb::ReadAudioRangeResponse>, PlayerError>;
    /// StreamAudio: the header, then the audio from the asked position, in chunks.
    async fn stream(
        &self,
        req: pb::StreamAudioRequest,
    ) -> Result<AudioStream<pb::StreamAudioResponse>, PlayerError>;
    /// GetAudioSegment: a WebM init or media segment.
    async fn segment(
        &self,
        req: pb::GetAudioSegmentRequest,
    ) -> Result<pb::GetAudioSegmentResponse, PlayerError>;
    /// ReportPlayback: `caller`'s report applied to its play session.
    async fn report(
        &self,
        caller: &Caller,
        req: pb::ReportPlaybackRequest,
    ) -> Result<pb::ReportPlaybackResponse, PlayerError>;
}

/// The implementation: audio from [`Delivery`], reports checked against the catalogue and
/// applied in the session store.
#[derive(Debug, Clone)]
pub(crate) struct PlaybackDomain {
    delivery: Delivery,
    catalog: Catalog,
    sessions: Arc<dyn PlaySessionStore>,
    /// Poked after a report wrote an event, so the relay publishes it at once.
    waker: OutboxWaker,
    /// Which claimed plays are believed.
    rules: PlayRules,
}

impl PlaybackDomain {
    /// The domain over `delivery`, the `catalog` reports are checked against, and the
    /// `sessions` they are applied to; `waker` is poked after a report wrote an event.
    pub(crate) fn new(
        delivery: Delivery,
        catalog: Catalog,
        sessions: Arc<dyn PlaySessionStore>,
        waker: OutboxWaker,
        rules: PlayRules,
    ) -> Self {
        Self {
            delivery,
            catalog,
            sessions,
            waker,
            rules,
        }
    }
}

#[async_trait]
impl Playback for PlaybackDomain {
    async fn manifest(
        &self,
        req: pb::GetAudioManifestRequest,
    ) -> Result<pb::GetAudioManifestResponse, PlayerError> {
        self.audio_manifest(req).await
    }

    async fn read_range(
        &self,
        req: pb::ReadAudioRangeRequest,
    ) -> Result<AudioStream<pb::ReadAudioRangeResponse>, PlayerError> {
        self.audio_range(req).await
    }

    async fn stream(
        &self,
        req: pb::StreamAudioRequest,
    ) -> Result<AudioStream<pb::StreamAudioResponse>, PlayerError> {
        self.audio_stream(req).await
    }

    async fn segment(
        &self,
        req: pb::GetAudioSegmentRequest,
    ) -> Result<pb::GetAudioSegmentResponse, PlayerError> {
        self.audio_segment(req).await
    }

    async fn report(
        &self,
        caller: &Caller,
        req: pb::ReportPlaybackRequest,
    ) -> Result<pb::ReportPlaybackResponse, PlayerError> {
        self.apply_report(caller, req).await
    }
}
