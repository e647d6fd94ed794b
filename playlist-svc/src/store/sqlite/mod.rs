//! The embedded store on SQLite (one file under the data directory), for `tunemesh up`.
//! Every statement runs on tokio-rusqlite's own thread, never on an async worker.
//!
//! # Layout
//! - `mod.rs`: opening, migrations, reads, liked songs
//! - `write.rs`: create, edits and follows (`IMMEDIATE` transactions with outbox events)
//! - `generated.rs`: generated playlists, created or replaced whole
//! - `backfill.rs`: the one-time details backfill run after the migrations
//! - `durations.rs`: the duration backfill's statements (run by a background task)
//! - `library.rs`: liked albums and artists, play queues

mod backfill;
mod durations;
mod generated;
mod library;
mod requests;
mod write;

use std::path::Path;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension as _, Row, params};
use tunemesh_events::outbox::OutboxWaker;
use tunemesh_runtime::migrate::{self, Migrations};

use super::{Cursor, LikesChanged, PlaylistStore};
use crate::error::PlaylistError;
use crate::library::{LikeKind, LikedItem, PlayQueue, QueueSave};
use crate::model::{
    Edit, Edited, GeneratedPut, Item, LikedTrack, NewPlaylist, Playlist, PlaylistPage, Relation,
};
use crate::store::rules::generated;

mod embedded {
    refinery::embed_migrations!("migrations/sqlite");
}

/// The playlist steps, recorded in `playlist_schema_history` (see the PostgreSQL store for
/// files made before the shared runner).
pub const MIGRATIONS: Migrations = Migrations {
    service: crate::SERVICE_NAME,
    history_table: "playlist_schema_history",
    steps: embedded::migrations::runner,
};

/// Selects a [`Playlist`] from `playlists p` (collaborators, and the first tracks
/// (`FIRST_TRACKS` of them), as `\n`-joined strings).
const PLAYLIST_COLUMNS: &str = "p.id, p.owner_id, p.name, p.description, p.public, \
    p.collaborative, (SELECT group_concat(user_id, char(10)) FROM (SELECT c.user_id FROM \
    playlist_collaborators c WHERE c.playlist_id = p.id ORDER BY c.seq)), p.cover_image_id, \
    p.item_count, p.follower_count, p.version, p.revision, p.create_ms, p.update_ms, \
    (SELECT group_concat(track_id, char(10)) FROM (SELECT i.track_id FROM playlist_items i \
    WHERE i.playlist_id = p.id ORDER BY i.rank LIMIT 8)), p.generated_for, p.generated_kind, \
    p.duration_ms";

/// Number of columns in [`PLAYLIST_COLUMNS`].
const PLAYLIST_WIDTH: usize = 18;

/// The values of a `\n`-joined column.
fn lines(joined: Option<String>) -> Vec<String> {
    joined
        .map(|c| c.split('\n').map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Playlists in a SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    db: tokio_rusqlite::Connection,
    waker: OutboxWaker,
}

/// A failure on the database thread: a closed connection or a locked database is
/// UNAVAILABLE; anything else is a bug.
fn sqlite(error: rusqlite::Error) -> PlaylistError {
    let busy = matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    );
    PlaylistError::store(error, !busy)
}

impl SqliteStore {
    /// Opens (creating) the file, applies the migrations and runs the backfills they owe;
    /// `waker` is poked after commits.
    pub async fn open(path: &Path, waker: OutboxWaker) -> Result<Self, PlaylistError> {
        let db = tokio_rusqlite::Connection::open(path)
            .await
            .map_err(|e| PlaylistError::Internal(e.into()))?;
        let store = Self { db, waker };
        store
            .call(|conn| {
                conn.execute_batch(
                    "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;
                     PRAGMA busy_timeout = 5000; PRAGMA synchronous = FULL;",
                )
                .map_err(sqlite)
            })
            .await?;
        migrate::sqlite(&store.db, &MIGRATIONS)
            .await
            .map_err(|error| PlaylistError::store(error, false))?;
        store.backfill().await?;
        Ok(store)
    }

