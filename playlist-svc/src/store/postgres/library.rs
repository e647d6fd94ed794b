//! Liked albums and artists (`liked_items`, one version per user and kind) and play queues
//! (`play_queues`, one row per user), added by migration V5.

use tunemesh_runtime::clock::now_ms;

use super::write::commit;
use super::{PostgresStore, pg, to_u64};
use crate::error::PlaylistError;
use crate::events::liked_items_changed;
use crate::library::{LikeKind, LikedItem, PlayQueue, QueueSave, check_version};
use crate::store::rules::internal;
use crate::store::{Cursor, LikesChanged};

pub(super) async fn like_items(
    store: &PostgresStore,
    user: &str,
    kind: LikeKind,
    ids: &[String],
    liked: bool,
    expected_version: Option<u64>,
) -> Result<LikesChanged, PlaylistError> {
    let kind_name = kind.as_str();
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    tx.execute(
        "INSERT INTO liked_item_versions (user_id, kind, version) VALUES ($1, $2, 0)
         ON CONFLICT DO NOTHING",
        &[&user, &kind_name],
    )
    .await
    .map_err(pg)?;
    // The version row is the per-user, per-kind lock: concurrent likes queue on it.
    let version: i64 = tx
        .query_one(
            "SELECT version FROM liked_item_versions WHERE user_id = $1 AND kind = $2 FOR UPDATE",
            &[&user, &kind_name],
        )
        .await
        .and_then(|row| row.try_get(0))
        .map_err(pg)?;
    let version = to_u64(version);
    check_version(kind.what(), expected_version, version)?;
    let sql = if liked {
        "INSERT INTO liked_items (user_id, kind, item_id, like_ms)
         SELECT $1, $2, i, $4 FROM unnest($3::text[]) AS i
         ON CONFLICT DO NOTHING RETURNING item_id"
    } else {
        "DELETE FROM liked_items
         WHERE user_id = $1 AND kind = $2 AND item_id = ANY($3) AND $4::bigint IS NOT NULL
         RETURNING item_id"
    };
    let changed: Vec<String> = tx
        .query(sql, &[&user, &kind_name, &ids, &now_ms()])
        .await
        .map_err(pg)?
        .iter()
        .filter_map(|row| row.try_get(0).ok())
        .collect();
    if changed.is_empty() {
        return Ok(LikesChanged { version });
    }
    let version = version + 1;
    tx.execute(
        "UPDATE liked_item_versions SET version = $3 WHERE user_id = $1 AND kind = $2",
        &[
            &user,
            &kind_name,
            &i64::try_from(version).map_err(internal)?,
        ],
    )
    .await
    .map_err(pg)?;
    let event = liked_items_changed(user, kind, changed, liked, version)?;
    commit(store, tx, &event).await?;
    Ok(LikesChanged { version })
}

pub(super) async fn liked_items(
    store: &PostgresStore,
    user: &str,
    kind: LikeKind,
    after: Option<Cursor>,
    limit: u32,
) -> Result<(Vec<LikedItem>, u64, u64), PlaylistError> {
    let kind_name = kind.as_str();
    let mut client = store.client().await?;
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(pg)?;
    let (after_ms, after_id) = after.map_or((None, None), |c| (Some(c.ms), Some(c.id)));
    let rows = tx
        .query(
            "SELECT item_id, like_ms FROM liked_items
             WHERE user_id = $1 AND kind = $2
               AND ($3::bigint IS NULL OR (like_ms, item_id) < ($3, $4::text))
             ORDER BY like_ms DESC, item_id DESC LIMIT $5",
            &[&user, &kind_name, &after_ms, &after_id, &i64::from(limit)],
        )
        .await
        .map_err(pg)?;
    let total: i64 = tx
        .query_one(
            "SELECT count(*) FROM liked_items WHERE user_id = $1 AND kind = $2",
            &[&user, &kind_name],
        )
        .await
        .and_then(|row| row.try_get(0))
        .map_err(pg)?;
    let version = item_version(&tx, user, kind).await?;
    tx.commit().await.map_err(pg)?;
    let items = rows
        .iter()
        .map(|row| {
            Ok(LikedItem {
                id: row.try_get(0)?,
                like_ms: row.try_get(1)?,
            })
        })
        .collect::<Result<_, tokio_postgres::Error>>()
        .map_err(pg)?;
    Ok((items, to_u64(total), version))
}

