//! Writes on SQLite: each one an `IMMEDIATE` transaction (SQLite's single writer is the row
//! lock), the shared guard, the change, the version bump and the outbox event.

use rusqlite::{Connection, OptionalExtension as _, Transaction, TransactionBehavior, params};
use tunemesh_events::Envelope;
use tunemesh_events::outbox::sqlite::append;
use tunemesh_proto::events::v1::PlaylistChangeKind;
use tunemesh_runtime::clock::now_ms;

use super::{load, requests, sqlite};
use crate::error::PlaylistError;
use crate::events::{kind_of, liked_changed, playlist_changed, playlist_deleted};
use crate::model::{Durations, Edit, EditOp, Edited, Item, NewPlaylist, Playlist};
use crate::rank::n_between;
use crate::store::LikesChanged;
use crate::store::rules::{
    check_follow, check_liked_version, check_unfollow, follow_kind, internal, item_durations,
    item_missing, move_bounds, neighbour_positions, new_items,
};

pub(super) fn begin(conn: &mut Connection) -> Result<Transaction<'_>, PlaylistError> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sqlite)
}

pub(super) fn finish(tx: Transaction<'_>, event: &Envelope) -> Result<(), PlaylistError> {
    append(&tx, event).map_err(sqlite)?;
    tx.commit().map_err(sqlite)
}

fn rank_at(tx: &Transaction<'_>, id: &str, at: u32) -> Result<Option<String>, PlaylistError> {
    tx.query_row(
        "SELECT rank FROM playlist_items WHERE playlist_id = ?1 ORDER BY rank LIMIT 1 OFFSET ?2",
        params![id, at],
        |row| row.get(0),
    )
    .optional()
    .map_err(sqlite)
}

fn neighbours(
    tx: &Transaction<'_>,
    id: &str,
    position: u32,
    count: u32,
) -> Result<(Option<String>, Option<String>), PlaylistError> {
    let (low, high) = neighbour_positions(position, count);
    let low = low.map(|at| rank_at(tx, id, at)).transpose()?.flatten();
    let high = high.map(|at| rank_at(tx, id, at)).transpose()?.flatten();
    Ok((low, high))
}

pub(super) fn insert_items(
    tx: &Transaction<'_>,
    id: &str,
    track_ids: &[String],
    position: u32,
    count: u32,
    added_by: &str,
    durations: &Durations,
) -> Result<Vec<Item>, PlaylistError> {
    let (low, high) = neighbours(tx, id, position, count)?;
    let ranks = n_between(low.as_deref(), high.as_deref(), track_ids.len()).map_err(internal)?;
    let now = now_ms();
    let mut statement = tx
        .prepare_cached(
            "INSERT INTO playlist_items (playlist_id, item_id, rank, track_id, added_by, add_ms,
                 duration_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(sqlite)?;
    let items = new_items(track_ids, position, added_by, now);
    let item_ms = item_durations(track_ids, durations)?;
    for ((item, rank), ms) in items.iter().zip(&ranks).zip(&item_ms) {
        statement
            .execute(params![
                id,
                item.item_id,
                rank,
                item.track_id,
                added_by,
                now,
                ms
            ])
            .map_err(sqlite)?;
    }
    sum_durations(tx, id)?;
    Ok(items)
}

/// Sets the playlist's total duration to the sum of its items' (after they changed).
pub(super) fn sum_durations(tx: &Transaction<'_>, id: &str) -> Result<(), PlaylistError> {
    tx.execute(
        "UPDATE playlists SET duration_ms = (SELECT COALESCE(SUM(i.duration_ms), 0)
             FROM playlist_items i WHERE i.playlist_id = ?1) WHERE id = ?1",
        [id],
    )
    .map_err(sqlite)?;
    Ok(())
}

pub(super) fn reread(tx: &Transaction<'_>, id: &str) -> Result<Playlist, PlaylistError> {
    load(tx, id)?.ok_or_else(|| PlaylistError::PlaylistNotFound(id.to_owned()))
}

