//! The play queue: `savePlayQueue`/`getPlayQueue` and OpenSubsonic's `indexBasedQueue`
//! (`savePlayQueueByIndex`/`getPlayQueueByIndex`), on playlist-svc's one queue per user, the
//! same one the web player reads and writes (`/v1/me/play-queue`): a queue saved on one
//! device resumes on another.
//!
//! The queue is stored by index, so a track queued twice stays unambiguous; `current` (a
//! track id) is saved as its first position. Entries the catalogue no longer has are left
//! out of the answer, and the current index moves with them.

use std::collections::HashMap;

use serde::Serialize;
use tunemesh_proto::playlist::v1 as pb;

use super::error::SubsonicError;
use super::hydrate::{mark_starred, tracks};
use super::methods::{Ctx, Method, Reply, handler};
use super::model::{Child, time};
use super::response::Payload;
use crate::extract::check_id;

/// This area's methods.
pub(crate) const TABLE: &[(&str, Method)] = &[
    ("savePlayQueue", handler!(save_play_queue)),
    ("getPlayQueue", handler!(get_play_queue)),
    ("savePlayQueueByIndex", handler!(save_play_queue_by_index)),
    ("getPlayQueueByIndex", handler!(get_play_queue_by_index)),
];

/// Most tracks a queue holds (playlist-svc's limit).
pub(crate) const MAX_QUEUE: usize = 1_000;

/// Longest client name kept with a queue, in characters (playlist-svc's limit).
const MAX_CLIENT_CHARS: usize = 100;

/// Longest position kept, in ms (playlist-svc's limit: one day).
const MAX_POSITION_MS: i64 = 86_400_000;

/// The `id`s, checked and bounded.
fn queue_ids(ctx: &Ctx<'_>) -> Result<Vec<String>, SubsonicError> {
    let mut ids = Vec::new();
    for id in ctx.call.params.all("id") {
        if ids.len() >= MAX_QUEUE {
            return Err(SubsonicError::MissingParameter(
                format!("a play queue holds at most {MAX_QUEUE} songs").into(),
            ));
        }
        check_id("id", id)?;
        ids.push(id.to_owned());
    }
    Ok(ids)
}

/// `position` in ms: absent or empty is 0; past a day is a day (clients count on and on
/// while paused, the queue keeps where they were).
fn position(ctx: &Ctx<'_>) -> Result<i64, SubsonicError> {
    match ctx.call.params.get("position") {
        None | Some("") => Ok(0),
        Some(value) => value
            .parse::<i64>()
            .map(|ms| ms.clamp(0, MAX_POSITION_MS))
            .map_err(|_| SubsonicError::MissingParameter("position must be milliseconds".into())),
    }
}

/// The client name (`c`) as the queue records it: printable, bounded.
fn client_name(ctx: &Ctx<'_>) -> String {
    let name = ctx.call.params.get("c").unwrap_or_default();
    name.chars()
        .filter(|c| !c.is_control())
        .take(MAX_CLIENT_CHARS)
        .collect()
}

/// Saves the queue (no ids: clears it).
async fn save(
    ctx: &Ctx<'_>,
    track_ids: Vec<String>,
    current_index: Option<u32>,
) -> Result<(), SubsonicError> {
    let request = pb::SavePlayQueueRequest {
        current_index: current_index.filter(|_| !track_ids.is_empty()),
        track_ids,
        position_ms: position(ctx)?,
        client_name: client_name(ctx),
        expected_version: None,
    };
    (ctx.state.playlists())
        .call(ctx.identity(), request, async |c, r| {
            c.save_play_queue(r).await
        })
        .await?;
    Ok(())
}

/// `savePlayQueue`: `current` is a track id; its first position in the queue is saved (an id
/// not in the queue saves no current track).
async fn save_play_queue(ctx: &Ctx<'_>) -> Result<(), SubsonicError> {
    let ids = queue_ids(ctx)?;
    let current = match ctx.call.params.get("current") {
        None | Some("") => None,
        Some(current) => ids
            .iter()
            .position(|id| id == current)
            .and_then(|i| u32::try_from(i).ok()),
    };
    save(ctx, ids, current).await
}

