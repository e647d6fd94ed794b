//! The details backfill on PostgreSQL: batches in id order, each a transaction that locks
//! the job's row first, so replicas opening together take turns and each batch is done once.

use tunemesh_events::outbox::postgres::{AppendError, append};
use tunemesh_runtime::clock::now_ms;

use super::{PLAYLIST_COLUMNS, PostgresStore, pg, playlist};
use crate::error::PlaylistError;
use crate::events::playlist_republished;
use crate::store::rules::internal;
use crate::store::{BACKFILL_BATCH, DETAILS_BACKFILL};

/// Runs the details backfill to its end unless it is done already; returns the number of
/// playlists this call republished.
pub(super) async fn details(store: &PostgresStore) -> Result<u64, PlaylistError> {
    let mut republished = 0;
    while let Some(count) = batch(store).await? {
        republished += count;
    }
    Ok(republished)
}

/// One batch; `None` once the job is done (by this call or an earlier one).
async fn batch(store: &PostgresStore) -> Result<Option<u64>, PlaylistError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    let job = tx
        .query_opt(
            "SELECT after_id FROM playlist_backfills
             WHERE name = $1 AND done_ms IS NULL FOR UPDATE",
            &[&DETAILS_BACKFILL],
        )
        .await
        .map_err(pg)?;
    let Some(job) = job else {
        return Ok(None);
    };
    let after: String = job.try_get(0).map_err(pg)?;
    // One statement, one snapshot: each row's details match its revision.
    let sql = format!(
        "SELECT {PLAYLIST_COLUMNS} FROM playlists p WHERE p.public AND p.id > $1
         ORDER BY p.id LIMIT $2"
    );
    let rows = tx
        .query(&sql, &[&after, &i64::from(BACKFILL_BATCH)])
        .await
        .map_err(pg)?;
    let mut last = after;
    for row in &rows {
        let current = playlist(row).map_err(pg)?;
        let event = playlist_republished(&current)?;
        append(&tx, &event).await.map_err(|error| match error {
            AppendError::Database(error) => pg(error),
            other => internal(other),
        })?;
        last = current.id;
    }
    let finished = rows.len() < usize::try_from(BACKFILL_BATCH).map_err(internal)?;
    tx.execute(
        "UPDATE playlist_backfills SET after_id = $2,
             done_ms = CASE WHEN $3 THEN $4::bigint END
         WHERE name = $1",
        &[&DETAILS_BACKFILL, &last, &finished, &now_ms()],
    )
    .await
    .map_err(pg)?;
    tx.commit().await.map_err(pg)?;
    store.waker.wake();
    Ok(Some(u64::try_from(rows.len()).map_err(internal)?))
}
