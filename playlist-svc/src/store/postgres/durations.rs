//! The duration backfill's statements on PostgreSQL: the tracks of items whose duration is
//! not known yet, and filling them in a bounded number of playlists per transaction.

use super::{PostgresStore, pg, to_u64};
use crate::error::PlaylistError;
use crate::store::BACKFILL_BATCH;
use crate::store::rules::internal;

/// See [`PlaylistStore::unknown_durations`](crate::store::PlaylistStore::unknown_durations).
pub(super) async fn unknown(
    store: &PostgresStore,
    limit: u32,
) -> Result<Vec<String>, PlaylistError> {
    let client = store.client().await?;
    // Through the partial index on the items whose duration is NULL.
    let rows = client
        .query(
            "SELECT DISTINCT track_id FROM playlist_items WHERE duration_ms IS NULL
             ORDER BY track_id LIMIT $1",
            &[&i64::from(limit)],
        )
        .await
        .map_err(pg)?;
    rows.iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()
        .map_err(pg)
}

/// See [`PlaylistStore::fill_durations`](crate::store::PlaylistStore::fill_durations).
pub(super) async fn fill(
    store: &PostgresStore,
    durations: &[(String, u64)],
) -> Result<Vec<(String, u64)>, PlaylistError> {
    let tracks: Vec<&str> = durations.iter().map(|(t, _)| t.as_str()).collect();
    let ms = durations
        .iter()
        .map(|(_, ms)| i64::try_from(*ms).map_err(internal))
        .collect::<Result<Vec<i64>, _>>()?;
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    // Playlist rows first, in id order, as writers lock them: no deadlock with a writer.
    let ids: Vec<String> = tx
        .query(
            "SELECT id FROM playlists WHERE id IN (
                 SELECT DISTINCT playlist_id FROM playlist_items
                 WHERE duration_ms IS NULL AND track_id = ANY($1)
                 ORDER BY playlist_id LIMIT $2)
             ORDER BY id FOR UPDATE",
            &[&tracks, &i64::from(BACKFILL_BATCH)],
        )
        .await
        .map_err(pg)?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()
        .map_err(pg)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    tx.execute(
        "UPDATE playlist_items i SET duration_ms = u.ms
         FROM unnest($1::text[], $2::bigint[]) AS u(track_id, ms)
         WHERE i.playlist_id = ANY($3) AND i.track_id = u.track_id AND i.duration_ms IS NULL",
        &[&tracks, &ms, &ids],
    )
    .await
    .map_err(pg)?;
    let rows = tx
        .query(
            "UPDATE playlists p SET revision = p.revision + 1,
                 duration_ms = (SELECT COALESCE(SUM(i.duration_ms), 0)::bigint
                     FROM playlist_items i WHERE i.playlist_id = p.id)
             WHERE p.id = ANY($1) RETURNING p.id, p.revision",
            &[&ids],
        )
        .await
        .map_err(pg)?;
    tx.commit().await.map_err(pg)?;
    rows.iter()
        .map(|row| Ok((row.try_get(0)?, to_u64(row.try_get(1)?))))
        .collect::<Result<_, tokio_postgres::Error>>()
        .map_err(pg)
}
