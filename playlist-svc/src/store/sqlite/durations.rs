//! The duration backfill's statements on SQLite: the tracks of items whose duration is not
//! known yet, and filling them in a bounded number of playlists per `IMMEDIATE` transaction.

use rusqlite::{Connection, params};

use super::sqlite;
use super::write::begin;
use crate::error::PlaylistError;
use crate::store::BACKFILL_BATCH;
use crate::store::rules::internal;

/// See [`PlaylistStore::unknown_durations`](crate::store::PlaylistStore::unknown_durations).
pub(super) fn unknown(conn: &mut Connection, limit: u32) -> Result<Vec<String>, PlaylistError> {
    let mut statement = conn
        .prepare_cached(
            "SELECT DISTINCT track_id FROM playlist_items WHERE duration_ms IS NULL
             ORDER BY track_id LIMIT ?1",
        )
        .map_err(sqlite)?;
    statement
        .query_map([limit], |row| row.get(0))
        .map_err(sqlite)?
        .collect::<rusqlite::Result<_>>()
        .map_err(sqlite)
}

/// See [`PlaylistStore::fill_durations`](crate::store::PlaylistStore::fill_durations).
pub(super) fn fill(
    conn: &mut Connection,
    durations: &[(String, u64)],
) -> Result<Vec<(String, u64)>, PlaylistError> {
    let tx = begin(conn)?;
    // The durations as one JSON object parameter, track id to ms.
    let by_track = durations
        .iter()
        .map(|(track, ms)| Ok((track.as_str(), i64::try_from(*ms).map_err(internal)?)))
        .collect::<Result<std::collections::BTreeMap<&str, i64>, PlaylistError>>()?;
    let tracks = serde_json::to_string(&by_track).map_err(internal)?;
    let ids: Vec<String> = {
        let mut statement = tx
            .prepare_cached(
                "SELECT DISTINCT playlist_id FROM playlist_items
                 WHERE duration_ms IS NULL AND track_id IN (SELECT key FROM json_each(?1))
                 ORDER BY playlist_id LIMIT ?2",
            )
            .map_err(sqlite)?;
        statement
            .query_map(params![tracks, BACKFILL_BATCH], |row| row.get(0))
            .map_err(sqlite)?
            .collect::<rusqlite::Result<_>>()
            .map_err(sqlite)?
    };
    let mut filled = Vec::with_capacity(ids.len());
    for id in &ids {
        tx.execute(
            "UPDATE playlist_items SET duration_ms =
                 (SELECT d.value FROM json_each(?2) d WHERE d.key = playlist_items.track_id)
             WHERE playlist_id = ?1 AND duration_ms IS NULL
               AND track_id IN (SELECT key FROM json_each(?2))",
            params![id, tracks],
        )
        .map_err(sqlite)?;
        let revision: i64 = tx
            .query_row(
                "UPDATE playlists SET revision = revision + 1,
                     duration_ms = (SELECT COALESCE(SUM(i.duration_ms), 0)
                         FROM playlist_items i WHERE i.playlist_id = ?1)
                 WHERE id = ?1 RETURNING revision",
                [id],
                |row| row.get(0),
            )
            .map_err(sqlite)?;
        filled.push((id.clone(), u64::try_from(revision).unwrap_or(0)));
    }
    tx.commit().map_err(sqlite)?;
    Ok(filled)
}
