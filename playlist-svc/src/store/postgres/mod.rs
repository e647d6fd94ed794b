//! The production store on PostgreSQL (deadpool-postgres), with its migrations and outbox.
//!
//! # Layout
//! - `mod.rs`: connecting, migrations, reads, liked songs
//! - `write.rs`: create, edits and follows (row-locked transactions with outbox events)
//! - `bulk.rs`: `create_many`, many creations' rows by COPY (for benchmarks)
//! - `generated.rs`: generated playlists, created or replaced whole
//! - `backfill.rs`: the one-time details backfill run after the migrations
//! - `durations.rs`: the duration backfill's statements (run by a background task)
//! - `library.rs`: liked albums and artists, play queues

mod backfill;
mod bulk;
mod durations;
mod generated;
mod library;
mod requests;
mod write;

use async_trait::async_trait;
use deadpool_postgres::{Pool, PoolError};
use tokio_postgres::Row;
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
    refinery::embed_migrations!("migrations/postgres");
}

/// The playlist steps, recorded in `playlist_schema_history`. Databases made before the
/// shared runner recorded V1 and V2 in `playlist_schema_migrations` (left in place, unused):
/// both steps are idempotent, so such a database takes them as no-ops.
pub const MIGRATIONS: Migrations = Migrations {
    service: crate::SERVICE_NAME,
    history_table: "playlist_schema_history",
    steps: embedded::migrations::runner,
};

/// Selects a [`Playlist`] from `playlists p` (read with [`playlist`]); the first tracks
/// (`FIRST_TRACKS` of them) come through the `(playlist_id, rank)` index.
const PLAYLIST_COLUMNS: &str = "p.id, p.owner_id, p.name, p.description, p.public, \
    p.collaborative, ARRAY(SELECT c.user_id FROM playlist_collaborators c \
    WHERE c.playlist_id = p.id ORDER BY c.seq), p.cover_image_id, p.item_count, \
    p.follower_count, p.version, p.revision, p.create_ms, p.update_ms, \
    ARRAY(SELECT i.track_id FROM playlist_items i WHERE i.playlist_id = p.id \
    ORDER BY i.rank LIMIT 8), p.generated_for, p.generated_kind, p.duration_ms";

/// Number of columns in [`PLAYLIST_COLUMNS`].
const PLAYLIST_WIDTH: usize = 18;

/// Playlists in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: Pool,
    waker: OutboxWaker,
}

impl PostgresStore {
    /// Applies the migrations, runs the backfills they owe (see `DETAILS_BACKFILL`) and
    /// returns the store; `waker` is poked after each commit that wrote an event.
    pub async fn open(pool: Pool, waker: OutboxWaker) -> Result<Self, PlaylistError> {
        let store = Self { pool, waker };
        store.migrate().await?;
        let republished = backfill::details(&store).await?;
        if republished > 0 {
            tracing::info!(
                republished,
                "published the details of existing public playlists"
            );
        }
        Ok(store)
    }

    /// The pool (the outbox relay reads through it too).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The statements a page read runs, in one snapshot: the playlist (`$1` its id), then
    /// its items (`$2` offset and `$3` limit, both `bigint`). Public for the benchmark that
    /// explains them (`bench/src/listeners/explain.rs`).
    pub fn page_statements() -> [String; 2] {
        [
            format!("SELECT {PLAYLIST_COLUMNS} FROM playlists p WHERE p.id = $1"),
            "SELECT item_id, track_id, added_by, add_ms FROM playlist_items
             WHERE playlist_id = $1 ORDER BY rank OFFSET $2 LIMIT $3"
                .to_owned(),
        ]
    }

