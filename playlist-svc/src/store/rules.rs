//! The write rules both store adapters apply inside their transactions, written once: who
//! may follow or unfollow, which version a like expects, what a failed removal says, where
//! a move or an insertion lands and what the new items are. The adapters keep only their SQL.

use tunemesh_proto::events::v1::PlaylistChangeKind;

use crate::error::PlaylistError;
use crate::model::{Durations, Generated, GeneratedPut, Item, Playlist, new_id};

/// A failure no caller can act on (a conversion that cannot fail in practice).
pub fn internal(error: impl Into<anyhow::Error>) -> PlaylistError {
    PlaylistError::Internal(error.into())
}

/// The generated marker of a row: both columns set, or a playlist people made.
pub fn generated(for_user: Option<String>, kind: Option<String>) -> Option<Generated> {
    Some(Generated {
        for_user: for_user?,
        kind: kind?,
    })
}

/// Whether a generated playlist at `current` with items `tracks` already holds `put`.
pub fn same_content(current: &Playlist, tracks: &[String], put: &GeneratedPut) -> bool {
    current.name == put.name && current.description == put.description && tracks == put.track_ids
}

/// Checks `user` may follow `playlist`: they must see it, and not own it.
pub fn check_follow(playlist: &Playlist, user: &str) -> Result<(), PlaylistError> {
    if !playlist.visible_to(user) {
        return Err(PlaylistError::PlaylistNotFound(playlist.id.clone()));
    }
    if playlist.owner_id == user {
        return Err(PlaylistError::FailedPrecondition(
            "you own this playlist; it is in your library already".to_owned(),
        ));
    }
    Ok(())
}

/// Checks an unfollow that removed `removed` rows: unfollowing what one may no longer see is
/// allowed; revealing that it exists is not.
pub fn check_unfollow(
    playlist: &Playlist,
    user: &str,
    removed: usize,
) -> Result<(), PlaylistError> {
    if removed == 0 && !playlist.visible_to(user) {
        return Err(PlaylistError::PlaylistNotFound(playlist.id.clone()));
    }
    Ok(())
}

/// The event kind of a follow (`true`) or unfollow.
pub fn follow_kind(follow: bool) -> PlaylistChangeKind {
    if follow {
        PlaylistChangeKind::Followed
    } else {
        PlaylistChangeKind::Unfollowed
    }
}

/// Checks the version a like or unlike expects against the liked songs' `current` one.
pub fn check_liked_version(expected: Option<u64>, current: u64) -> Result<(), PlaylistError> {
    match expected {
        Some(expected) if expected != current => Err(PlaylistError::VersionMismatch {
            id: "liked songs".to_owned(),
            expected,
            current,
        }),
        _ => Ok(()),
    }
}

/// The error of a removal naming `item_id`, which is not in playlist `id`; the adapter rolls
/// the whole removal back.
pub fn item_missing(id: &str, item_id: &str) -> PlaylistError {
    PlaylistError::NotFound(format!(
        "item {item_id} is not in playlist {id}; nothing was removed"
    ))
}

/// Positions of the items around an insertion at `position` in a playlist of `count` items,
/// whose ranks the new ranks go between: none before the first, none after the last.
pub fn neighbour_positions(position: u32, count: u32) -> (Option<u32>, Option<u32>) {
    let low = position.checked_sub(1);
    let high = (position < count).then_some(position);
    (low, high)
}

/// The items `track_ids` become when inserted at `position` by `added_by` at `now`, with
/// fresh item ids.
pub fn new_items(track_ids: &[String], position: u32, added_by: &str, now: i64) -> Vec<Item> {
    track_ids
        .iter()
        .zip(position..)
        .map(|(track_id, position)| Item {
            item_id: new_id(),
            track_id: track_id.clone(),
            position,
            added_by: added_by.to_owned(),
            add_ms: now,
        })
        .collect()
}

/// Each new item's duration in ms, in the stores' column type: `None` (not known yet, for
/// the duration backfill) for a track the catalogue gave none of.
pub fn item_durations(
    track_ids: &[String],
    durations: &Durations,
) -> Result<Vec<Option<i64>>, PlaylistError> {
    track_ids
        .iter()
        .map(|track| {
            durations
                .get(track)
                .map(|&ms| i64::try_from(ms).map_err(internal))
                .transpose()
        })
        .collect()
}

/// Positions of a move after the guard passed: `None` for a no-op (the insertion point lies
/// inside the range or right after it).
pub fn move_bounds(start: u32, length: u32, before: u32) -> Option<(u32, u32, u32)> {
    let length = length.max(1);
    let end = start + length;
    if before >= start && before <= end {
        return None;
    }
    Some((start, length, before))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_items_go_between_their_neighbours() {
        assert_eq!(neighbour_positions(0, 0), (None, None));
        assert_eq!(neighbour_positions(0, 3), (None, Some(0)));
        assert_eq!(neighbour_positions(2, 3), (Some(1), Some(2)));
        assert_eq!(neighbour_positions(3, 3), (Some(2), None));
    }

    #[test]
    fn a_like_with_a_stale_version_is_refused() {
        assert!(check_liked_version(None, 4).is_ok());
        assert!(check_liked_version(Some(4), 4).is_ok());
        assert!(check_liked_version(Some(3), 4).is_err());
    }
}
