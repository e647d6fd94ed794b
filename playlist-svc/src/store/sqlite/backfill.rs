//! The details backfill on SQLite: batches in id order, each an `IMMEDIATE` transaction
//! (SQLite's single writer), so a batch and its outbox events commit together.

use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior, params};
use tunemesh_events::outbox::sqlite::append;
use tunemesh_runtime::clock::now_ms;

use super::{PLAYLIST_COLUMNS, playlist, sqlite};
use crate::error::PlaylistError;
use crate::events::playlist_republished;
use crate::store::rules::internal;
use crate::store::{BACKFILL_BATCH, DETAILS_BACKFILL};

/// One batch of the details backfill; `None` once the job is done (by this call or an
/// earlier one), else the number of playlists republished.
pub(super) fn batch(conn: &mut Connection) -> Result<Option<u64>, PlaylistError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sqlite)?;
    let after: Option<String> = tx
        .query_row(
            "SELECT after_id FROM playlist_backfills WHERE name = ?1 AND done_ms IS NULL",
            [DETAILS_BACKFILL],
            |row| row.get(0),
        )
        .optional()
        .map_err(sqlite)?;
    let Some(after) = after else {
        return Ok(None);
    };
    let playlists = {
        let sql = format!(
            "SELECT {PLAYLIST_COLUMNS} FROM playlists p WHERE p.public AND p.id > ?1
             ORDER BY p.id LIMIT ?2"
        );
        let mut statement = tx.prepare(&sql).map_err(sqlite)?;
        statement
            .query_map(params![after, BACKFILL_BATCH], playlist)
            .map_err(sqlite)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sqlite)?
    };
    for current in &playlists {
        append(&tx, &playlist_republished(current)?).map_err(sqlite)?;
    }
    let finished = playlists.len() < usize::try_from(BACKFILL_BATCH).map_err(internal)?;
    let last = playlists.last().map_or(after, |p| p.id.clone());
    tx.execute(
        "UPDATE playlist_backfills SET after_id = ?2,
             done_ms = CASE WHEN ?3 THEN ?4 END
         WHERE name = ?1",
        params![DETAILS_BACKFILL, last, finished, now_ms()],
    )
    .map_err(sqlite)?;
    tx.commit().map_err(sqlite)?;
    Ok(Some(u64::try_from(playlists.len()).map_err(internal)?))
}
