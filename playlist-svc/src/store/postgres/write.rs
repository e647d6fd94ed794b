//! Writes on PostgreSQL: each one a transaction that locks the playlist row (so writers of
//! one playlist queue instead of losing each other's changes), checks the shared guard,
//! applies the change, bumps the version and appends its event to the outbox.

use deadpool_postgres::Transaction;
use tunemesh_events::Envelope;
use tunemesh_events::outbox::postgres::{AppendError, append};
use tunemesh_proto::events::v1::PlaylistChangeKind;
use tunemesh_runtime::clock::now_ms;

use super::{PLAYLIST_COLUMNS, PostgresStore, pg, playlist, requests, to_u64};
use crate::error::PlaylistError;
use crate::events::{kind_of, liked_changed, playlist_changed, playlist_deleted};
use crate::model::{DetailsChange, Durations, Edit, EditOp, Edited, Item, NewPlaylist, Playlist};
use crate::rank::n_between;
use crate::store::LikesChanged;
use crate::store::rules::{
    check_follow, check_liked_version, check_unfollow, follow_kind, internal, item_durations,
    item_missing, move_bounds, neighbour_positions, new_items,
};

/// The playlist row, locked until the transaction ends.
pub(super) async fn lock(
    tx: &Transaction<'_>,
    id: &str,
) -> Result<Option<Playlist>, PlaylistError> {
    let sql = format!("SELECT {PLAYLIST_COLUMNS} FROM playlists p WHERE p.id = $1 FOR UPDATE");
    let row = tx.query_opt(&sql, &[&id]).await.map_err(pg)?;
    row.map(|row| playlist(&row).map_err(pg)).transpose()
}

pub(super) async fn reread(tx: &Transaction<'_>, id: &str) -> Result<Playlist, PlaylistError> {
    lock(tx, id)
        .await?
        .ok_or_else(|| PlaylistError::PlaylistNotFound(id.to_owned()))
}

/// Ranks of the items at positions `position - 1` and `position`, the new items' neighbours.
async fn neighbours(
    tx: &Transaction<'_>,
    id: &str,
    position: u32,
    count: u32,
) -> Result<(Option<String>, Option<String>), PlaylistError> {
    let rank_at = |at: u32| async move {
        let row = tx
            .query_opt(
                "SELECT rank FROM playlist_items WHERE playlist_id = $1
                 ORDER BY rank OFFSET $2 LIMIT 1",
                &[&id, &i64::from(at)],
            )
            .await
            .map_err(pg)?;
        row.map(|row| row.try_get::<_, String>(0).map_err(pg))
            .transpose()
    };
    let (low, high) = neighbour_positions(position, count);
    let low = match low {
        Some(at) => rank_at(at).await?,
        None => None,
    };
    let high = match high {
        Some(at) => rank_at(at).await?,
        None => None,
    };
    Ok((low, high))
}

pub(super) async fn insert_items(
    tx: &Transaction<'_>,
    id: &str,
    track_ids: &[String],
    position: u32,
    count: u32,
    added_by: &str,
    durations: &Durations,
) -> Result<Vec<Item>, PlaylistError> {
    let (low, high) = neighbours(tx, id, position, count).await?;
    let ranks = n_between(low.as_deref(), high.as_deref(), track_ids.len()).map_err(internal)?;
    let now = now_ms();
    let items = new_items(track_ids, position, added_by, now);
    let item_ids: Vec<&str> = items.iter().map(|i| i.item_id.as_str()).collect();
    let item_ms = item_durations(track_ids, durations)?;
    tx.execute(
        "INSERT INTO playlist_items (playlist_id, item_id, rank, track_id, added_by, add_ms,
             duration_ms)
         SELECT $1, u.item_id, u.rank, u.track_id, $5, $6, u.duration_ms
         FROM unnest($2::text[], $3::text[], $4::text[], $7::bigint[])
             AS u(item_id, rank, track_id, duration_ms)",
        &[
            &id, &item_ids, &ranks, &track_ids, &added_by, &now, &item_ms,
        ],
    )
    .await
    .map_err(pg)?;
    Ok(items)
}

