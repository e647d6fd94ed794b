//! Liked albums and artists (`liked_items`, one version per user and kind) and play queues
//! (`play_queues`, one row per user), added by migration V5. Each function runs on the
//! connection's thread.

use rusqlite::{Connection, OptionalExtension as _, params};
use tunemesh_runtime::clock::now_ms;

use super::write::{begin, finish};
use super::{sqlite, to_u64};
use crate::error::PlaylistError;
use crate::events::liked_items_changed;
use crate::library::{LikeKind, LikedItem, PlayQueue, QueueSave, check_version};
use crate::store::rules::internal;
use crate::store::{Cursor, LikesChanged};

fn item_version(conn: &Connection, user: &str, kind: LikeKind) -> Result<u64, PlaylistError> {
    let version: Option<i64> = conn
        .query_row(
            "SELECT version FROM liked_item_versions WHERE user_id = ?1 AND kind = ?2",
            params![user, kind.as_str()],
            |r| r.get(0),
        )
        .optional()
        .map_err(sqlite)?;
    Ok(version.map_or(0, to_u64))
}

pub(super) fn like_items(
    conn: &mut Connection,
    user: &str,
    kind: LikeKind,
    ids: &[String],
    liked: bool,
    expected_version: Option<u64>,
) -> Result<LikesChanged, PlaylistError> {
    let tx = begin(conn)?;
    let version = item_version(&tx, user, kind)?;
    check_version(kind.what(), expected_version, version)?;
    let now = now_ms();
    let mut changed = Vec::new();
    for id in ids {
        let n = if liked {
            tx.execute(
                "INSERT OR IGNORE INTO liked_items (user_id, kind, item_id, like_ms)
                 VALUES (?1, ?2, ?3, ?4)",
                params![user, kind.as_str(), id, now],
            )
        } else {
            tx.execute(
                "DELETE FROM liked_items WHERE user_id = ?1 AND kind = ?2 AND item_id = ?3",
                params![user, kind.as_str(), id],
            )
        }
        .map_err(sqlite)?;
        if n > 0 {
            changed.push(id.clone());
        }
    }
    if changed.is_empty() {
        return Ok(LikesChanged { version });
    }
    let version = version + 1;
    tx.execute(
        "INSERT INTO liked_item_versions (user_id, kind, version) VALUES (?1, ?2, ?3)
         ON CONFLICT (user_id, kind) DO UPDATE SET version = excluded.version",
        params![
            user,
            kind.as_str(),
            i64::try_from(version).map_err(internal)?
        ],
    )
    .map_err(sqlite)?;
    let event = liked_items_changed(user, kind, changed, liked, version)?;
    finish(tx, &event)?;
    Ok(LikesChanged { version })
}

pub(super) fn liked_items(
    conn: &mut Connection,
    user: &str,
    kind: LikeKind,
    after: Option<Cursor>,
    limit: u32,
) -> Result<(Vec<LikedItem>, u64, u64), PlaylistError> {
    let tx = conn.transaction().map_err(sqlite)?;
    let (after_ms, after_id) = after.map_or((None, None), |c| (Some(c.ms), Some(c.id)));
    let items = {
        let mut statement = tx
            .prepare_cached(
                "SELECT item_id, like_ms FROM liked_items WHERE user_id = ?1 AND kind = ?2
                   AND (?3 IS NULL OR like_ms < ?3 OR (like_ms = ?3 AND item_id < ?4))
                 ORDER BY like_ms DESC, item_id DESC LIMIT ?5",
            )
            .map_err(sqlite)?;
        statement
            .query_map(
                params![user, kind.as_str(), after_ms, after_id, limit],
                |row| {
                    Ok(LikedItem {
                        id: row.get(0)?,
                        like_ms: row.get(1)?,
                    })
                },
            )
            .map_err(sqlite)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sqlite)?
    };
    let total: i64 = tx
        .query_row(
            "SELECT count(*) FROM liked_items WHERE user_id = ?1 AND kind = ?2",
            params![user, kind.as_str()],
            |r| r.get(0),
        )
        .map_err(sqlite)?;
    let version = item_version(&tx, user, kind)?;
    Ok((items, to_u64(total), version))
}

pub(super) fn check_liked_items(
    conn: &mut Connection,
    user: &str,
    kind: LikeKind,
    ids: &[String],
) -> Result<(Vec<Option<i64>>, u64), PlaylistError> {
    let tx = conn.transaction().map_err(sqlite)?;
    let mut liked = Vec::with_capacity(ids.len());
    for id in ids {
        let found: Option<i64> = tx
            .query_row(
                "SELECT like_ms FROM liked_items
                 WHERE user_id = ?1 AND kind = ?2 AND item_id = ?3",
                params![user, kind.as_str(), id],
                |r| r.get(0),
            )
            .optional()
            .map_err(sqlite)?;
        liked.push(found);
    }
    Ok((liked, item_version(&tx, user, kind)?))
}

pub(super) fn save_queue(
    conn: &mut Connection,
    save: QueueSave,
) -> Result<PlayQueue, PlaylistError> {
    let tx = begin(conn)?;
    let current: Option<i64> = tx
        .query_row(
            "SELECT version FROM play_queues WHERE user_id = ?1",
            [&save.user_id],
            |r| r.get(0),
        )
        .optional()
        .map_err(sqlite)?;
    let current = current.map_or(0, to_u64);
    check_version("play queue", save.expected_version, current)?;
    let queue = PlayQueue {
        track_ids: save.track_ids,
        current_index: save.current_index,
        position_ms: save.position_ms,
        changed_by: save.changed_by,
        changed_ms: now_ms(),
        version: current + 1,
    };
    let track_ids = serde_json::to_string(&queue.track_ids).map_err(internal)?;
    tx.execute(
        "INSERT INTO play_queues (user_id, track_ids, current_index, position_ms, changed_by,
             changed_ms, version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (user_id) DO UPDATE SET track_ids = excluded.track_ids,
             current_index = excluded.current_index, position_ms = excluded.position_ms,
             changed_by = excluded.changed_by, changed_ms = excluded.changed_ms,
             version = excluded.version",
        params![
            save.user_id,
            track_ids,
            queue.current_index,
            queue.position_ms,
            queue.changed_by,
            queue.changed_ms,
            i64::try_from(queue.version).map_err(internal)?,
        ],
    )
    .map_err(sqlite)?;
    tx.commit().map_err(sqlite)?;
    Ok(queue)
}

pub(super) fn queue(conn: &mut Connection, user: &str) -> Result<Option<PlayQueue>, PlaylistError> {
    let row = conn
        .query_row(
            "SELECT track_ids, current_index, position_ms, changed_by, changed_ms, version
             FROM play_queues WHERE user_id = ?1 AND version > 0",
            [user],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<u32>>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            },
        )
        .optional()
        .map_err(sqlite)?;
    let Some((track_ids, current_index, position_ms, changed_by, changed_ms, version)) = row else {
        return Ok(None);
    };
    Ok(Some(PlayQueue {
        track_ids: serde_json::from_str(&track_ids).map_err(internal)?,
        current_index,
        position_ms,
        changed_by,
        changed_ms,
        version: to_u64(version),
    }))
}
