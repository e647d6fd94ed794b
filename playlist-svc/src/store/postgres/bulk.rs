//! Creation of many playlists at once by `COPY`, for benchmarks that need millions of them
//! (`bench/src/listeners/playlists.rs`); the service never calls it.
//!
//! Each playlist gets the rows `create` gives it: the row at version and revision 1 with its
//! item count and total duration, its items with the ranks and durations `insert_items`
//! computes, and its `CREATED` event in the outbox, built by the same rules and event
//! function. What differs is only how they are written: three `COPY`s in one transaction for
//! the whole batch instead of one transaction of six statements per playlist, so the
//! playlists' rows are written once (`create` inserts then updates them twice, leaving dead
//! row versions for autovacuum) and a repeated `request_id` fails the batch instead of
//! answering with the first playlist.

use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tunemesh_events::outbox::postgres::{AppendError, append_many};
use tunemesh_proto::events::v1::PlaylistChangeKind;
use tunemesh_runtime::clock::now_ms;

use super::{PostgresStore, pg};
use crate::error::PlaylistError;
use crate::events::playlist_changed;
use crate::model::{FIRST_TRACKS, Item, NewPlaylist, Playlist};
use crate::rank::n_between;
use crate::store::rules::{internal, item_durations, new_items};

/// One playlist's rows before they are copied.
struct Rows {
    playlist: Playlist,
    request_id: Option<String>,
    items: Vec<Item>,
    ranks: Vec<String>,
    item_ms: Vec<Option<i64>>,
    /// `item_count` and `duration_ms` in the columns' types.
    count: i32,
    duration: i64,
}

/// A new playlist's rows, as `create` would write them at `now`.
fn rows(new: NewPlaylist, now: i64) -> Result<Rows, PlaylistError> {
    let ranks = n_between(None, None, new.track_ids.len()).map_err(internal)?;
    let items = new_items(&new.track_ids, 0, &new.owner_id, now);
    let item_ms = item_durations(&new.track_ids, &new.durations)?;
    let duration: i64 = item_ms.iter().flatten().sum();
    let playlist = Playlist {
        id: new.id,
        owner_id: new.owner_id,
        name: new.name,
        description: new.description,
        public: new.public,
        collaborative: new.collaborative,
        collaborator_ids: Vec::new(),
        cover_image_id: None,
        item_count: u32::try_from(items.len()).map_err(internal)?,
        follower_count: 0,
        version: 1,
        revision: 1,
        create_ms: now,
        update_ms: now,
        // Ranks ascend with the positions: the first items by rank are the first given.
        first_track_ids: new.track_ids.iter().take(FIRST_TRACKS).cloned().collect(),
        generated: None,
        duration_ms: u64::try_from(duration).map_err(internal)?,
    };
    Ok(Rows {
        count: i32::try_from(items.len()).map_err(internal)?,
        duration,
        playlist,
        request_id: new.request_id,
        items,
        ranks,
        item_ms,
    })
}

impl PostgresStore {
    /// Creates `playlists` in one transaction, writing what [`create`](super::super::PlaylistStore::create)
    /// writes for each (see the module's doc for what differs); returns them as `create`
    /// would.
    pub async fn create_many(
        &self,
        playlists: Vec<NewPlaylist>,
    ) -> Result<Vec<Playlist>, PlaylistError> {
        let now = now_ms();
        let rows = playlists
            .into_iter()
            .map(|new| rows(new, now))
            .collect::<Result<Vec<_>, _>>()?;
        let events = rows
            .iter()
            .map(|r| {
                let tracks = r.items.iter().map(|i| i.track_id.clone()).collect();
                let owner = &r.playlist.owner_id;
                playlist_changed(&r.playlist, owner, PlaylistChangeKind::Created, tracks)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        copy_playlists(&tx, &rows).await.map_err(pg)?;
        copy_items(&tx, &rows).await.map_err(pg)?;
        append_many(&tx, &events)
            .await
            .map_err(|error| match error {
                AppendError::Database(error) => pg(error),
                other => internal(other),
            })?;
        tx.commit().await.map_err(pg)?;
        self.waker.wake();
        Ok(rows.into_iter().map(|r| r.playlist).collect())
    }
}

/// Runs `statement`, a binary `COPY … FROM STDIN`, with `rows` (each value of `types`).
async fn copy_rows<'a>(
    tx: &tokio_postgres::Transaction<'_>,
    statement: &str,
    types: &[Type],
    rows: impl IntoIterator<Item = Vec<&'a (dyn ToSql + Sync)>>,
) -> Result<u64, tokio_postgres::Error> {
    let sink = tx.copy_in(statement).await?;
    let mut writer = std::pin::pin!(BinaryCopyInWriter::new(sink, types));
    for row in rows {
        writer.as_mut().write(&row).await?;
    }
    writer.finish().await
}

async fn copy_playlists(
    tx: &tokio_postgres::Transaction<'_>,
    rows: &[Rows],
) -> Result<u64, tokio_postgres::Error> {
    let mut types = vec![Type::TEXT; 5];
    types.extend([Type::BOOL, Type::BOOL, Type::INT4]);
    types.extend(vec![Type::INT8; 5]);
    // Version and revision: 1, as `create` inserts them.
    let first: &(dyn ToSql + Sync) = &1_i64;
    let values = rows.iter().map(|r| {
        let p = &r.playlist;
        vec![
            &p.id as &(dyn ToSql + Sync),
            &p.owner_id,
            &r.request_id,
            &p.name,
            &p.description,
            &p.public,
            &p.collaborative,
            &r.count,
            first,
            first,
            &p.create_ms,
            &p.update_ms,
            &r.duration,
        ]
    });
    let statement = "COPY playlists (id, owner_id, request_id, name, description, public,
             collaborative, item_count, version, revision, create_ms, update_ms, duration_ms)
         FROM STDIN BINARY";
    copy_rows(tx, statement, &types, values).await
}

async fn copy_items(
    tx: &tokio_postgres::Transaction<'_>,
    rows: &[Rows],
) -> Result<u64, tokio_postgres::Error> {
    let mut types = vec![Type::TEXT; 5];
    types.extend(vec![Type::INT8; 2]);
    let values = rows.iter().flat_map(|r| {
        let items = r.items.iter().zip(&r.ranks).zip(&r.item_ms);
        items.map(move |((item, rank), ms)| {
            vec![
                &r.playlist.id as &(dyn ToSql + Sync),
                &item.item_id,
                rank,
                &item.track_id,
                &item.added_by,
                &item.add_ms,
                ms,
            ]
        })
    });
    let statement = "COPY playlist_items (playlist_id, item_id, rank, track_id, added_by,
             add_ms, duration_ms)
         FROM STDIN BINARY";
    copy_rows(tx, statement, &types, values).await
}
