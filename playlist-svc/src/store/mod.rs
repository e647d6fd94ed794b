//! The store port: playlists, items, followers, liked songs, albums and artists, and play
//! queues, with every write atomic and carrying its outbox event in the same transaction.
//!
//! Two adapters implement it, [`postgres::PostgresStore`] (production) and
//! [`sqlite::SqliteStore`] (`tunemesh up`); one contract suite (`tests/contract.rs`) runs
//! against both. A write locks the playlist row, runs [`Edit::guard`](crate::model::Edit::guard)
//! on it, applies the change and bumps the version: writers of one playlist queue on its row
//! instead of overwriting each other, so concurrent appends all land.

pub mod postgres;
pub mod requests;
pub mod rules;
pub mod sqlite;

use async_trait::async_trait;

use crate::error::PlaylistError;
use crate::library::{LikeKind, LikedItem, PlayQueue, QueueSave};
use crate::model::{
    Edit, Edited, GeneratedPut, LikedTrack, NewPlaylist, Playlist, PlaylistPage, Relation,
};

/// The one-time job (a row of `playlist_backfills`, added by migration V3) that publishes
/// every public playlist's details once, so playlists made public before events carried
/// details become searchable. Each store runs it when it opens, after its migrations.
const DETAILS_BACKFILL: &str = "playlist_details";

/// Playlists republished per backfill transaction: bounds each transaction's length and the
/// outbox rows it adds at once.
const BACKFILL_BATCH: u32 = 200;

/// Tracks whose durations the duration backfill asks the catalogue for at once (its
/// `BatchGetTracks` limit).
pub const DURATION_TRACKS: u32 = 100;

/// Where a library or liked-tracks listing continues: the sort key of the last row returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// Time (update or like), ms since the epoch.
    pub ms: i64,
    /// Tie-breaker id (playlist or track).
    pub id: String,
}

/// The answer to a liked-songs change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LikesChanged {
    /// The liked songs' version after the change.
    pub version: u64,
}

/// The relational store of playlists.
#[async_trait]
pub trait PlaylistStore: Send + Sync + std::fmt::Debug {
    /// Creates a playlist at version 1 with its items and a `CREATED` event. With a
    /// `request_id` already used by the same owner, returns the first result instead.
    async fn create(&self, new: NewPlaylist) -> Result<Playlist, PlaylistError>;

    /// The playlist and up to `limit` items from position `offset`, in one snapshot; `None`
    /// when there is no such playlist.
    async fn page(
        &self,
        id: &str,
        offset: u32,
        limit: u32,
    ) -> Result<Option<PlaylistPage>, PlaylistError>;

    /// Applies one change atomically (see [`Edit`]), with its event.
    async fn edit(&self, edit: Edit) -> Result<Edited, PlaylistError>;

    /// Creates the generated playlist of `put`'s listener and kind, owned by the system
    /// account, or replaces its name, description and items: with events that remove the
    /// old items and add the new ones, so consumers counting items stay right. Returns the
    /// playlist and whether anything changed (the same content again changes nothing).
    async fn put_generated(&self, put: GeneratedPut) -> Result<(Playlist, bool), PlaylistError>;

    /// Follows (or unfollows) a playlist the user may see; idempotent. Returns the playlist
    /// after the change.
    async fn follow(&self, id: &str, user: &str, follow: bool) -> Result<Playlist, PlaylistError>;

    /// The user's library, most recently updated first, after `after`.
    async fn library(
        &self,
        user: &str,
        relations: &[Relation],
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<(Playlist, Relation)>, PlaylistError>;

    /// Likes or unlikes tracks; idempotent. The version moves only when something changed.
    async fn like(
        &self,
        user: &str,
        track_ids: &[String],
        liked: bool,
        expected_version: Option<u64>,
    ) -> Result<LikesChanged, PlaylistError>;

    /// Liked songs, most recent first, after `after`; with the total and the version.
    async fn liked(
        &self,
        user: &str,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<(Vec<LikedTrack>, u64, u64), PlaylistError>;

    /// For each track, when the user liked it (`None`: not liked); with the version.
    async fn check_liked(
        &self,
        user: &str,
        track_ids: &[String],
    ) -> Result<(Vec<Option<i64>>, u64), PlaylistError>;

    /// Likes or unlikes albums or artists (distinct ids); idempotent, with a
    /// `LikedItemsChanged` event when something changed. The version (one per user and
    /// kind) moves only when something changed.
    async fn like_items(
        &self,
        user: &str,
        kind: LikeKind,
        ids: &[String],
        liked: bool,
        expected_version: Option<u64>,
    ) -> Result<LikesChanged, PlaylistError>;

    /// Liked albums or artists, most recent first, after `after`; with the total and the
    /// version.
    async fn liked_items(
        &self,
        user: &str,
        kind: LikeKind,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<(Vec<LikedItem>, u64, u64), PlaylistError>;

    /// For each album or artist, when the user liked it (`None`: not liked); with the
    /// version.
    async fn check_liked_items(
        &self,
        user: &str,
        kind: LikeKind,
        ids: &[String],
    ) -> Result<(Vec<Option<i64>>, u64), PlaylistError>;

    /// Replaces the user's play queue; returns it as saved.
    async fn save_queue(&self, save: QueueSave) -> Result<PlayQueue, PlaylistError>;

    /// The user's play queue; `None` when never saved.
    async fn queue(&self, user: &str) -> Result<Option<PlayQueue>, PlaylistError>;

    /// Up to `limit` distinct tracks of items whose duration is not known yet (items stored
    /// before durations were kept): the duration backfill's work list.
    async fn unknown_durations(&self, limit: u32) -> Result<Vec<String>, PlaylistError>;

    /// Fills in `durations` (track id, ms) for the not yet known items of those tracks in
    /// at most [`BACKFILL_BATCH`] playlists, in one transaction that locks their rows like
    /// any write, and updates their totals; bumps their revision (not their version: their
    /// details and items are unchanged). Returns those playlists' ids and new revisions, for
    /// the cache; empty when no such item is left.
    async fn fill_durations(
        &self,
        durations: &[(String, u64)],
    ) -> Result<Vec<(String, u64)>, PlaylistError>;
}
