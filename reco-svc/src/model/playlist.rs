//! What likes and playlist edits write (`events.playlist`), planned like a listen: from the
//! state read just before, applied atomically once per event id under the listener's or the
//! playlist's version.
//!
//! - A **like** adds [`ModelParams::like_weight`] to the listener's taste at the time of the
//!   like; an unlike takes exactly that back (the time is kept in [`SetKey::LikedAt`]).
//! - A track that **joins a playlist** is paired with the playlist's
//!   [`ModelParams::playlist_window`] latest members, both ways, in [`SetKey::Related`], with
//!   the weight [`pair_weight`] of the playlist's size then; each pair is recorded on both
//!   members ([`SetKey::PlaylistPairs`]) so that a removal (or the playlist's deletion)
//!   subtracts exactly what the pair added. It also adds [`ModelParams::playlist_weight`]
//!   to the owner's taste, taken back when it leaves.
//!
//! Replays and ordering: likes and items are signed counts, so applying the same changes in
//! any order ends at the same counts; signals move only when a count crosses between 0 and 1
//! (a removal delivered before its add takes the count to -1 and changes nothing, the late
//! add brings it back to 0 and changes nothing either), and every take-back subtracts what
//! the store recorded for the add, never a recomputed value. A deleted playlist is
//! remembered, so a late add of one of its tracks changes nothing.
//!
//! Bounds: an edit names at most [`MAX_EVENT_TRACKS`] tracks and each joining track writes
//! at most `2 × playlist_window` pairs; a member's pair record holds at most
//! `2 × playlist_window` partners (it picked at most `window`, and at most `window` later
//! members can have picked it while it stayed among the latest), so a removal is as cheap,
//! and a deletion costs its playlist's size times that. What stays exact only within a
//! bound: [`SetKey::Related`] and taste are trimmed to their sizes, and taking back a pair
//! or a like that was trimmed away does nothing (it was already gone); a pair trimmed and
//! then formed again by another playlist can lose up to its trimmed share early. Changing
//! `like_weight` or `playlist_weight` on a model in Redis makes later take-backs subtract
//! the new weight: rebuild the model (new consumers, empty prefix) after changing them.

use std::collections::{HashMap, HashSet};

use tunemesh_proto::events::v1::{
    EventMeta, LikedTracksChanged, PlaylistChangeKind, PlaylistChanged,
};

use super::{ModelParams, ms};
use crate::store::{CLOCK, Op, SetKey, Versioned, WriteBatch};

/// Track ids one event may carry; more is not an event playlist-svc writes (it changes at
/// most 100 per request) and is dropped unread.
pub const MAX_EVENT_TRACKS: usize = 1_000;

/// Deleted playlists remembered (their events can arrive late only within a redelivery).
pub const DELETED_KEPT: usize = 100_000;

/// The weight of a pair formed in a playlist of `size` tracks: `1 / log2(size)` (1 for two
/// tracks, 1/2 for four, 1/10 for a thousand).
///
/// Why this curve: the window already bounds how much any playlist can write (each track
/// gets at most twice [`ModelParams::playlist_window`] partners from it, whatever its size),
/// so the weight only has to say how much one pairing means. A big playlist is a looser
/// statement than a small one, but `1/size` would make a deliberate 200-track playlist worth
/// a hundredth of a two-track one and let tiny playlists decide everything; the logarithm
/// (the inverse-frequency weighting of information retrieval) discounts size without
/// silencing it.
pub fn pair_weight(size: usize) -> f64 {
    // sizes stay far below 2^53
    1.0 / (size.max(2) as f64).log2()
}

/// An id as the catalogue and playlist-svc make them; anything else is dropped.
fn valid_id(id: &str) -> bool {
    id.len() <= 64 && tunemesh_runtime::ids::is_valid(id)
}

