//! JSON shapes of the playlist and liked-songs routes, converted from and to
//! `tunemesh.playlist.v1` messages.

use serde::{Deserialize, Serialize};
use tunemesh_proto::playlist::v1 as pb;
use utoipa::ToSchema;

use super::catalog::{Image, millis, next_page, rfc3339};

/// A playlist.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Playlist {
    /// Stable opaque id.
    pub id: String,
    /// Name, 1 to 100 characters.
    pub name: String,
    /// Description; may be empty.
    pub description: String,
    /// The user who owns it.
    pub owner_id: String,
    /// Readable by every signed-in user; otherwise only by its owner and collaborators.
    pub public: bool,
    /// Whether collaborators may edit it.
    pub collaborative: bool,
    /// Users allowed to edit it besides the owner.
    pub collaborator_ids: Vec<String>,
    /// Cover art: the owner's, or else the one derived from the first tracks' covers (one
    /// cover, or a 2×2 mosaic of four); absent when neither exists.
    pub cover: Option<Image>,
    /// Number of items.
    pub item_count: u32,
    /// Number of followers.
    pub follower_count: u32,
    /// Total playing time of the items in milliseconds; items whose track is gone count 0.
    /// Playlists from before durations were kept may read short for a while after an
    /// upgrade, until the service has filled in their items' durations.
    pub duration_ms: u64,
    /// Increases with every change; send it back as `expected_version` to edit safely.
    pub version: u64,
    /// When it was created (RFC 3339).
    pub created_at: Option<String>,
    /// When it last changed (RFC 3339).
    pub updated_at: Option<String>,
    /// Set when the service generated it for the caller ("Made for you"): read-only, owned
    /// by the system account.
    pub generated: Option<GeneratedFor>,
}

/// Whom and what a generated playlist was made for.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct GeneratedFor {
    /// The listener it was made for.
    pub user_id: String,
    /// Its kind, e.g. `daily-mix`.
    pub kind: String,
}

impl From<pb::Playlist> for Playlist {
    fn from(p: pb::Playlist) -> Self {
        Self {
            id: p.id,
            name: p.name,
            description: p.description,
            owner_id: p.owner_id,
            public: p.public,
            collaborative: p.collaborative,
            collaborator_ids: p.collaborator_ids,
            cover: p.cover.map(Into::into),
            item_count: p.item_count,
            follower_count: p.follower_count,
            duration_ms: millis(p.duration.as_ref()),
            version: p.version,
            created_at: rfc3339(p.create_time.as_ref()),
            updated_at: rfc3339(p.update_time.as_ref()),
            generated: p.generated.map(|g| GeneratedFor {
                user_id: g.user_id,
                kind: g.kind,
            }),
        }
    }
}

/// One entry of a playlist.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PlaylistItem {
    /// Id of this entry (the same track may appear twice, as two items).
    pub item_id: String,
    /// The track.
    pub track_id: String,
    /// 0-based position.
    pub position: u32,
    /// Who added it.
    pub added_by: String,
    /// When it was added (RFC 3339).
    pub added_at: Option<String>,
}

impl From<pb::PlaylistItem> for PlaylistItem {
    fn from(i: pb::PlaylistItem) -> Self {
        Self {
            item_id: i.item_id,
            track_id: i.track_id,
            position: i.position,
            added_by: i.added_by,
            added_at: rfc3339(i.add_time.as_ref()),
        }
    }
}

/// A playlist with one page of its items.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PlaylistPage {
    /// The playlist.
    pub playlist: Playlist,
    /// Items of this page, in order.
    pub items: Vec<PlaylistItem>,
    /// Pass as `page_token` for the next page; absent on the last page.
    pub next_page_token: Option<String>,
}

/// How the caller relates to a playlist in their library.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// The caller owns it.
    Owner,
    /// The caller may edit it.
    Collaborator,
    /// The caller follows it.
    Follower,
    /// The service generated it for the caller.
    MadeForYou,
}

/// A playlist of the caller's library.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LibraryEntry {
    /// The playlist.
    pub playlist: Playlist,
    /// Why it is in the library; absent if the service did not say.
    pub relation: Option<Relation>,
}

/// One page of the caller's playlists.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LibraryPage {
    /// Playlists of this page.
    pub playlists: Vec<LibraryEntry>,
    /// Pass as `page_token` for the next page; absent on the last page.
    pub next_page_token: Option<String>,
}

