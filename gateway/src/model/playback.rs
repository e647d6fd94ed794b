//! JSON shapes of `POST /v1/playback/report`, converted to `tunemesh.player.v1` messages.

use serde::{Deserialize, Serialize};
use tunemesh_proto::player::v1 as pb;
use utoipa::ToSchema;

use super::catalog::{Quality, millis};
use crate::error::ApiError;

/// Longest play session id the player service accepts.
const SESSION_ID_MAX: usize = 64;

/// A progress report of one play session.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaybackReport {
    /// Client-chosen id of the play session (a UUID), 1 to 64 ASCII characters.
    pub play_session_id: String,
    /// Report number within the session, from 0.
    pub sequence: u32,
    /// The track being played.
    pub track_id: String,
    /// Playback position in milliseconds.
    #[serde(default)]
    pub position_ms: u64,
    /// Time actually heard in this session so far, in milliseconds.
    #[serde(default)]
    pub played_ms: u64,
    /// What the player is doing now.
    pub state: PlaybackState,
    /// Why the session ended; required with `stopped` and `ended`.
    #[serde(default)]
    pub end_reason: Option<EndReason>,
    /// Where the play was started from.
    #[serde(default)]
    pub context: Option<PlayContext>,
    /// The quality being played.
    #[serde(default)]
    pub quality: Option<Quality>,
    /// The client's clock when it made the report (RFC 3339).
    #[serde(default)]
    pub client_time: Option<String>,
}

/// What the client's player is doing.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlaybackState {
    /// Playing or buffering to play.
    Playing,
    /// Paused; the session may resume.
    Paused,
    /// Left the track before its end; the session is over.
    Stopped,
    /// Reached the end of the track; the session is over.
    Ended,
}

/// Why a play session ended.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Played to the end.
    Completed,
    /// Skipped to another track.
    Skipped,
    /// Stopped by the listener.
    Stopped,
    /// Playback failed.
    Error,
}

/// Where a play was started from.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlayContext {
    /// The kind of context.
    #[serde(rename = "type")]
    pub kind: PlayContextType,
    /// The playlist, album or artist id, the radio's seed track; empty otherwise.
    #[serde(default)]
    pub id: String,
}

/// The kind of thing a play was started from.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlayContextType {
    /// A playlist.
    Playlist,
    /// An album.
    Album,
    /// An artist page.
    Artist,
    /// A radio station.
    Radio,
    /// A search result.
    Search,
    /// The liked songs.
    LikedSongs,
    /// Personal recommendations.
    Recommendations,
}

/// What the player service answered.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PlaybackReportResult {
    /// Whether the session counts as a play (30 s heard, or the whole track if shorter).
    pub play_counted: bool,
    /// Heard time the server holds for the session, in milliseconds.
    pub played_ms: u64,
}

impl From<pb::ReportPlaybackResponse> for PlaybackReportResult {
    fn from(r: pb::ReportPlaybackResponse) -> Self {
        Self {
            play_counted: r.play_counted,
            played_ms: millis(r.played.as_ref()),
        }
    }
}

impl PlaybackReport {
    /// The request to the player service, after the checks the gateway can make alone.
    pub fn into_proto(self) -> Result<pb::ReportPlaybackRequest, ApiError> {
        let id_ok = self.play_session_id.len() <= SESSION_ID_MAX
            && tunemesh_runtime::ids::is_valid(&self.play_session_id);
        if !id_ok {
            return Err(ApiError::invalid(format!(
                "play_session_id {}",
                tunemesh_runtime::ids::RULE
            )));
        }
        crate::extract::check_id("track_id", &self.track_id)?;
        let client_time = self
            .client_time
            .as_deref()
            .map(str::parse::<prost_types::Timestamp>)
            .transpose()
            .map_err(|_| ApiError::invalid("client_time must be an rfc 3339 timestamp"))?;
        let state = match self.state {
            PlaybackState::Playing => pb::PlaybackState::Playing,
            PlaybackState::Paused => pb::PlaybackState::Paused,
            PlaybackState::Stopped => pb::PlaybackState::Stopped,
            PlaybackState::Ended => pb::PlaybackState::Ended,
        };
        let end_reason = self
            .end_reason
            .map_or(pb::PlaybackEndReason::Unspecified, |r| match r {
                EndReason::Completed => pb::PlaybackEndReason::Completed,
                EndReason::Skipped => pb::PlaybackEndReason::Skipped,
                EndReason::Stopped => pb::PlaybackEndReason::Stopped,
                EndReason::Error => pb::PlaybackEndReason::Error,
            });
        let context = self.context.map(|c| {
            let kind = match c.kind {
                PlayContextType::Playlist => pb::PlayContextType::Playlist,
                PlayContextType::Album => pb::PlayContextType::Album,
                PlayContextType::Artist => pb::PlayContextType::Artist,
                PlayContextType::Radio => pb::PlayContextType::Radio,
                PlayContextType::Search => pb::PlayContextType::Search,
                PlayContextType::LikedSongs => pb::PlayContextType::LikedSongs,
                PlayContextType::Recommendations => pb::PlayContextType::Recommendations,
            };
            pb::PlayContext {
                r#type: kind.into(),
                id: c.id,
            }
        });
        if context.as_ref().is_some_and(|c| c.id.len() > 256) {
            return Err(ApiError::invalid(
                "context.id must be at most 256 characters",
            ));
        }
        Ok(pb::ReportPlaybackRequest {
            play_session_id: self.play_session_id,
            sequence: self.sequence,
            track_id: self.track_id,
            position: Some(duration(self.position_ms)),
            played: Some(duration(self.played_ms)),
            state: state.into(),
            end_reason: end_reason.into(),
            context,
            quality: self.quality.map_or(0, |q| q.to_proto().into()),
            client_time,
            past_play_started_at: None,
        })
    }
}

fn duration(ms: u64) -> prost_types::Duration {
    // Bounded: u64 milliseconds cover 584 million years, well inside i64 seconds.
    prost_types::Duration {
        seconds: i64::try_from(ms / 1000).unwrap_or(i64::MAX),
        nanos: i32::try_from((ms % 1000) * 1_000_000).unwrap_or(0),
    }
}
