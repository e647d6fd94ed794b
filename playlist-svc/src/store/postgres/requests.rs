//! Idempotency keys of additions on PostgreSQL (`store::requests`), read and written inside
//! the addition's transaction, after the playlist row is locked: a repeat racing its first
//! call waits on the lock and then finds the key.

use deadpool_postgres::Transaction;
use tunemesh_runtime::clock::now_ms;

use super::pg;
use crate::error::PlaylistError;
use crate::model::{Edited, Item, Playlist};
use crate::store::requests::{RETENTION_MS, Stored, items_json};

/// The first answer to `user`'s addition `request_id`, if it is still kept.
pub(super) async fn find(
    tx: &Transaction<'_>,
    user: &str,
    request_id: &str,
    playlist: &Playlist,
) -> Result<Option<Edited>, PlaylistError> {
    let row = tx
        .query_opt(
            "SELECT playlist_id, version, items FROM playlist_add_requests
             WHERE user_id = $1 AND request_id = $2 AND create_ms >= $3",
            &[&user, &request_id, &(now_ms() - RETENTION_MS)],
        )
        .await
        .map_err(pg)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let stored = Stored {
        playlist_id: row.try_get(0).map_err(pg)?,
        version: row.try_get(1).map_err(pg)?,
        items: row.try_get(2).map_err(pg)?,
    };
    stored.replay(playlist).map(Some)
}

/// Keeps the answer to `user`'s addition `request_id`, and forgets that user's expired keys.
pub(super) async fn record(
    tx: &Transaction<'_>,
    user: &str,
    request_id: &str,
    playlist_id: &str,
    version: u64,
    items: &[Item],
) -> Result<(), PlaylistError> {
    let now = now_ms();
    tx.execute(
        "DELETE FROM playlist_add_requests WHERE user_id = $1 AND create_ms < $2",
        &[&user, &(now - RETENTION_MS)],
    )
    .await
    .map_err(pg)?;
    let version = i64::try_from(version).unwrap_or(i64::MAX);
    tx.execute(
        "INSERT INTO playlist_add_requests
             (user_id, request_id, playlist_id, version, items, create_ms)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &user,
            &request_id,
            &playlist_id,
            &version,
            &items_json(items)?,
            &now,
        ],
    )
    .await
    .map_err(pg)?;
    Ok(())
}