    /// Runs the details backfill the migrations owe (see `DETAILS_BACKFILL`), a batch per
    /// call on the database thread so other statements interleave.
    async fn backfill(&self) -> Result<(), PlaylistError> {
        let mut republished = 0;
        while let Some(count) = self.call(backfill::batch).await? {
            republished += count;
            self.waker.wake();
        }
        if republished > 0 {
            tracing::info!(
                republished,
                "published the details of existing public playlists"
            );
        }
        Ok(())
    }

    /// The connection (the outbox relay reads through it too).
    pub fn connection(&self) -> tokio_rusqlite::Connection {
        self.db.clone()
    }

    async fn call<R, F>(&self, function: F) -> Result<R, PlaylistError>
    where
        F: FnOnce(&mut Connection) -> Result<R, PlaylistError> + Send + 'static,
        R: Send + 'static,
    {
        self.db.call(function).await.map_err(|error| match error {
            tokio_rusqlite::Error::Error(error) => error,
            other => PlaylistError::store(anyhow::anyhow!("{other}"), false),
        })
    }
}

fn to_u32(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn playlist(row: &Row<'_>) -> rusqlite::Result<Playlist> {
    Ok(Playlist {
        id: row.get(0)?,
        owner_id: row.get(1)?,
        name: row.get(2)?,
        description: row.get(3)?,
        public: row.get(4)?,
        collaborative: row.get(5)?,
        collaborator_ids: lines(row.get(6)?),
        cover_image_id: row.get(7)?,
        item_count: to_u32(row.get(8)?),
        follower_count: to_u32(row.get(9)?),
        version: to_u64(row.get(10)?),
        revision: to_u64(row.get(11)?),
        create_ms: row.get(12)?,
        update_ms: row.get(13)?,
        first_track_ids: lines(row.get(14)?),
        generated: generated(row.get(15)?, row.get(16)?),
        duration_ms: to_u64(row.get(17)?),
    })
}

fn load(conn: &Connection, id: &str) -> Result<Option<Playlist>, PlaylistError> {
    let sql = format!("SELECT {PLAYLIST_COLUMNS} FROM playlists p WHERE p.id = ?1");
    conn.query_row(&sql, [id], playlist)
        .optional()
        .map_err(sqlite)
}

fn liked_version(conn: &Connection, user: &str) -> Result<u64, PlaylistError> {
    let version: Option<i64> = conn
        .query_row(
            "SELECT version FROM liked_versions WHERE user_id = ?1",
            [user],
            |r| r.get(0),
        )
        .optional()
        .map_err(sqlite)?;
    Ok(version.map_or(0, to_u64))
}

#[async_trait]
impl PlaylistStore for SqliteStore {
    async fn create(&self, new: NewPlaylist) -> Result<Playlist, PlaylistError> {
        let waker = self.waker.clone();
        let created = self.call(move |conn| write::create(conn, &new)).await?;
        waker.wake();
        Ok(created)
    }

    async fn page(
        &self,
        id: &str,
        offset: u32,
        limit: u32,
    ) -> Result<Option<PlaylistPage>, PlaylistError> {
        let id = id.to_owned();
        self.call(move |conn| {
            // One read transaction: the items match the version returned with them.
            let tx = conn.transaction().map_err(sqlite)?;
            let Some(playlist) = load(&tx, &id)? else {
                return Ok(None);
            };
            let mut statement = tx
                .prepare_cached(
                    "SELECT item_id, track_id, added_by, add_ms FROM playlist_items
                     WHERE playlist_id = ?1 ORDER BY rank LIMIT ?2 OFFSET ?3",
                )
                .map_err(sqlite)?;
            let rows = statement
                .query_map(params![id, limit, offset], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
                })
                .map_err(sqlite)?
                .collect::<rusqlite::Result<Vec<(String, String, String, i64)>>>()
                .map_err(sqlite)?;
            let items = rows
                .into_iter()
                .zip(offset..)
                .map(|((item_id, track_id, added_by, add_ms), position)| Item {
                    item_id,
                    track_id,
                    added_by,
                    add_ms,
                    position,
                })
                .collect();
            Ok(Some(PlaylistPage {
                playlist,
                items,
                offset,
            }))
        })
        .await
    }

    async fn edit(&self, edit: Edit) -> Result<Edited, PlaylistError> {
        let waker = self.waker.clone();
        let edited = self.call(move |conn| write::edit(conn, &edit)).await?;
        waker.wake();
        Ok(edited)
    }

    async fn put_generated(&self, put: GeneratedPut) -> Result<(Playlist, bool), PlaylistError> {
        let waker = self.waker.clone();
        let (playlist, changed) = self
            .call(move |conn| generated::put_generated(conn, &put))
            .await?;
        if changed {
            waker.wake();
        }
        Ok((playlist, changed))
    }

    async fn follow(&self, id: &str, user: &str, follow: bool) -> Result<Playlist, PlaylistError> {
        let (id, user, waker) = (id.to_owned(), user.to_owned(), self.waker.clone());
        let after = self
            .call(move |conn| write::follow(conn, &id, &user, follow))
            .await?;
        waker.wake();
        Ok(after)
    }

    async fn library(
        &self,
        user: &str,
        relations: &[Relation],
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<(Playlist, Relation)>, PlaylistError> {
        let user = user.to_owned();
        let wanted: Vec<i64> = relations.iter().map(|r| i64::from(r.rank())).collect();
        self.call(move |conn| {
            let (after_ms, after_id) = after.map_or((None, None), |c| (Some(c.ms), Some(c.id)));
            let sql = format!(
                "SELECT {PLAYLIST_COLUMNS}, r.rel FROM (
                     SELECT id, MIN(rel) AS rel FROM (
                         SELECT id, 1 AS rel FROM playlists WHERE owner_id = ?1
                         UNION ALL SELECT playlist_id, 2 FROM playlist_collaborators WHERE user_id = ?1
                         UNION ALL SELECT playlist_id, 3 FROM playlist_followers WHERE user_id = ?1
                         UNION ALL SELECT id, 0 FROM playlists WHERE generated_for = ?1
                     ) GROUP BY id
                 ) r JOIN playlists p ON p.id = r.id
                 WHERE (?2 IS NULL OR p.update_ms < ?2 OR (p.update_ms = ?2 AND p.id < ?3))
                 ORDER BY p.update_ms DESC, p.id DESC"
            );
            let mut statement = conn.prepare_cached(&sql).map_err(sqlite)?;
            let rows = statement
                .query_map(params![user, after_ms, after_id], |row| Ok((playlist(row)?, row.get::<_, i64>(PLAYLIST_WIDTH)?)))
                .map_err(sqlite)?;
            let mut out = Vec::new();
            for row in rows {
                let (playlist, rel) = row.map_err(sqlite)?;
                if !wanted.contains(&rel) {
                    continue;
                }
                out.push((playlist, Relation::from_rank(rel)));
                if out.len() >= limit as usize {
                    break;
                }
            }
            Ok(out)
        })
        .await
    }

    async fn like(
        &self,
        user: &str,
        track_ids: &[String],
        liked: bool,
        expected_version: Option<u64>,
    ) -> Result<LikesChanged, PlaylistError> {
        let (user, track_ids, waker) = (user.to_owned(), track_ids.to_vec(), self.waker.clone());
        let changed = self
            .call(move |conn| write::like(conn, &user, &track_ids, liked, expected_version))
            .await?;
        waker.wake();
        Ok(changed)
    }

    async fn liked(
        &self,
        user: &str,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<(Vec<LikedTrack>, u64, u64), PlaylistError> {
        let user = user.to_owned();
        self.call(move |conn| {
            let tx = conn.transaction().map_err(sqlite)?;
            let (after_ms, after_id) = after.map_or((None, None), |c| (Some(c.ms), Some(c.id)));
            let tracks = {
                let mut statement = tx
                    .prepare_cached(
                        "SELECT track_id, like_ms FROM liked_tracks WHERE user_id = ?1
                           AND (?2 IS NULL OR like_ms < ?2 OR (like_ms = ?2 AND track_id < ?3))
                         ORDER BY like_ms DESC, track_id DESC LIMIT ?4",
                    )
                    .map_err(sqlite)?;
                statement
                    .query_map(params![user, after_ms, after_id, limit], |row| {
                        Ok(LikedTrack {
                            track_id: row.get(0)?,
                            like_ms: row.get(1)?,
                        })
                    })
                    .map_err(sqlite)?
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .map_err(sqlite)?
            };
            let total: i64 = tx
                .query_row(
                    "SELECT count(*) FROM liked_tracks WHERE user_id = ?1",
                    [&user],
                    |r| r.get(0),
                )
                .map_err(sqlite)?;
            let version = liked_version(&tx, &user)?;
            Ok((tracks, to_u64(total), version))
        })
        .await
    }

    async fn check_liked(
        &self,
        user: &str,
        track_ids: &[String],
    ) -> Result<(Vec<Option<i64>>, u64), PlaylistError> {
        let (user, track_ids) = (user.to_owned(), track_ids.to_vec());
        self.call(move |conn| {
            let tx = conn.transaction().map_err(sqlite)?;
            let mut liked = Vec::with_capacity(track_ids.len());
            for track in &track_ids {
                let found: Option<i64> = tx
                    .query_row(
                        "SELECT like_ms FROM liked_tracks WHERE user_id = ?1 AND track_id = ?2",
                        params![user, track],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(sqlite)?;
                liked.push(found);
            }
            Ok((liked, liked_version(&tx, &user)?))
        })
        .await
    }

    async fn like_items(
        &self,
        user: &str,
        kind: LikeKind,
        ids: &[String],
        liked: bool,
        expected_version: Option<u64>,
    ) -> Result<LikesChanged, PlaylistError> {
        let (user, ids, waker) = (user.to_owned(), ids.to_vec(), self.waker.clone());
        let changed = self
            .call(move |conn| library::like_items(conn, &user, kind, &ids, liked, expected_version))
            .await?;
        waker.wake();
        Ok(changed)
    }

    async fn liked_items(
        &self,
        user: &str,
        kind: LikeKind,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<(Vec<LikedItem>, u64, u64), PlaylistError> {
        let user = user.to_owned();
        self.call(move |conn| library::liked_items(conn, &user, kind, after, limit))
            .await
    }

    async fn check_liked_items(
        &self,
        user: &str,
        kind: LikeKind,
        ids: &[String],
    ) -> Result<(Vec<Option<i64>>, u64), PlaylistError> {
        let (user, ids) = (user.to_owned(), ids.to_vec());
        self.call(move |conn| library::check_liked_items(conn, &user, kind, &ids))
            .await
    }

    async fn save_queue(&self, save: QueueSave) -> Result<PlayQueue, PlaylistError> {
        self.call(move |conn| library::save_queue(conn, save)).await
    }

    async fn queue(&self, user: &str) -> Result<Option<PlayQueue>, PlaylistError> {
        let user = user.to_owned();
        self.call(move |conn| library::queue(conn, &user)).await
    }

    async fn unknown_durations(&self, limit: u32) -> Result<Vec<String>, PlaylistError> {
        self.call(move |conn| durations::unknown(conn, limit)).await
    }

    async fn fill_durations(
        &self,
        durations: &[(String, u64)],
    ) -> Result<Vec<(String, u64)>, PlaylistError> {
        let durations = durations.to_vec();
        self.call(move |conn| durations::fill(conn, &durations))
            .await
    }
}
