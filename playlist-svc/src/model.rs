//! The domain's values: playlists, items, liked tracks, the changes a store applies, and the
//! rules every adapter checks the same way (access, versions, limits).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::PlaylistError;

/// Most items a playlist may hold.
pub const MAX_ITEMS: u32 = 10_000;
/// Most ids in one request (tracks to add, items to remove, tracks to like).
pub const MAX_BATCH: usize = 100;
/// Name length limits, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Description length limit, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 300;
/// Longest id (playlist, item, track, user, image), in ASCII characters.
pub const MAX_ID_LEN: usize = 64;
/// Track ids of the first items a playlist carries for its derived cover
/// (`Playlist.first_track_ids`); the stores' SQL says the same number.
pub const FIRST_TRACKS: usize = 8;

/// A playlist's details, without its items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Playlist {
    /// Opaque id.
    pub id: String,
    /// Owner's user id.
    pub owner_id: String,
    /// 1 to 100 characters.
    pub name: String,
    /// At most 300 characters.
    pub description: String,
    /// Readable by every signed-in user.
    pub public: bool,
    /// Collaborators may edit items.
    pub collaborative: bool,
    /// Invited editors, in invitation order.
    pub collaborator_ids: Vec<String>,
    /// The owner's cover image, if set.
    pub cover_image_id: Option<String>,
    /// Number of items.
    pub item_count: u32,
    /// Number of followers.
    pub follower_count: u32,
    /// Bumped by every change of details or items; starts at 1.
    pub version: u64,
    /// Bumped by every change of the row at all (follows too); orders cache writes.
    pub revision: u64,
    /// Creation time, ms since the epoch.
    pub create_ms: i64,
    /// Last change of details or items, ms since the epoch.
    pub update_ms: i64,
    /// Tracks of the first [`FIRST_TRACKS`] items, in order: what a derived cover is made
    /// of. Absent from pages cached before it existed, which then show no derived cover
    /// until their entry is refilled.
    #[serde(default)]
    pub first_track_ids: Vec<String>,
    /// Set for a playlist the service generated for one listener ("Made for you"); absent
    /// from pages cached before it existed, which were all made by people.
    #[serde(default)]
    pub generated: Option<Generated>,
    /// Total playing time of the items, ms (items whose duration is not known yet count 0).
    /// Absent from pages cached before it existed, which show 0 until their entry is
    /// refilled.
    #[serde(default)]
    pub duration_ms: u64,
}

/// Tracks' durations in ms as the catalogue answered them, by track id. A track absent from
/// it gets an item whose duration is not known yet (NULL), filled in by the duration
/// backfill.
pub type Durations = HashMap<String, u64>;

/// Whom and what a generated playlist is for (see [`Playlist::generated`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Generated {
    /// The listener it was made for: the only one who may see it.
    pub for_user: String,
    /// Its kind (`daily-mix`): at most one per listener and kind.
    pub kind: String,
}

/// A generated playlist's whole content, created or replaced by
/// [`PlaylistStore::put_generated`](crate::store::PlaylistStore::put_generated).
#[derive(Debug, Clone)]
pub struct GeneratedPut {
    /// The id to give it if it does not exist yet.
    pub id: String,
    /// For whom and of what kind.
    pub generated: Generated,
    /// Validated name.
    pub name: String,
    /// Validated description.
    pub description: String,
    /// Validated, catalog-checked tracks, in order.
    pub track_ids: Vec<String>,
    /// Their durations, from the catalogue check.
    pub durations: Durations,
}

/// One entry of a playlist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// Stable id within the playlist.
    pub item_id: String,
    /// Catalog track.
    pub track_id: String,
    /// 0-based position at the version read.
    pub position: u32,
    /// Who added it.
    pub added_by: String,
    /// When, ms since the epoch.
    pub add_ms: i64,
}

/// A playlist with a run of its items, read in one snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaylistPage {
    /// Details at the snapshot.
    pub playlist: Playlist,
    /// Items from position `offset`, in order.
    pub items: Vec<Item>,
    /// Position of the first item.
    pub offset: u32,
}

/// How a user relates to a playlist in their library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relation {
    /// Owns it.
    Owner = 1,
    /// Is a collaborator.
    Collaborator = 2,
    /// Follows it.
    Follower = 3,
    /// It was generated for them ("Made for you").
    MadeForYou = 4,
}

