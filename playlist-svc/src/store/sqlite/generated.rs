//! Generated playlists on SQLite: created on first put, replaced whole afterwards, in one
//! `IMMEDIATE` transaction with the events every other write appends.

use rusqlite::{Connection, OptionalExtension as _, params};
use tunemesh_events::outbox::sqlite::append;
use tunemesh_runtime::clock::now_ms;
use tunemesh_runtime::identity::SYSTEM_ACCOUNT;

use super::sqlite;
use super::write::{begin, finish, insert_items, reread};
use crate::error::PlaylistError;
use crate::events::{generated_created, generated_emptied, generated_filled};
use crate::model::{GeneratedPut, Playlist};
use crate::store::rules::{internal, same_content};

/// Creates or replaces the generated playlist `put` names (see
/// [`PlaylistStore::put_generated`](crate::store::PlaylistStore::put_generated)).
pub(super) fn put_generated(
    conn: &mut Connection,
    put: &GeneratedPut,
) -> Result<(Playlist, bool), PlaylistError> {
    let tx = begin(conn)?;
    let now = now_ms();
    let count = i64::try_from(put.track_ids.len()).map_err(internal)?;
    let existing: Option<String> = tx
        .query_row(
            "SELECT id FROM playlists WHERE generated_for = ?1 AND generated_kind = ?2",
            params![put.generated.for_user, put.generated.kind],
            |row| row.get(0),
        )
        .optional()
        .map_err(sqlite)?;
    let Some(id) = existing else {
        tx.execute(
            "INSERT INTO playlists (id, owner_id, name, description, public, collaborative,
                 item_count, version, revision, create_ms, update_ms, generated_for,
                 generated_kind)
             VALUES (?1, ?2, ?3, ?4, 0, 0, ?5, 1, 1, ?6, ?6, ?7, ?8)",
            params![
                put.id,
                SYSTEM_ACCOUNT,
                put.name,
                put.description,
                count,
                now,
                put.generated.for_user,
                put.generated.kind
            ],
        )
        .map_err(sqlite)?;
        insert_items(
            &tx,
            &put.id,
            &put.track_ids,
            0,
            0,
            SYSTEM_ACCOUNT,
            &put.durations,
        )?;
        let created = reread(&tx, &put.id)?;
        let event = generated_created(&created, put.track_ids.clone())?;
        finish(tx, &event)?;
        return Ok((created, true));
    };
    let current = reread(&tx, &id)?;
    let old: Vec<String> = {
        let mut statement = tx
            .prepare_cached(
                "SELECT track_id FROM playlist_items WHERE playlist_id = ?1 ORDER BY rank",
            )
            .map_err(sqlite)?;
        statement
            .query_map([&id], |row| row.get(0))
            .map_err(sqlite)?
            .collect::<rusqlite::Result<_>>()
            .map_err(sqlite)?
    };
    if same_content(&current, &old, put) {
        return Ok((current, false));
    }
    let mut bump = 1_i64;
    if !old.is_empty() {
        tx.execute("DELETE FROM playlist_items WHERE playlist_id = ?1", [&id])
            .map_err(sqlite)?;
        let removal = generated_emptied(&current, old, now)?;
        append(&tx, &removal).map_err(sqlite)?;
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
    )?;
    tx.execute(
        "UPDATE playlists SET name = ?2, description = ?3, item_count = ?4,
             version = version + ?5, revision = revision + ?5, update_ms = ?6 WHERE id = ?1",
        params![id, put.name, put.description, count, bump, now],
    )
    .map_err(sqlite)?;
    let after = reread(&tx, &id)?;
    let addition = generated_filled(&after, put.track_ids.clone())?;
    finish(tx, &addition)?;
    Ok((after, true))
}