    async fn migrate(&self) -> Result<(), PlaylistError> {
        migrate::postgres(&self.pool, &MIGRATIONS)
            .await
            .map_err(|error| PlaylistError::store(error, false))?;
        Ok(())
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, PlaylistError> {
        self.pool.get().await.map_err(pool)
    }
}

/// A pool failure: no connection could be had, so the store is unavailable.
fn pool(error: PoolError) -> PlaylistError {
    PlaylistError::store(error, false)
}

/// A statement failure: connection trouble and server shutdown are UNAVAILABLE (retryable);
/// anything else the server reported is a bug.
pub(crate) fn pg(error: tokio_postgres::Error) -> PlaylistError {
    let reachable = match error.code() {
        None => false,
        Some(code) => {
            let class = &code.code()[..2];
            // 08: connection exception, 57: operator intervention (shutdown, cancel/timeout),
            // 53: insufficient resources, 40: serialization failure / deadlock.
            !matches!(class, "08" | "57" | "53" | "40")
        }
    };
    PlaylistError::store(error, reachable)
}

fn to_u32(value: i32) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// Reads the [`PLAYLIST_COLUMNS`] at the start of a row.
fn playlist(row: &Row) -> Result<Playlist, tokio_postgres::Error> {
    Ok(Playlist {
        id: row.try_get(0)?,
        owner_id: row.try_get(1)?,
        name: row.try_get(2)?,
        description: row.try_get(3)?,
        public: row.try_get(4)?,
        collaborative: row.try_get(5)?,
        collaborator_ids: row.try_get(6)?,
        cover_image_id: row.try_get(7)?,
        item_count: to_u32(row.try_get(8)?),
        follower_count: to_u32(row.try_get(9)?),
        version: to_u64(row.try_get(10)?),
        revision: to_u64(row.try_get(11)?),
        create_ms: row.try_get(12)?,
        update_ms: row.try_get(13)?,
        first_track_ids: row.try_get(14)?,
        generated: generated(row.try_get(15)?, row.try_get(16)?),
        duration_ms: to_u64(row.try_get(17)?),
    })
}

fn relation(value: i32) -> Relation {
    Relation::from_rank(i64::from(value))
}

#[async_trait]
impl PlaylistStore for PostgresStore {
    async fn create(&self, new: NewPlaylist) -> Result<Playlist, PlaylistError> {
        write::create(self, new).await
    }

    async fn page(
        &self,
        id: &str,
        offset: u32,
        limit: u32,
    ) -> Result<Option<PlaylistPage>, PlaylistError> {
        let mut client = self.client().await?;
        // One snapshot, so the items match the version returned with them.
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(pg)?;
        let [playlist_sql, items_sql] = Self::page_statements();
        let Some(row) = tx.query_opt(&playlist_sql, &[&id]).await.map_err(pg)? else {
            return Ok(None);
        };
        let playlist = playlist(&row).map_err(pg)?;
        let rows = tx
            .query(&items_sql, &[&id, &i64::from(offset), &i64::from(limit)])
            .await
            .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        let items = rows
            .iter()
            .zip(offset..)
            .map(|(row, position)| {
                Ok(Item {
                    item_id: row.try_get(0)?,
                    track_id: row.try_get(1)?,
                    added_by: row.try_get(2)?,
                    add_ms: row.try_get(3)?,
                    position,
                })
            })
            .collect::<Result<_, tokio_postgres::Error>>()
            .map_err(pg)?;
        Ok(Some(PlaylistPage {
            playlist,
            items,
            offset,
        }))
    }

    async fn edit(&self, edit: Edit) -> Result<Edited, PlaylistError> {
        write::edit(self, edit).await
    }

    async fn put_generated(&self, put: GeneratedPut) -> Result<(Playlist, bool), PlaylistError> {
        generated::put_generated(self, put).await
    }

    async fn follow(&self, id: &str, user: &str, follow: bool) -> Result<Playlist, PlaylistError> {
        write::follow(self, id, user, follow).await
    }

    async fn library(
        &self,
        user: &str,
        relations: &[Relation],
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<(Playlist, Relation)>, PlaylistError> {
        let client = self.client().await?;
        let relations: Vec<i32> = relations.iter().map(|r| r.rank()).collect();
        let (after_ms, after_id) = after.map_or((None, None), |c| (Some(c.ms), Some(c.id)));
        let sql = format!(
            "SELECT {PLAYLIST_COLUMNS}, r.rel FROM (
                 SELECT id, MIN(rel) AS rel FROM (
                     SELECT id, 1 AS rel FROM playlists WHERE owner_id = $1
                     UNION ALL SELECT playlist_id, 2 FROM playlist_collaborators WHERE user_id = $1
                     UNION ALL SELECT playlist_id, 3 FROM playlist_followers WHERE user_id = $1
                     UNION ALL SELECT id, 0 FROM playlists WHERE generated_for = $1
                 ) u GROUP BY id
             ) r JOIN playlists p ON p.id = r.id
             WHERE r.rel = ANY($2)
               AND ($3::bigint IS NULL OR (p.update_ms, p.id) < ($3, $4::text))
             ORDER BY p.update_ms DESC, p.id DESC LIMIT $5"
        );
        let rows = client
            .query(
                &sql,
                &[&user, &relations, &after_ms, &after_id, &i64::from(limit)],
            )
            .await
            .map_err(pg)?;
        rows.iter()
            .map(|row| Ok((playlist(row)?, relation(row.try_get(PLAYLIST_WIDTH)?))))
            .collect::<Result<_, tokio_postgres::Error>>()
            .map_err(pg)
    }