impl Relation {
    /// The relation's number in the stores' library queries, which keep the smallest when a
    /// playlist relates to the user in several ways: made for you before following.
    pub fn rank(self) -> i32 {
        match self {
            Self::MadeForYou => 0,
            other => other as i32,
        }
    }

    /// The relation of a [`Relation::rank`].
    pub fn from_rank(rank: i64) -> Self {
        match rank {
            0 => Self::MadeForYou,
            1 => Self::Owner,
            2 => Self::Collaborator,
            _ => Self::Follower,
        }
    }
}

/// A liked track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LikedTrack {
    /// Catalog track.
    pub track_id: String,
    /// When it was liked, ms since the epoch.
    pub like_ms: i64,
}

/// What the caller wants to do, for [`Playlist::authorize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read details and items, follow.
    Read,
    /// Add, remove, move items.
    EditItems,
    /// Change details, invite, delete.
    Own,
}

impl Playlist {
    /// Whether `user` may see the playlist at all.
    pub fn visible_to(&self, user: &str) -> bool {
        self.public
            || self.owner_id == user
            || self.collaborator_ids.iter().any(|c| c == user)
            || self.generated.as_ref().is_some_and(|g| g.for_user == user)
    }

    /// PERMISSION_DENIED for any change a user asks of a generated playlist: only its
    /// generator replaces it, whole.
    pub fn check_not_generated(&self) -> Result<(), PlaylistError> {
        if self.generated.is_none() {
            return Ok(());
        }
        Err(PlaylistError::PermissionDenied(
            "this playlist is made for you and read-only: it cannot be renamed, edited, shared or deleted; add its tracks to a playlist of your own to change them".to_owned(),
        ))
    }

    /// Checks `user` may do `access`: NOT_FOUND when they may not even see it, so a private
    /// playlist's existence is never revealed; PERMISSION_DENIED when they see but may not
    /// change it.
    pub fn authorize(&self, user: &str, access: Access) -> Result<(), PlaylistError> {
        if !self.visible_to(user) {
            return Err(PlaylistError::PlaylistNotFound(self.id.clone()));
        }
        if access != Access::Read {
            self.check_not_generated()?;
        }
        let is_owner = self.owner_id == user;
        let allowed = match access {
            Access::Read => true,
            Access::EditItems => {
                is_owner || (self.collaborative && self.collaborator_ids.iter().any(|c| c == user))
            }
            Access::Own => is_owner,
        };
        if allowed {
            return Ok(());
        }
        let what = match access {
            Access::EditItems if !self.collaborative => {
                "only the owner may edit the items of a playlist that is not collaborative"
            }
            Access::EditItems => "only the owner and collaborators may edit the items",
            _ => "only the owner may do this",
        };
        Err(PlaylistError::PermissionDenied(what.to_owned()))
    }

    /// FAILED_PRECONDITION unless `expected` is unset or the current version.
    pub fn check_version(&self, expected: Option<u64>) -> Result<(), PlaylistError> {
        match expected {
            Some(expected) if expected != self.version => Err(PlaylistError::VersionMismatch {
                id: self.id.clone(),
                expected,
                current: self.version,
            }),
            _ => Ok(()),
        }
    }
}

/// A playlist to create.
#[derive(Debug, Clone)]
pub struct NewPlaylist {
    /// Fresh id.
    pub id: String,
    /// Creator and owner.
    pub owner_id: String,
    /// Client's idempotency key, if any.
    pub request_id: Option<String>,
    /// Validated name.
    pub name: String,
    /// Validated description.
    pub description: String,
    /// Visibility.
    pub public: bool,
    /// Collaborative flag.
    pub collaborative: bool,
    /// Validated, catalog-checked initial tracks.
    pub track_ids: Vec<String>,
    /// Their durations, from the catalogue check.
    pub durations: Durations,
}

/// Changed details; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct DetailsChange {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New visibility.
    pub public: Option<bool>,
    /// New collaborative flag.
    pub collaborative: Option<bool>,
    /// New cover (`Some(None)` removes it).
    pub cover_image_id: Option<Option<String>>,
}

