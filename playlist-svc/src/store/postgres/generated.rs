//! Generated playlists on PostgreSQL: created on first put, replaced whole afterwards, in one
//! transaction holding the playlist row's lock, with the events every other write appends.

use tunemesh_events::outbox::postgres::{AppendError, append};
use tunemesh_runtime::clock::now_ms;
use tunemesh_runtime::identity::SYSTEM_ACCOUNT;

use super::write::{commit, insert_items, lock, reread, sum_durations};
use super::{PostgresStore, pg};
use crate::error::PlaylistError;
use crate::events::{generated_created, generated_emptied, generated_filled};
use crate::model::{GeneratedPut, Playlist};
use crate::store::rules::{internal, same_content};

/// Creates or replaces the generated playlist `put` names (see
/// [`PlaylistStore::put_generated`](crate::store::PlaylistStore::put_generated)).
pub(super) async fn put_generated(
    store: &PostgresStore,
    put: GeneratedPut,
) -> Result<(Playlist, bool), PlaylistError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    let now = now_ms();
    let count = i32::try_from(put.track_ids.len()).map_err(internal)?;
    // Concurrent first puts for one listener and kind: one inserts, the others replace.
    let inserted = tx
        .execute(
            "INSERT INTO playlists (id, owner_id, name, description, public, collaborative,
                 item_count, version, revision, create_ms, update_ms, generated_for,
                 generated_kind)
             VALUES ($1, $2, $3, $4, FALSE, FALSE, $5, 1, 1, $6, $6, $7, $8)
             ON CONFLICT (generated_for, generated_kind) WHERE generated_for IS NOT NULL
             DO NOTHING",
            &[
                &put.id,
                &SYSTEM_ACCOUNT,
                &put.name,
                &put.description,
                &count,
                &now,
                &put.generated.for_user,
                &put.generated.kind,
            ],
        )
        .await
        .map_err(pg)?;
    if inserted == 1 {
        insert_items(
            &tx,
            &put.id,
            &put.track_ids,
            0,
            0,
            SYSTEM_ACCOUNT,
            &put.durations,
        )
        .await?;
        sum_durations(&tx, &put.id).await?;
        let created = reread(&tx, &put.id).await?;
        let event = generated_created(&created, put.track_ids.clone())?;
        commit(store, tx, &event).await?;
        return Ok((created, true));
    }
    let id: String = tx
        .query_one(
            "SELECT id FROM playlists WHERE generated_for = $1 AND generated_kind = $2",
            &[&put.generated.for_user, &put.generated.kind],
        )
        .await
        .and_then(|row| row.try_get(0))
        .map_err(pg)?;
    let current = lock(&tx, &id)
        .await?
        .ok_or_else(|| PlaylistError::PlaylistNotFound(id.clone()))?;
    let old: Vec<String> = tx
        .query(
            "SELECT track_id FROM playlist_items WHERE playlist_id = $1 ORDER BY rank",
            &[&id],
        )
        .await
        .map_err(pg)?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()
        .map_err(pg)?;
    if same_content(&current, &old, &put) {
        return Ok((current, false));
    }
    let mut bump = 1_i64;
    if !old.is_empty() {
        tx.execute("DELETE FROM playlist_items WHERE playlist_id = $1", &[&id])
            .await
            .map_err(pg)?;
        let removal = generated_emptied(&current, old, now)?;
        append(&tx, &removal).await.map_err(|error| match error {
            AppendError::Database(error) => pg(error),
            other => internal(other),
        })?;
        bump = 2;
    }
    insert_items(
        &tx,
        &id,
        &put.track_ids,
        0,
        0,
        SYSTEM_ACCOUNT,
        &put.durations,
    )
    .await?;
    sum_durations(&tx, &id).await?;
    tx.execute(
        "UPDATE playlists SET name = $2, description = $3, item_count = $4,
             version = version + $5, revision = revision + $5, update_ms = $6 WHERE id = $1",
        &[&id, &put.name, &put.description, &count, &bump, &now],
    )
    .await
    .map_err(pg)?;
    let after = reread(&tx, &id).await?;
    let addition = generated_filled(&after, put.track_ids)?;
    commit(store, tx, &addition).await?;
    Ok((after, true))
}