/// `savePlayQueueByIndex`: `currentIndex` is required with ids, and must be in the queue
/// (error 10 otherwise, as the extension requires).
async fn save_play_queue_by_index(ctx: &Ctx<'_>) -> Result<(), SubsonicError> {
    let ids = queue_ids(ctx)?;
    let current = match ctx.call.params.get("currentIndex") {
        None | Some("") if ids.is_empty() => None,
        None | Some("") => return Err(SubsonicError::missing("currentIndex")),
        Some(_) if ids.is_empty() => {
            return Err(SubsonicError::MissingParameter(
                "currentIndex must not be set without ids".into(),
            ));
        }
        Some(value) => match value.parse::<u32>() {
            Ok(index) if (index as usize) < ids.len() => Some(index),
            _ => {
                return Err(SubsonicError::MissingParameter(
                    format!("currentIndex must be 0 to {}", ids.len() - 1).into(),
                ));
            }
        },
    };
    save(ctx, ids, current).await
}

/// The saved queue as clients read it: entries, current index among them, the rest.
struct Loaded {
    entry: Vec<Child>,
    current: Option<usize>,
    position: i64,
    changed: String,
    changed_by: String,
}

/// The caller's queue, hydrated; `None` when there is none or it is empty.
async fn load(ctx: &Ctx<'_>) -> Result<Option<Loaded>, SubsonicError> {
    let answer = (ctx.state.playlists())
        .call(ctx.identity(), pb::GetPlayQueueRequest {}, async |c, r| {
            c.get_play_queue(r).await
        })
        .await?;
    let Some(queue) = answer.queue.filter(|q| !q.track_ids.is_empty()) else {
        return Ok(None);
    };
    // One lookup per distinct track; a track queued twice is two entries.
    let mut distinct = queue.track_ids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let found: HashMap<String, Child> = tracks(ctx, &distinct)
        .await?
        .iter()
        .map(|t| (t.id.clone(), Child::from(t)))
        .collect();
    let mut entry = Vec::with_capacity(queue.track_ids.len());
    let mut current = None;
    for (index, id) in queue.track_ids.iter().enumerate() {
        let Some(child) = found.get(id) else {
            continue;
        };
        if queue.current_index.is_some_and(|c| c as usize == index) {
            current = Some(entry.len());
        }
        entry.push(child.clone());
    }
    mark_starred(ctx, &mut entry).await?;
    Ok(Some(Loaded {
        entry,
        current,
        position: queue.position_ms,
        changed: time(queue.change_time.as_ref()).unwrap_or_default(),
        changed_by: queue.changed_by,
    }))
}

/// `getPlayQueue`: an empty answer when nothing is queued (as Navidrome answers).
async fn get_play_queue(ctx: &Ctx<'_>) -> Result<Reply, SubsonicError> {
    let Some(queue) = load(ctx).await? else {
        return Ok(Reply::Envelope(None));
    };
    let current = queue
        .current
        .and_then(|i| queue.entry.get(i))
        .map(|c| c.id.clone());
    Ok(Payload::PlayQueue(PlayQueue {
        current,
        position: queue.position,
        username: ctx.caller.username.clone(),
        changed: queue.changed,
        changed_by: queue.changed_by,
        entry: queue.entry,
    })
    .into())
}

/// `getPlayQueueByIndex`: the same, with the current track's index.
async fn get_play_queue_by_index(ctx: &Ctx<'_>) -> Result<Reply, SubsonicError> {
    let Some(queue) = load(ctx).await? else {
        return Ok(Reply::Envelope(None));
    };
    Ok(Payload::PlayQueueByIndex(PlayQueueByIndex {
        current_index: queue.current.and_then(|i| i32::try_from(i).ok()),
        position: queue.position,
        username: ctx.caller.username.clone(),
        changed: queue.changed,
        changed_by: queue.changed_by,
        entry: queue.entry,
    })
    .into())
}

/// `playQueue`. `current` is a track id (a string, as OpenSubsonic has it; the 1.16.1 XSD
/// still types it as an int, from when ids were numbers).
#[derive(Debug, Serialize)]
pub(crate) struct PlayQueue {
    #[serde(rename = "@current", skip_serializing_if = "Option::is_none")]
    current: Option<String>,
    #[serde(rename = "@position")]
    position: i64,
    #[serde(rename = "@username")]
    username: String,
    #[serde(rename = "@changed")]
    changed: String,
    #[serde(rename = "@changedBy")]
    changed_by: String,
    entry: Vec<Child>,
}

/// `playQueueByIndex` (OpenSubsonic `indexBasedQueue`).
#[derive(Debug, Serialize)]
pub(crate) struct PlayQueueByIndex {
    #[serde(rename = "@currentIndex", skip_serializing_if = "Option::is_none")]
    current_index: Option<i32>,
    #[serde(rename = "@position")]
    position: i64,
    #[serde(rename = "@username")]
    username: String,
    #[serde(rename = "@changed")]
    changed: String,
    #[serde(rename = "@changedBy")]
    changed_by: String,
    entry: Vec<Child>,
}