/// Sets the playlist's total duration to the sum of its items' (after they changed).
pub(super) async fn sum_durations(tx: &Transaction<'_>, id: &str) -> Result<(), PlaylistError> {
    tx.execute(
        "UPDATE playlists SET duration_ms = (SELECT COALESCE(SUM(i.duration_ms), 0)::bigint
             FROM playlist_items i WHERE i.playlist_id = $1) WHERE id = $1",
        &[&id],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

/// Appends the event, commits and pokes the relay.
pub(super) async fn commit(
    store: &PostgresStore,
    tx: Transaction<'_>,
    event: &Envelope,
) -> Result<(), PlaylistError> {
    append(&tx, event).await.map_err(|error| match error {
        AppendError::Database(error) => pg(error),
        other => internal(other),
    })?;
    tx.commit().await.map_err(pg)?;
    store.waker.wake();
    Ok(())
}

pub(super) async fn create(
    store: &PostgresStore,
    new: NewPlaylist,
) -> Result<Playlist, PlaylistError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    let now = now_ms();
    let inserted = tx
        .execute(
            "INSERT INTO playlists (id, owner_id, request_id, name, description, public,
                 collaborative, item_count, version, revision, create_ms, update_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 1, 1, $8, $8)
             ON CONFLICT (owner_id, request_id) WHERE request_id IS NOT NULL DO NOTHING",
            &[
                &new.id,
                &new.owner_id,
                &new.request_id,
                &new.name,
                &new.description,
                &new.public,
                &new.collaborative,
                &now,
            ],
        )
        .await
        .map_err(pg)?;
    if inserted == 0 {
        // A retry of a creation that already happened: answer with its playlist.
        let sql = format!(
            "SELECT {PLAYLIST_COLUMNS} FROM playlists p WHERE p.owner_id = $1 AND p.request_id = $2"
        );
        let row = tx
            .query_one(&sql, &[&new.owner_id, &new.request_id])
            .await
            .map_err(pg)?;
        return playlist(&row).map_err(pg);
    }
    let count = u32::try_from(new.track_ids.len()).map_err(internal)?;
    insert_items(
        &tx,
        &new.id,
        &new.track_ids,
        0,
        0,
        &new.owner_id,
        &new.durations,
    )
    .await?;
    sum_durations(&tx, &new.id).await?;
    tx.execute(
        "UPDATE playlists SET item_count = $2 WHERE id = $1",
        &[&new.id, &i32::try_from(count).map_err(internal)?],
    )
    .await
    .map_err(pg)?;
    let created = reread(&tx, &new.id).await?;
    let event = playlist_changed(
        &created,
        &new.owner_id,
        PlaylistChangeKind::Created,
        new.track_ids.clone(),
    )?;
    commit(store, tx, &event).await?;
    Ok(created)
}