    async fn like(
        &self,
        user: &str,
        track_ids: &[String],
        liked: bool,
        expected_version: Option<u64>,
    ) -> Result<LikesChanged, PlaylistError> {
        write::like(self, user, track_ids, liked, expected_version).await
    }

    async fn liked(
        &self,
        user: &str,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<(Vec<LikedTrack>, u64, u64), PlaylistError> {
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(pg)?;
        let (after_ms, after_id) = after.map_or((None, None), |c| (Some(c.ms), Some(c.id)));
        let rows = tx
            .query(
                "SELECT track_id, like_ms FROM liked_tracks
                 WHERE user_id = $1
                   AND ($2::bigint IS NULL OR (like_ms, track_id) < ($2, $3::text))
                 ORDER BY like_ms DESC, track_id DESC LIMIT $4",
                &[&user, &after_ms, &after_id, &i64::from(limit)],
            )
            .await
            .map_err(pg)?;
        let total: i64 = tx
            .query_one(
                "SELECT count(*) FROM liked_tracks WHERE user_id = $1",
                &[&user],
            )
            .await
            .and_then(|row| row.try_get(0))
            .map_err(pg)?;
        let version = liked_version(&tx, user).await?;
        tx.commit().await.map_err(pg)?;
        let tracks = rows
            .iter()
            .map(|row| {
                Ok(LikedTrack {
                    track_id: row.try_get(0)?,
                    like_ms: row.try_get(1)?,
                })
            })
            .collect::<Result<_, tokio_postgres::Error>>()
            .map_err(pg)?;
        Ok((tracks, to_u64(total), version))
    }

    async fn check_liked(
        &self,
        user: &str,
        track_ids: &[String],
    ) -> Result<(Vec<Option<i64>>, u64), PlaylistError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let rows = tx
            .query(
                "SELECT track_id, like_ms FROM liked_tracks WHERE user_id = $1 AND track_id = ANY($2)",
                &[&user, &track_ids],
            )
            .await
            .map_err(pg)?;
        let version = liked_version(&tx, user).await?;
        tx.commit().await.map_err(pg)?;
        let liked: std::collections::HashMap<String, i64> = rows
            .iter()
            .filter_map(|row| Some((row.try_get(0).ok()?, row.try_get(1).ok()?)))
            .collect();
        Ok((
            track_ids.iter().map(|t| liked.get(t).copied()).collect(),
            version,
        ))
    }

    async fn like_items(
        &self,
        user: &str,
        kind: LikeKind,
        ids: &[String],
        liked: bool,
        expected_version: Option<u64>,
    ) -> Result<LikesChanged, PlaylistError> {
        library::like_items(self, user, kind, ids, liked, expected_version).await
    }

    async fn liked_items(
        &self,
        user: &str,
        kind: LikeKind,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<(Vec<LikedItem>, u64, u64), PlaylistError> {
        library::liked_items(self, user, kind, after, limit).await
    }

    async fn check_liked_items(
        &self,
        user: &str,
        kind: LikeKind,
        ids: &[String],
    ) -> Result<(Vec<Option<i64>>, u64), PlaylistError> {
        library::check_liked_items(self, user, kind, ids).await
    }

    async fn save_queue(&self, save: QueueSave) -> Result<PlayQueue, PlaylistError> {
        library::save_queue(self, save).await
    }

    async fn queue(&self, user: &str) -> Result<Option<PlayQueue>, PlaylistError> {
        library::queue(self, user).await
    }

    async fn unknown_durations(&self, limit: u32) -> Result<Vec<String>, PlaylistError> {
        durations::unknown(self, limit).await
    }

    async fn fill_durations(
        &self,
        durations: &[(String, u64)],
    ) -> Result<Vec<(String, u64)>, PlaylistError> {
        durations::fill(self, durations).await
    }
}

/// The user's liked-songs version; 0 before their first like.
async fn liked_version(
    tx: &deadpool_postgres::Transaction<'_>,
    user: &str,
) -> Result<u64, PlaylistError> {
    let row = tx
        .query_opt(
            "SELECT version FROM liked_versions WHERE user_id = $1",
            &[&user],
        )
        .await
        .map_err(pg)?;
    Ok(row
        .and_then(|row| row.try_get::<_, i64>(0).ok())
        .map_or(0, to_u64))
}
