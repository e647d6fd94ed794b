//! What a listener keeps besides playlists and liked songs: liked albums, liked artists and
//! the play queue, as the store and the domain see them.

/// The most tracks a play queue holds: a long evening's listening with room to spare, and
/// small enough (about 30 KB of ids) to save and read in one row.
pub const MAX_QUEUE_TRACKS: usize = 1_000;

/// The longest position in a track a queue records, in ms: one day.
pub const MAX_QUEUE_POSITION_MS: i64 = 86_400_000;

/// The longest client name a queue records, in characters.
pub const MAX_CLIENT_CHARS: usize = 100;

/// What a like of catalogue items (besides tracks) names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LikeKind {
    /// Catalogue albums.
    Album,
    /// Catalogue artists.
    Artist,
}

impl LikeKind {
    /// The value stored in the `kind` columns.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Album => "album",
            Self::Artist => "artist",
        }
    }

    /// The request field naming ids of this kind, for error messages.
    pub fn field(self) -> &'static str {
        match self {
            Self::Album => "album_ids",
            Self::Artist => "artist_ids",
        }
    }

    /// What a version mismatch names.
    pub fn what(self) -> &'static str {
        match self {
            Self::Album => "liked albums",
            Self::Artist => "liked artists",
        }
    }
}

/// An album or artist in a user's likes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LikedItem {
    /// Catalogue album or artist.
    pub id: String,
    /// When it was liked, ms since the epoch.
    pub like_ms: i64,
}

/// A play queue to save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSave {
    /// The queue's owner.
    pub user_id: String,
    /// Tracks in play order, at most [`MAX_QUEUE_TRACKS`].
    pub track_ids: Vec<String>,
    /// Index of the current track in `track_ids`.
    pub current_index: Option<u32>,
    /// Position in the current track, ms.
    pub position_ms: i64,
    /// The client that saved it.
    pub changed_by: String,
    /// When set, the save fails unless the queue is at this version (0: never saved).
    pub expected_version: Option<u64>,
}

/// A saved play queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayQueue {
    /// Tracks in play order.
    pub track_ids: Vec<String>,
    /// Index of the current track in `track_ids`.
    pub current_index: Option<u32>,
    /// Position in the current track, ms.
    pub position_ms: i64,
    /// The client that saved it.
    pub changed_by: String,
    /// When it was saved, ms since the epoch.
    pub changed_ms: i64,
    /// 1 after the first save, one more with every save.
    pub version: u64,
}

/// The error of a save or like whose `expected` version is not `current`.
pub fn check_version(
    what: &str,
    expected: Option<u64>,
    current: u64,
) -> Result<(), crate::error::PlaylistError> {
    match expected {
        Some(expected) if expected != current => {
            Err(crate::error::PlaylistError::FailedPrecondition(format!(
                "{what}: at version {current}, not the expected version {expected}"
            )))
        }
        _ => Ok(()),
    }
}