pub(super) async fn edit(store: &PostgresStore, edit: Edit) -> Result<Edited, PlaylistError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    let id = edit.playlist_id.as_str();
    let current = lock(&tx, id)
        .await?
        .ok_or_else(|| PlaylistError::PlaylistNotFound(id.to_owned()))?;
    // Before the guard: the first call moved the version a repeat still expects.
    if let Some(key) = &edit.request_id
        && let Some(first) = requests::find(&tx, &edit.actor, key, &current).await?
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
    let mut count_delta = 0_i32;
    match &edit.op {
        EditOp::AddItems {
            track_ids: tracks,
            position,
            durations,
        } => {
            let position = position.unwrap_or(current.item_count);
            let count = current.item_count;
            items = insert_items(&tx, id, tracks, position, count, &edit.actor, durations).await?;
            sum_durations(&tx, id).await?;
            count_delta = i32::try_from(tracks.len()).map_err(internal)?;
            track_ids.clone_from(tracks);
        }
        EditOp::RemoveItems { item_ids } => {
            let rows = tx
                .query(
                    "DELETE FROM playlist_items WHERE playlist_id = $1 AND item_id = ANY($2)
                     RETURNING item_id, track_id",
                    &[&id, item_ids],
                )
                .await
                .map_err(pg)?;
            if rows.len() != item_ids.len() {
                let found: Vec<String> = rows.iter().filter_map(|r| r.try_get(0).ok()).collect();
                let missing = item_ids
                    .iter()
                    .find(|i| !found.contains(i))
                    .cloned()
                    .unwrap_or_default();
                // Dropping the transaction rolls the partial delete back.
                return Err(item_missing(id, &missing));
            }
            track_ids = rows.iter().filter_map(|r| r.try_get(1).ok()).collect();
            sum_durations(&tx, id).await?;
            count_delta = -i32::try_from(rows.len()).map_err(internal)?;
        }
        EditOp::MoveItems {
            start,
            length,
            before,
        } => {
            let Some((start, length, before)) = move_bounds(*start, *length, *before) else {
                return Ok(unchanged);
            };
            let moved: Vec<String> = tx
                .query(
                    "SELECT item_id FROM playlist_items WHERE playlist_id = $1
                     ORDER BY rank OFFSET $2 LIMIT $3",
                    &[&id, &i64::from(start), &i64::from(length)],
                )
                .await
                .map_err(pg)?
                .iter()
                .map(|row| row.try_get(0))
                .collect::<Result<_, _>>()
                .map_err(pg)?;
            let (low, high) = neighbours(&tx, id, before, current.item_count).await?;
            let ranks =
                n_between(low.as_deref(), high.as_deref(), moved.len()).map_err(internal)?;
            tx.execute(
                "UPDATE playlist_items i SET rank = u.rank
                 FROM unnest($2::text[], $3::text[]) AS u(item_id, rank)
                 WHERE i.playlist_id = $1 AND i.item_id = u.item_id",
                &[&id, &moved, &ranks],
            )
            .await
            .map_err(pg)?;
        }
        EditOp::UpdateDetails(change) => update_details(&tx, id, change).await?,
        EditOp::AddCollaborator(user) => {
            let added = tx
                .execute(
                    "INSERT INTO playlist_collaborators (playlist_id, user_id) VALUES ($1, $2)
                     ON CONFLICT DO NOTHING",
                    &[&id, user],
                )
                .await
                .map_err(pg)?;
            if added == 0 {
                return Ok(unchanged);
            }
        }
        EditOp::RemoveCollaborator(user) => {
            let removed = tx
                .execute(
                    "DELETE FROM playlist_collaborators WHERE playlist_id = $1 AND user_id = $2",
                    &[&id, user],
                )
                .await
                .map_err(pg)?;
            if removed == 0 {
                return Ok(unchanged);
            }
        }
        EditOp::Delete => {
            tx.execute("DELETE FROM playlists WHERE id = $1", &[&id])
                .await
                .map_err(pg)?;
            let version = current.version + 1;
            let event = playlist_deleted(&current, &edit.actor)?;
            commit(store, tx, &event).await?;
            return Ok(Edited {
                version,
                items,
                playlist: None,
            });
        }
    }
    tx.execute(
        "UPDATE playlists SET version = version + 1, revision = revision + 1,
             item_count = item_count + $2, update_ms = $3 WHERE id = $1",
        &[&id, &count_delta, &now_ms()],
    )
    .await
    .map_err(pg)?;
    let after = reread(&tx, id).await?;
    if let Some(key) = &edit.request_id {
        requests::record(&tx, &edit.actor, key, id, after.version, &items).await?;
    }
    let event = playlist_changed(&after, &edit.actor, kind_of(&edit.op), track_ids)?;
    commit(store, tx, &event).await?;
    Ok(Edited {
        version: after.version,
        items,
        playlist: Some(after),
    })
}