pub(super) fn create(conn: &mut Connection, new: &NewPlaylist) -> Result<Playlist, PlaylistError> {
    let tx = begin(conn)?;
    if new.request_id.is_some() {
        let existing: Option<String> = tx
            .query_row(
                "SELECT id FROM playlists WHERE owner_id = ?1 AND request_id = ?2",
                params![new.owner_id, new.request_id],
                |row| row.get(0),
            )
            .optional()
            .map_err(sqlite)?;
        if let Some(existing) = existing {
            return reread(&tx, &existing);
        }
    }
    let now = now_ms();
    tx.execute(
        "INSERT INTO playlists (id, owner_id, request_id, name, description, public,
             collaborative, item_count, version, revision, create_ms, update_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, 1, ?9, ?9)",
        params![
            new.id,
            new.owner_id,
            new.request_id,
            new.name,
            new.description,
            new.public,
            new.collaborative,
            i64::try_from(new.track_ids.len()).map_err(internal)?,
            now
        ],
    )
    .map_err(sqlite)?;
    insert_items(
        &tx,
        &new.id,
        &new.track_ids,
        0,
        0,
        &new.owner_id,
        &new.durations,
    )?;
    let created = reread(&tx, &new.id)?;
    let event = playlist_changed(
        &created,
        &new.owner_id,
        PlaylistChangeKind::Created,
        new.track_ids.clone(),
    )?;
    finish(tx, &event)?;
    Ok(created)
}

pub(super) fn edit(conn: &mut Connection, edit: &Edit) -> Result<Edited, PlaylistError> {
    let tx = begin(conn)?;
    let id = edit.playlist_id.as_str();
    let current = reread(&tx, id)?;
    // Before the guard: the first call moved the version a repeat still expects.
    if let Some(key) = &edit.request_id
        && let Some(first) = requests::find(&tx, &edit.actor, key, &current)?
    {
        return Ok(first);
    }
    edit.guard(&current)?;
    let unchanged = Edited {
        version: current.version,
        items: Vec::new(),
        playlist: Some(current.clone()),
    };
    let mut items = Vec::new();
    let mut track_ids = Vec::new();
    let mut count_delta = 0_i64;
    match &edit.op {
        EditOp::AddItems {
            track_ids: tracks,
            position,
            durations,
        } => {
            let position = position.unwrap_or(current.item_count);
            let count = current.item_count;
            items = insert_items(&tx, id, tracks, position, count, &edit.actor, durations)?;
            count_delta = i64::try_from(tracks.len()).map_err(internal)?;
            track_ids.clone_from(tracks);
        }
        EditOp::RemoveItems { item_ids } => {
            for item_id in item_ids {
                let track: Option<String> = tx
                    .query_row(
                        "DELETE FROM playlist_items WHERE playlist_id = ?1 AND item_id = ?2 RETURNING track_id",
                        params![id, item_id],
                        |row| row.get(0),
                    )
                    .optional()
                    .map_err(sqlite)?;
                match track {
                    Some(track) => track_ids.push(track),
                    // Dropping the transaction rolls the partial delete back.
                    None => return Err(item_missing(id, item_id)),
                }
            }
            sum_durations(&tx, id)?;
            count_delta = -i64::try_from(item_ids.len()).map_err(internal)?;
        }
        EditOp::MoveItems {
            start,
            length,
            before,
        } => {
            let Some((start, length, before)) = move_bounds(*start, *length, *before) else {
                return Ok(unchanged);
            };
            let moved: Vec<String> = {
                let mut statement = tx
                    .prepare_cached("SELECT item_id FROM playlist_items WHERE playlist_id = ?1 ORDER BY rank LIMIT ?2 OFFSET ?3")
                    .map_err(sqlite)?;
                statement
                    .query_map(params![id, length, start], |row| row.get(0))
                    .map_err(sqlite)?
                    .collect::<rusqlite::Result<_>>()
                    .map_err(sqlite)?
            };
            let (low, high) = neighbours(&tx, id, before, current.item_count)?;
            let ranks =
                n_between(low.as_deref(), high.as_deref(), moved.len()).map_err(internal)?;
            for (item_id, rank) in moved.iter().zip(&ranks) {
                tx.execute(
                    "UPDATE playlist_items SET rank = ?3 WHERE playlist_id = ?1 AND item_id = ?2",
                    params![id, item_id, rank],
                )
                .map_err(sqlite)?;
            }
        }
        EditOp::UpdateDetails(change) => {
            let (set_cover, cover) = match &change.cover_image_id {
                Some(cover) => (true, cover.clone()),
                None => (false, None),
            };
            tx.execute(
                "UPDATE playlists SET name = COALESCE(?2, name), description = COALESCE(?3, description),
                     public = COALESCE(?4, public), collaborative = COALESCE(?5, collaborative),
                     cover_image_id = CASE WHEN ?6 THEN ?7 ELSE cover_image_id END
                 WHERE id = ?1",
                params![id, change.name, change.description, change.public, change.collaborative, set_cover, cover],
            )
            .map_err(sqlite)?;
        }
        EditOp::AddCollaborator(user) => {
            let added = tx
                .execute(
                    "INSERT OR IGNORE INTO playlist_collaborators (playlist_id, user_id, seq)
                     VALUES (?1, ?2, (SELECT COALESCE(MAX(seq), 0) + 1 FROM playlist_collaborators WHERE playlist_id = ?1))",
                    params![id, user],
                )
                .map_err(sqlite)?;
            if added == 0 {
                return Ok(unchanged);
            }
        }
        EditOp::RemoveCollaborator(user) => {
            let removed = tx
                .execute(
                    "DELETE FROM playlist_collaborators WHERE playlist_id = ?1 AND user_id = ?2",
                    params![id, user],
                )
                .map_err(sqlite)?;
            if removed == 0 {
                return Ok(unchanged);
            }
        }
        EditOp::Delete => {
            tx.execute("DELETE FROM playlists WHERE id = ?1", [id])
                .map_err(sqlite)?;
            let version = current.version + 1;
            let event = playlist_deleted(&current, &edit.actor)?;
            finish(tx, &event)?;
            return Ok(Edited {
                version,
                items,
                playlist: None,
            });
        }
    }
    tx.execute(
        "UPDATE playlists SET version = version + 1, revision = revision + 1,
             item_count = item_count + ?2, update_ms = ?3 WHERE id = ?1",
        params![id, count_delta, now_ms()],
    )
    .map_err(sqlite)?;
    let after = reread(&tx, id)?;
    if let Some(key) = &edit.request_id {
        requests::record(&tx, &edit.actor, key, id, after.version, &items)?;
    }
    let event = playlist_changed(&after, &edit.actor, kind_of(&edit.op), track_ids)?;
    finish(tx, &event)?;
    Ok(Edited {
        version: after.version,
        items,
        playlist: Some(after),
    })
}

