//! JSON shapes of the caller's play queue (`/v1/me/play-queue`): the queue Subsonic apps save
//! with `savePlayQueue`, so the web player can resume what an app was playing, and back.

use serde::{Deserialize, Serialize};
use tunemesh_proto::playlist::v1 as pb;
use utoipa::ToSchema;

use super::catalog::rfc3339;

/// The caller's play queue.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PlayQueue {
    /// The queue's tracks, in play order (a track may appear twice).
    pub track_ids: Vec<String>,
    /// Position in `track_ids` of the current track; absent when none is current.
    pub current_index: Option<u32>,
    /// Playback position within the current track, in milliseconds.
    pub position_ms: i64,
    /// The client that saved it (a Subsonic app's `c`, or `web`).
    pub changed_by: String,
    /// When it was saved (RFC 3339).
    pub changed_at: Option<String>,
    /// Version of the queue, one more with every save.
    pub version: u64,
}

impl From<pb::PlayQueue> for PlayQueue {
    fn from(queue: pb::PlayQueue) -> Self {
        Self {
            changed_at: rfc3339(queue.change_time.as_ref()),
            track_ids: queue.track_ids,
            current_index: queue.current_index,
            position_ms: queue.position_ms,
            changed_by: queue.changed_by,
            version: queue.version,
        }
    }
}

/// A queue to save, replacing the caller's.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SavedPlayQueue {
    /// The tracks, in play order: 0 to 1,000 (none clears the queue).
    pub track_ids: Vec<String>,
    /// Position in `track_ids` of the current track; below the number of tracks.
    #[serde(default)]
    pub current_index: Option<u32>,
    /// Playback position within the current track, in milliseconds (0 to one day).
    #[serde(default)]
    pub position_ms: i64,
    /// The saving client's name, at most 100 characters; `web` when absent.
    #[serde(default)]
    pub client: Option<String>,
    /// Save only if the queue is still at this version (412 otherwise; 0: never saved).
    #[serde(default)]
    pub expected_version: Option<u64>,
}