/// The event time of `meta` in ms, or `fallback_ms`.
fn event_ms(meta: Option<&EventMeta>, fallback_ms: i64) -> i64 {
    meta.and_then(|m| m.occurred_at).map_or(fallback_ms, |t| {
        t.seconds.saturating_mul(1000) + i64::from(t.nanos / 1_000_000)
    })
}

/// What one `LikedTracksChanged` says.
#[derive(Debug, Clone, PartialEq)]
pub struct LikeChange {
    /// The event id (deduplication key).
    pub event_id: String,
    /// The listener.
    pub user_id: String,
    /// The tracks liked or unliked, each once, invalid ids dropped.
    pub track_ids: Vec<String>,
    /// Liked (true) or unliked.
    pub liked: bool,
    /// Event time (ms).
    pub at_ms: i64,
}

impl LikeChange {
    /// Reads the event; `None` when it has no valid user or no track.
    pub fn from_event(
        event: &LikedTracksChanged,
        event_id: &str,
        fallback_ms: i64,
    ) -> Option<Self> {
        if !valid_id(&event.user_id) || event.track_ids.len() > MAX_EVENT_TRACKS {
            return None;
        }
        let mut seen = HashSet::new();
        let track_ids: Vec<String> = event
            .track_ids
            .iter()
            .filter(|t| valid_id(t) && seen.insert(t.as_str()))
            .cloned()
            .collect();
        if track_ids.is_empty() {
            return None;
        }
        Some(Self {
            event_id: event_id.to_owned(),
            user_id: event.user_id.clone(),
            track_ids,
            liked: event.liked,
            at_ms: event_ms(event.meta.as_ref(), fallback_ms),
        })
    }
}

/// A listener's like state for the tracks of one change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LikeState {
    /// The listener's version.
    pub version: u64,
    /// Like counts of the change's tracks (missing: 0).
    pub counts: HashMap<String, i64>,
    /// When each standing like of them was applied (ms).
    pub liked_at: HashMap<String, i64>,
}

/// The writes of a like or unlike, planned from `state`.
pub fn plan_likes(change: &LikeChange, state: &LikeState, params: &ModelParams) -> WriteBatch {
    let user = &change.user_id;
    let (taste, half_life_ms) = (SetKey::Taste(user.clone()), ms(params.taste_half_life));
    let delta = if change.liked { 1 } else { -1 };
    let mut ops = Vec::new();
    for track in &change.track_ids {
        ops.push(Op::Count {
            key: SetKey::Likes(user.clone()),
            member: track.clone(),
            delta,
        });
        match (state.counts.get(track).copied().unwrap_or(0), change.liked) {
            (0, true) => {
                ops.push(Op::Max {
                    key: SetKey::LikedAt(user.clone()),
                    member: track.clone(),
                    // event times in ms stay below 2^53
                    score: change.at_ms as f64,
                });
                ops.push(Op::Decay {
                    key: taste.clone(),
                    member: track.clone(),
                    weight: params.like_weight,
                    at_ms: change.at_ms,
                    half_life_ms,
                });
            }
            (1, false) => {
                ops.push(Op::Remove {
                    key: SetKey::LikedAt(user.clone()),
                    member: track.clone(),
                });
                if let Some(at_ms) = state.liked_at.get(track) {
                    ops.push(Op::TakeBack {
                        key: taste.clone(),
                        member: track.clone(),
                        weight: params.like_weight,
                        at_ms: *at_ms,
                        half_life_ms,
                    });
                }
            }
            // Out of order (an unlike before its like, a like twice): only the count moves.
            _ => {}
        }
    }
    ops.push(Op::Trim {
        key: taste,
        keep: params.taste_size,
    });
    ops.push(super::taste_changed(user));
    ops.push(clock(change.at_ms));
    WriteBatch {
        event_id: change.event_id.clone(),
        guard: Some((Versioned::Listener(user.clone()), state.version)),
        ops,
    }
}