pub(super) async fn check_liked_items(
    store: &PostgresStore,
    user: &str,
    kind: LikeKind,
    ids: &[String],
) -> Result<(Vec<Option<i64>>, u64), PlaylistError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    let rows = tx
        .query(
            "SELECT item_id, like_ms FROM liked_items
             WHERE user_id = $1 AND kind = $2 AND item_id = ANY($3)",
            &[&user, &kind.as_str(), &ids],
        )
        .await
        .map_err(pg)?;
    let version = item_version(&tx, user, kind).await?;
    tx.commit().await.map_err(pg)?;
    let liked: std::collections::HashMap<String, i64> = rows
        .iter()
        .filter_map(|row| Some((row.try_get(0).ok()?, row.try_get(1).ok()?)))
        .collect();
    Ok((
        ids.iter().map(|id| liked.get(id).copied()).collect(),
        version,
    ))
}

async fn item_version(
    tx: &deadpool_postgres::Transaction<'_>,
    user: &str,
    kind: LikeKind,
) -> Result<u64, PlaylistError> {
    let row = tx
        .query_opt(
            "SELECT version FROM liked_item_versions WHERE user_id = $1 AND kind = $2",
            &[&user, &kind.as_str()],
        )
        .await
        .map_err(pg)?;
    Ok(row
        .and_then(|row| row.try_get::<_, i64>(0).ok())
        .map_or(0, to_u64))
}

pub(super) async fn save_queue(
    store: &PostgresStore,
    save: QueueSave,
) -> Result<PlayQueue, PlaylistError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    // A version-0 row (never saved, read as no queue) to lock, so two first saves queue too.
    tx.execute(
        "INSERT INTO play_queues (user_id, track_ids, position_ms, changed_by, changed_ms,
             version)
         VALUES ($1, '[]', 0, '', 0, 0) ON CONFLICT DO NOTHING",
        &[&save.user_id],
    )
    .await
    .map_err(pg)?;
    let current: i64 = tx
        .query_one(
            "SELECT version FROM play_queues WHERE user_id = $1 FOR UPDATE",
            &[&save.user_id],
        )
        .await
        .and_then(|row| row.try_get(0))
        .map_err(pg)?;
    let current = to_u64(current);
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
    let index = queue
        .current_index
        .map(i32::try_from)
        .transpose()
        .map_err(internal)?;
    tx.execute(
        "UPDATE play_queues SET track_ids = $2, current_index = $3, position_ms = $4,
             changed_by = $5, changed_ms = $6, version = $7
         WHERE user_id = $1",
        &[
            &save.user_id,
            &track_ids,
            &index,
            &queue.position_ms,
            &queue.changed_by,
            &queue.changed_ms,
            &i64::try_from(queue.version).map_err(internal)?,
        ],
    )
    .await
    .map_err(pg)?;
    tx.commit().await.map_err(pg)?;
    Ok(queue)
}

pub(super) async fn queue(
    store: &PostgresStore,
    user: &str,
) -> Result<Option<PlayQueue>, PlaylistError> {
    let client = store.client().await?;
    let row = client
        .query_opt(
            "SELECT track_ids, current_index, position_ms, changed_by, changed_ms, version
             FROM play_queues WHERE user_id = $1 AND version > 0",
            &[&user],
        )
        .await
        .map_err(pg)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let track_ids: String = row.try_get(0).map_err(pg)?;
    let index: Option<i32> = row.try_get(1).map_err(pg)?;
    let version: i64 = row.try_get(5).map_err(pg)?;
    Ok(Some(PlayQueue {
        track_ids: serde_json::from_str(&track_ids).map_err(internal)?,
        current_index: index.and_then(|i| u32::try_from(i).ok()),
        position_ms: row.try_get(2).map_err(pg)?,
        changed_by: row.try_get(3).map_err(pg)?,
        changed_ms: row.try_get(4).map_err(pg)?,
        version: to_u64(version),
    }))
}
