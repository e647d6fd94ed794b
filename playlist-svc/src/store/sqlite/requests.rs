//! Idempotency keys of additions on SQLite (`store::requests`), read and written inside the
//! addition's `IMMEDIATE` transaction (SQLite's single writer orders a repeat after its first
//! call).

use rusqlite::{OptionalExtension as _, Transaction, params};
use tunemesh_runtime::clock::now_ms;

use super::sqlite;
use crate::error::PlaylistError;
use crate::model::{Edited, Item, Playlist};
use crate::store::requests::{RETENTION_MS, Stored, items_json};

/// The first answer to `user`'s addition `request_id`, if it is still kept.
pub(super) fn find(
    tx: &Transaction<'_>,
    user: &str,
    request_id: &str,
    playlist: &Playlist,
) -> Result<Option<Edited>, PlaylistError> {
    let stored = tx
        .query_row(
            "SELECT playlist_id, version, items FROM playlist_add_requests
             WHERE user_id = ?1 AND request_id = ?2 AND create_ms >= ?3",
            params![user, request_id, now_ms() - RETENTION_MS],
            |row| {
                Ok(Stored {
                    playlist_id: row.get(0)?,
                    version: row.get(1)?,
                    items: row.get(2)?,
                })
            },
        )
        .optional()
        .map_err(sqlite)?;
    stored.map(|s| s.replay(playlist)).transpose()
}

/// Keeps the answer to `user`'s addition `request_id`, and forgets that user's expired keys.
pub(super) fn record(
    tx: &Transaction<'_>,
    user: &str,
    request_id: &str,
    playlist_id: &str,
    version: u64,
    items: &[Item],
) -> Result<(), PlaylistError> {
    let now = now_ms();
    tx.execute(
        "DELETE FROM playlist_add_requests WHERE user_id = ?1 AND create_ms < ?2",
        params![user, now - RETENTION_MS],
    )
    .map_err(sqlite)?;
    let version = i64::try_from(version).unwrap_or(i64::MAX);
    tx.execute(
        "INSERT INTO playlist_add_requests
             (user_id, request_id, playlist_id, version, items, create_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            user,
            request_id,
            playlist_id,
            version,
            items_json(items)?,
            now
        ],
    )
    .map_err(sqlite)?;
    Ok(())
}