impl From<pb::ListMyPlaylistsResponse> for LibraryPage {
    fn from(page: pb::ListMyPlaylistsResponse) -> Self {
        let playlists = page
            .playlists
            .into_iter()
            .filter_map(|entry| {
                let relation = match pb::PlaylistRelation::try_from(entry.relation).ok()? {
                    pb::PlaylistRelation::Owner => Some(Relation::Owner),
                    pb::PlaylistRelation::Collaborator => Some(Relation::Collaborator),
                    pb::PlaylistRelation::Follower => Some(Relation::Follower),
                    pb::PlaylistRelation::MadeForYou => Some(Relation::MadeForYou),
                    pb::PlaylistRelation::Unspecified => None,
                };
                Some(LibraryEntry {
                    playlist: entry.playlist?.into(),
                    relation,
                })
            })
            .collect();
        Self {
            playlists,
            next_page_token: next_page(page.next_page_token),
        }
    }
}

/// The playlists made for the caller ("Made for you"), most recently refreshed first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MadeForYou {
    /// The generated playlists (without items; read one with `GET /v1/playlists/{id}`).
    pub playlists: Vec<Playlist>,
}

/// A new playlist.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlaylist {
    /// Name, 1 to 100 characters.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Readable by every signed-in user.
    #[serde(default)]
    pub public: bool,
    /// Whether collaborators may edit it.
    #[serde(default)]
    pub collaborative: bool,
    /// Tracks to start with.
    #[serde(default)]
    pub track_ids: Vec<String>,
    /// Client-chosen id making a retried create idempotent.
    #[serde(default)]
    pub request_id: String,
}

/// Changes to a playlist's details; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaylistChanges {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New visibility.
    pub public: Option<bool>,
    /// Whether collaborators may edit.
    pub collaborative: Option<bool>,
    /// Apply only if the playlist is still at this version (412 otherwise).
    pub expected_version: Option<u64>,
}

/// Tracks to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewItems {
    /// One track to add.
    pub track_id: Option<String>,
    /// Several tracks to add, in order (after `track_id` when both are given).
    #[serde(default)]
    pub track_ids: Vec<String>,
    /// 0-based position to insert at; the end when absent.
    pub position: Option<u32>,
    /// Apply only if the playlist is still at this version (412 otherwise).
    pub expected_version: Option<u64>,
}

/// Added items.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AddedItems {
    /// The new items.
    pub items: Vec<PlaylistItem>,
    /// The playlist's version after the change.
    pub version: u64,
}

/// A move of a run of items.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemMove {
    /// 0-based position of the first item to move.
    pub range_start: u32,
    /// How many items to move; 1 when absent.
    pub range_length: Option<u32>,
    /// 0-based position (before the move) to put them before; the item count moves them to
    /// the end.
    pub insert_before: u32,
    /// Apply only if the playlist is still at this version (412 otherwise).
    pub expected_version: Option<u64>,
}

/// The version after a change.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Version {
    /// The version of the playlist (or liked songs) after the change.
    pub version: u64,
}

/// A liked track.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LikedTrack {
    /// The track.
    pub track_id: String,
    /// When it was liked (RFC 3339).
    pub liked_at: Option<String>,
}

/// One page of the caller's liked songs, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LikedPage {
    /// Liked tracks of this page.
    pub tracks: Vec<LikedTrack>,
    /// Pass as `page_token` for the next page; absent on the last page.
    pub next_page_token: Option<String>,
    /// Liked tracks in all.
    pub total_size: i32,
    /// Version of the liked songs.
    pub version: u64,
}

impl From<pb::ListLikedTracksResponse> for LikedPage {
    fn from(page: pb::ListLikedTracksResponse) -> Self {
        Self {
            tracks: page
                .tracks
                .into_iter()
                .map(|t| LikedTrack {
                    liked_at: rfc3339(t.like_time.as_ref()),
                    track_id: t.track_id,
                })
                .collect(),
            next_page_token: next_page(page.next_page_token),
            total_size: page.total_size,
            version: page.version,
        }
    }
}

/// Which of the asked tracks the caller likes.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LikedCheck {
    /// One answer per asked track, in order.
    pub liked: Vec<bool>,
    /// Version of the liked songs.
    pub version: u64,
}