/// One change to one playlist, applied atomically by a store after [`Edit::guard`] passed.
#[derive(Debug, Clone)]
pub enum EditOp {
    /// Insert tracks at a position (`None`: append).
    AddItems {
        /// Tracks, in order.
        track_ids: Vec<String>,
        /// Position of the first new item.
        position: Option<u32>,
        /// The tracks' durations, from the catalogue check.
        durations: Durations,
    },
    /// Remove items by id.
    RemoveItems {
        /// Distinct item ids.
        item_ids: Vec<String>,
    },
    /// Move `[start, start + length)` before the item at `before`.
    MoveItems {
        /// First position moved.
        start: u32,
        /// How many.
        length: u32,
        /// Insertion point, counted before the move.
        before: u32,
    },
    /// Change details.
    UpdateDetails(DetailsChange),
    /// Invite a collaborator.
    AddCollaborator(String),
    /// Revoke a collaborator.
    RemoveCollaborator(String),
    /// Delete the playlist.
    Delete,
}

/// A change with who makes it and the version they expect.
#[derive(Debug, Clone)]
pub struct Edit {
    /// The playlist.
    pub playlist_id: String,
    /// The verified caller.
    pub actor: String,
    /// The version the caller read, if they care.
    pub expected_version: Option<u64>,
    /// What to do.
    pub op: EditOp,
    /// The caller's idempotency key (additions only): a repeat returns the first answer.
    pub request_id: Option<String>,
}

/// What a store reports after applying an [`Edit`].
#[derive(Debug, Clone, Default)]
pub struct Edited {
    /// The version after the change (unchanged for a no-op).
    pub version: u64,
    /// Items added, with their positions.
    pub items: Vec<Item>,
    /// The details after the change (for detail updates); `None` after a delete.
    pub playlist: Option<Playlist>,
}

impl Edit {
    /// The checks every store runs on the locked row before applying the change, so both
    /// adapters enforce the same rules: access first (never reveal a private playlist),
    /// then the expected version, then the op's own preconditions.
    pub fn guard(&self, playlist: &Playlist) -> Result<(), PlaylistError> {
        let access = match &self.op {
            EditOp::AddItems { .. } | EditOp::RemoveItems { .. } | EditOp::MoveItems { .. } => {
                Access::EditItems
            }
            // A collaborator may leave on their own.
            EditOp::RemoveCollaborator(user) if *user == self.actor => Access::Read,
            _ => Access::Own,
        };
        playlist.authorize(&self.actor, access)?;
        // A collaborator leaving asks only to read; a generated playlist has none either way.
        playlist.check_not_generated()?;
        playlist.check_version(self.expected_version)?;
        match &self.op {
            EditOp::AddItems {
                track_ids,
                position,
                ..
            } => {
                if let Some(position) = position
                    && *position > playlist.item_count
                {
                    return Err(PlaylistError::invalid(format!(
                        "position {position} is past the end of the playlist ({} items)",
                        playlist.item_count
                    )));
                }
                let total = u64::from(playlist.item_count) + track_ids.len() as u64;
                if total > u64::from(MAX_ITEMS) {
                    return Err(PlaylistError::FailedPrecondition(format!(
                        "a playlist holds at most {MAX_ITEMS} items; it has {} and {} more were added",
                        playlist.item_count,
                        track_ids.len()
                    )));
                }
            }
            EditOp::MoveItems {
                start,
                length,
                before,
            } => {
                let end = u64::from(*start) + u64::from(*length);
                if end > u64::from(playlist.item_count) {
                    return Err(PlaylistError::invalid(format!(
                        "the range of {length} items from position {start} does not lie within the playlist ({} items)",
                        playlist.item_count
                    )));
                }
                if *before > playlist.item_count {
                    return Err(PlaylistError::invalid(format!(
                        "insert_before {before} is past the end of the playlist ({} items)",
                        playlist.item_count
                    )));
                }
            }
            EditOp::AddCollaborator(user) => {
                if !playlist.collaborative {
                    return Err(PlaylistError::FailedPrecondition(
                        "the playlist is not collaborative; make it collaborative first".to_owned(),
                    ));
                }
                if *user == playlist.owner_id {
                    return Err(PlaylistError::invalid("the owner cannot be a collaborator"));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// A fresh opaque id (32 hex digits, time-ordered).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}