pub(super) fn follow(
    conn: &mut Connection,
    id: &str,
    user: &str,
    follow: bool,
) -> Result<Playlist, PlaylistError> {
    let tx = begin(conn)?;
    let current = reread(&tx, id)?;
    let changed = if follow {
        check_follow(&current, user)?;
        tx.execute(
            "INSERT OR IGNORE INTO playlist_followers (playlist_id, user_id, follow_ms) VALUES (?1, ?2, ?3)",
            params![id, user, now_ms()],
        )
        .map_err(sqlite)?
    } else {
        let removed = tx
            .execute(
                "DELETE FROM playlist_followers WHERE playlist_id = ?1 AND user_id = ?2",
                params![id, user],
            )
            .map_err(sqlite)?;
        check_unfollow(&current, user, removed)?;
        removed
    };
    if changed == 0 {
        return Ok(current);
    }
    let delta: i64 = if follow { 1 } else { -1 };
    tx.execute(
        "UPDATE playlists SET follower_count = MAX(follower_count + ?2, 0), revision = revision + 1 WHERE id = ?1",
        params![id, delta],
    )
    .map_err(sqlite)?;
    let after = reread(&tx, id)?;
    let kind = follow_kind(follow);
    let event = playlist_changed(&after, user, kind, Vec::new())?;
    finish(tx, &event)?;
    Ok(after)
}

pub(super) fn like(
    conn: &mut Connection,
    user: &str,
    track_ids: &[String],
    liked: bool,
    expected_version: Option<u64>,
) -> Result<LikesChanged, PlaylistError> {
    let tx = begin(conn)?;
    let version = super::liked_version(&tx, user)?;
    check_liked_version(expected_version, version)?;
    let now = now_ms();
    let mut changed = Vec::new();
    for track in track_ids {
        let n = if liked {
            tx.execute("INSERT OR IGNORE INTO liked_tracks (user_id, track_id, like_ms) VALUES (?1, ?2, ?3)", params![user, track, now])
        } else {
            tx.execute("DELETE FROM liked_tracks WHERE user_id = ?1 AND track_id = ?2", params![user, track])
        }
        .map_err(sqlite)?;
        if n > 0 {
            changed.push(track.clone());
        }
    }
    if changed.is_empty() {
        return Ok(LikesChanged { version });
    }
    let version = version + 1;
    let stored = i64::try_from(version).map_err(internal)?;
    tx.execute(
        "INSERT INTO liked_versions (user_id, version) VALUES (?1, ?2)
         ON CONFLICT (user_id) DO UPDATE SET version = excluded.version",
        params![user, stored],
    )
    .map_err(sqlite)?;
    let event = liked_changed(user, changed, liked, version)?;
    finish(tx, &event)?;
    Ok(LikesChanged { version })
}