async fn update_details(
    tx: &Transaction<'_>,
    id: &str,
    change: &DetailsChange,
) -> Result<(), PlaylistError> {
    let (set_cover, cover) = match &change.cover_image_id {
        Some(cover) => (true, cover.clone()),
        None => (false, None),
    };
    tx.execute(
        "UPDATE playlists SET name = COALESCE($2, name),
             description = COALESCE($3, description), public = COALESCE($4, public),
             collaborative = COALESCE($5, collaborative),
             cover_image_id = CASE WHEN $6 THEN $7 ELSE cover_image_id END
         WHERE id = $1",
        &[
            &id,
            &change.name,
            &change.description,
            &change.public,
            &change.collaborative,
            &set_cover,
            &cover,
        ],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

pub(super) async fn follow(
    store: &PostgresStore,
    id: &str,
    user: &str,
    follow: bool,
) -> Result<Playlist, PlaylistError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    let current = lock(&tx, id)
        .await?
        .ok_or_else(|| PlaylistError::PlaylistNotFound(id.to_owned()))?;
    let changed = if follow {
        check_follow(&current, user)?;
        tx.execute(
            "INSERT INTO playlist_followers (playlist_id, user_id, follow_ms) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&id, &user, &now_ms()],
        )
        .await
        .map_err(pg)?
    } else {
        let removed = tx
            .execute(
                "DELETE FROM playlist_followers WHERE playlist_id = $1 AND user_id = $2",
                &[&id, &user],
            )
            .await
            .map_err(pg)?;
        check_unfollow(
            &current,
            user,
            usize::try_from(removed).unwrap_or(usize::MAX),
        )?;
        removed
    };
    if changed == 0 {
        return Ok(current);
    }
    let delta: i32 = if follow { 1 } else { -1 };
    tx.execute(
        "UPDATE playlists SET follower_count = GREATEST(follower_count + $2, 0),
             revision = revision + 1 WHERE id = $1",
        &[&id, &delta],
    )
    .await
    .map_err(pg)?;
    let after = reread(&tx, id).await?;
    let kind = follow_kind(follow);
    let event = playlist_changed(&after, user, kind, Vec::new())?;
    commit(store, tx, &event).await?;
    Ok(after)
}

pub(super) async fn like(
    store: &PostgresStore,
    user: &str,
    track_ids: &[String],
    liked: bool,
    expected_version: Option<u64>,
) -> Result<LikesChanged, PlaylistError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    tx.execute(
        "INSERT INTO liked_versions (user_id, version) VALUES ($1, 0) ON CONFLICT DO NOTHING",
        &[&user],
    )
    .await
    .map_err(pg)?;
    let version: i64 = tx
        .query_one(
            "SELECT version FROM liked_versions WHERE user_id = $1 FOR UPDATE",
            &[&user],
        )
        .await
        .and_then(|row| row.try_get(0))
        .map_err(pg)?;
    let version = to_u64(version);
    check_liked_version(expected_version, version)?;
    let sql = if liked {
        "INSERT INTO liked_tracks (user_id, track_id, like_ms)
         SELECT $1, t, $3 FROM unnest($2::text[]) AS t
         ON CONFLICT DO NOTHING RETURNING track_id"
    } else {
        "DELETE FROM liked_tracks WHERE user_id = $1 AND track_id = ANY($2) AND $3::bigint IS NOT NULL
         RETURNING track_id"
    };
    let changed: Vec<String> = tx
        .query(sql, &[&user, &track_ids, &now_ms()])
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
        "UPDATE liked_versions SET version = $2 WHERE user_id = $1",
        &[&user, &i64::try_from(version).map_err(internal)?],
    )
    .await
    .map_err(pg)?;
    let event = liked_changed(user, changed, liked, version)?;
    commit(store, tx, &event).await?;
    Ok(LikesChanged { version })
}
