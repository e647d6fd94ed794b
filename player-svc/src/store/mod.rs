//! The stores' ports: the catalogue ([`CatalogStore`]) and play sessions
//! ([`PlaySessionStore`]), each with a PostgreSQL and an embedded SQLite adapter (one type per
//! database implements both: they share its connection, its migrations and its outbox), run
//! through one contract suite (`tests/player/store/`).
//!
//! Rows carry what the RPCs answer with; aggregates (album track counts, artist genres) are
//! computed by the adapters at read time, so a write touches one track and its two parents.
//! The listings' totals (all tracks, albums and artists, tracks by genre) are the exception:
//! counting the table per page grew with the catalogue, so they are counts kept by triggers in
//! each write's transaction (`catalogue_counts`, migration V5; `keyset::kept_count`).

mod keyset;
mod listings;
pub mod postgres;
mod sql;
pub mod sqlite;
mod types;

use std::fmt;

use async_trait::async_trait;
use tunemesh_events::Envelope;

use crate::error::PlayerError;
pub use listings::Keyed;
pub use types::*;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed or is unreachable.
    #[error("catalogue store failed")]
    Backend(#[source] anyhow::Error),
    /// A domain rule refused the change inside the transaction (e.g. a session reused).
    #[error(transparent)]
    Domain(PlayerError),
}

impl StoreError {
    pub(crate) fn backend(error: impl Into<anyhow::Error>) -> Self {
        Self::Backend(error.into())
    }
}

/// Decides what a playback report does to its session, inside the store's transaction:
/// given the stored session (if any), returns the session to store and the event to emit.
pub type SessionUpdate =
    Box<dyn FnOnce(Option<PlaySession>) -> Result<SessionDecision, PlayerError> + Send>;

/// The catalogue, whatever database holds it.
#[async_trait]
pub trait CatalogStore: Send + Sync + fmt::Debug {
    /// The id of the track whose source hashes to `content_hash` (`sha256:<hex>`), if any.
    async fn track_id_by_hash(&self, content_hash: &str) -> Result<Option<String>, StoreError>;

    /// The track ingested from `source` (a library path or an upload key), if any.
    async fn track_by_source(&self, source: &str) -> Result<Option<TrackRecord>, StoreError>;

    /// Inserts or replaces a track (creating its artist and album when new) and appends
    /// `event` to the outbox, in one transaction.
    async fn put_track(&self, track: &TrackRecord, event: &Envelope) -> Result<(), StoreError>;

    /// [`put_track`](Self::put_track) for each pair, in order: the bulk path of
    /// [`crate::bulk`]. Both adapters commit them all in one transaction (one disk flush
    /// instead of one per track); the default puts one at a time, each in its own.
    async fn put_tracks(&self, tracks: &[(TrackRecord, Envelope)]) -> Result<(), StoreError> {
        for (track, event) in tracks {
            self.put_track(track, event).await?;
        }
        Ok(())
    }

    /// The tracks with these ids, in any order; unknown ids are left out.
    async fn tracks(&self, ids: &[String]) -> Result<Vec<TrackRecord>, StoreError>;

    /// One page of tracks after `after` in the filter's order, and the filter's total.
    async fn list_tracks(
        &self,
        filter: &TrackFilter,
        after: Option<&SortKey>,
        limit: usize,
    ) -> Result<Page<TrackRecord>, StoreError>;

    /// The albums with these ids, with their aggregates, in any order.
    async fn albums(&self, ids: &[String]) -> Result<Vec<AlbumRecord>, StoreError>;

    /// One page of albums (of one artist, or all).
    async fn list_albums(
        &self,
        artist_id: Option<&str>,
        after: Option<&SortKey>,
        limit: usize,
    ) -> Result<Page<AlbumRecord>, StoreError>;

    /// The artists with these ids, with their aggregates, in any order.
    async fn artists(&self, ids: &[String]) -> Result<Vec<ArtistRecord>, StoreError>;

    /// One page of artists by sort name.
    async fn list_artists(
        &self,
        after: Option<&SortKey>,
        limit: usize,
    ) -> Result<Page<ArtistRecord>, StoreError>;

    /// The sort key of the item at 0-based position `offset` of a keyset listing, to resume
    /// after it; `None` when the listing has no such item.
    async fn key_at(&self, listing: &Keyed, offset: u64) -> Result<Option<SortKey>, StoreError>;

    /// One page of albums by position in `query`'s order, with the filtered total (`next`
    /// is unset: the caller pages by offset).
    async fn query_albums(
        &self,
        query: &AlbumQuery,
        limit: usize,
    ) -> Result<Page<AlbumRecord>, StoreError>;

    /// Up to `limit` tracks matching `sample` with id at or after `start`, by id.
    async fn tracks_from(
        &self,
        sample: &TrackSample,
        start: &str,
        limit: usize,
    ) -> Result<Vec<TrackRecord>, StoreError>;

    /// Up to `limit` albums with id at or after `start`, by id.
    async fn albums_from(&self, start: &str, limit: usize) -> Result<Vec<AlbumRecord>, StoreError>;

    /// The genres of the tracks with their counts, by name, at most `limit`.
    async fn genres(&self, limit: usize) -> Result<Vec<GenreCount>, StoreError>;
}

/// Play sessions, whatever database holds them.
#[async_trait]
pub trait PlaySessionStore: Send + Sync + fmt::Debug {
    /// Applies `update` to session `session_id` in one transaction (the session row locked),
    /// stores what it decides and appends its event, if any, to the outbox.
    async fn update_session(
        &self,
        session_id: &str,
        update: SessionUpdate,
    ) -> Result<SessionDecision, StoreError>;

    /// Open sessions whose last report is older than `before_ms`, at most `limit`.
    async fn stale_sessions(
        &self,
        before_ms: i64,
        limit: usize,
    ) -> Result<Vec<PlaySession>, StoreError>;
}