/// What a playlist event changes about the playlist's tracks.
#[derive(Debug, Clone, PartialEq)]
pub enum PlaylistChange {
    /// Items of these tracks were added (a track twice: two items).
    Added(Vec<String>),
    /// Items of these tracks were removed.
    Removed(Vec<String>),
    /// The playlist was deleted with everything in it.
    Deleted,
}

/// What one `PlaylistChanged` says that the model uses.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaylistEdit {
    /// The event id (deduplication key).
    pub event_id: String,
    /// The playlist.
    pub playlist_id: String,
    /// Its owner, whose taste its tracks feed (empty: nobody's).
    pub owner_id: String,
    /// Event time (ms).
    pub at_ms: i64,
    /// The change.
    pub change: PlaylistChange,
}

impl PlaylistEdit {
    /// Reads the event; `None` for kinds that change no track (details, moves, follows,
    /// collaborators), for events without a valid playlist id, and for generated playlists.
    pub fn from_event(event: &PlaylistChanged, event_id: &str, fallback_ms: i64) -> Option<Self> {
        if !valid_id(&event.playlist_id) || event.track_ids.len() > MAX_EVENT_TRACKS {
            return None;
        }
        // Generated playlists (owned by the system account) are made from this model: their
        // tracks teaching it again would only echo its own answers.
        if event.owner_id == tunemesh_runtime::identity::SYSTEM_ACCOUNT {
            return None;
        }
        let tracks = || -> Vec<String> {
            event
                .track_ids
                .iter()
                .filter(|t| valid_id(t))
                .cloned()
                .collect()
        };
        let change = match event.kind() {
            PlaylistChangeKind::Created | PlaylistChangeKind::ItemsAdded => {
                PlaylistChange::Added(tracks())
            }
            PlaylistChangeKind::ItemsRemoved => PlaylistChange::Removed(tracks()),
            PlaylistChangeKind::Deleted => PlaylistChange::Deleted,
            _ => return None,
        };
        if matches!(&change, PlaylistChange::Added(t) | PlaylistChange::Removed(t) if t.is_empty())
        {
            return None;
        }
        let owner_id = if valid_id(&event.owner_id) {
            event.owner_id.clone()
        } else {
            String::new()
        };
        Some(Self {
            event_id: event_id.to_owned(),
            playlist_id: event.playlist_id.clone(),
            owner_id,
            at_ms: event_ms(event.meta.as_ref(), fallback_ms),
            change,
        })
    }

    /// The distinct tracks the change names (all members, for a deletion, are read apart).
    pub fn tracks(&self) -> Vec<String> {
        let (PlaylistChange::Added(tracks) | PlaylistChange::Removed(tracks)) = &self.change else {
            return Vec::new();
        };
        let mut seen = HashSet::new();
        tracks
            .iter()
            .filter(|t| seen.insert(t.as_str()))
            .cloned()
            .collect()
    }
}

/// A playlist's state, as much of it as one edit needs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlaylistState {
    /// The playlist's version in the model.
    pub version: u64,
    /// Deleted before: the edit changes nothing.
    pub deleted: bool,
    /// Member tracks now.
    pub size: usize,
    /// Item counts of the edit's tracks (missing: 0).
    pub counts: HashMap<String, i64>,
    /// Join times of the members that may leave (every member, for a deletion).
    pub joined: HashMap<String, i64>,
    /// The latest members and their join times, latest first (for additions: at least
    /// [`ModelParams::playlist_window`] of them, when there are).
    pub latest: Vec<(String, i64)>,
    /// The recorded pairs of the members that may leave: partner → weight.
    pub pairs: HashMap<String, Vec<(String, f64)>>,
}

fn max(key: SetKey, member: &str, score: f64) -> Op {
    Op::Max {
        key,
        member: member.to_owned(),
        score,
    }
}

fn clock(at_ms: i64) -> Op {
    // event times in ms stay below 2^53
    max(SetKey::Meta, CLOCK, at_ms as f64)
}

mod items;
#[cfg(test)]
mod tests;

pub use items::plan_playlist;
