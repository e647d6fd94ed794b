//! The model's state behind a port: sorted sets of decayed scores, track facts, and
//! per-event atomic write batches deduplicated by event id.
//!
//! Two adapters, [`redis::RedisStore`] (production: replicas share it) and
//! [`memory::MemoryStore`] (`tunemesh up`: rebuilt by replaying the embedded bus), run the
//! same contract suite (`tests/reco/contract.rs`). A write batch is applied whole or not at
//! all; a batch whose event id was applied before changes nothing, so redeliveries are
//! harmless; a batch guarded by a listener's or a playlist's version ([`Versioned`]) fails
//! with [`Applied::Conflict`] when another event of that listener or playlist landed since
//! the read it was planned from.
//!
//! Signals that can be taken back (likes, playlist items) are kept as signed counts
//! ([`Op::Count`]) with the facts needed to undo them (when a like or an item joined, which
//! pairs a playlist item formed), so a take-back subtracts exactly what was added
//! ([`Op::Add`] with a negative weight, [`Op::TakeBack`]) and never leaves a negative.

pub mod memory;
pub mod redis;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// A sorted set of the model. Each kind has one meaning for its scores. New kinds go last:
/// the embedded model's snapshot stores a kind by its position (`memory::snapshot`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SetKey {
    /// Decayed plays per track, over everyone.
    Popularity,
    /// Decayed co-listening weight of other tracks with this track.
    Neighbours(String),
    /// Decayed weight of the tracks listeners played right after this track (see
    /// [`crate::model::sequence`]).
    Next(String),
    /// A listener's decayed taste per track (plays add, skips subtract).
    Taste(String),
    /// A listener's recent plays: track → time of the last play (ms).
    Recent(String),
    /// A listener's skips: track → time of the last skip (ms).
    Skips(String),
    /// An artist's tracks: track → time it was credited to the artist (ms).
    ArtistTracks(String),
    /// Model-wide facts: `clock` → the latest event time seen (ms).
    Meta,
    /// Tracks that share playlists with this track: summed pair weights, not decayed (a
    /// playlist says the same until it is edited).
    Related(String),
    /// A listener's likes: track → likes minus unlikes applied (1 while liked; 0 is removed;
    /// -1 while an unlike waits for the like it undoes, delivered late).
    Likes(String),
    /// A listener's standing likes: track → when the like was applied (event time, ms).
    LikedAt(String),
    /// A playlist's tracks: track → items of it added minus removed (like [`SetKey::Likes`]).
    PlaylistItems(String),
    /// A playlist's member tracks: track → when it joined (ms, increasing in the order joins
    /// were applied, so the latest members are the top of the set).
    PlaylistJoined(String),
    /// The pairs a member track (second) formed in a playlist (first): partner → weight.
    PlaylistPairs(String, String),
    /// Deleted playlists: id → when it was deleted (ms); their late events change nothing.
    DeletedPlaylists,
    /// A listener's counted plays per track, decayed (one per play; most-played albums are
    /// summed from it at read time).
    Plays(String),
    /// Counted plays per track over every listener, never decayed (an artist's top tracks).
    PlayCounts,
    /// Taste events applied per listener, never decayed, only growing: one per counted
    /// play, like or unlike event, and item addition or removal in their own playlists. The
    /// mixer compares it with [`SetKey::MixedTaste`] to tell how much a taste changed.
    TasteChanges,
    /// Per listener, their [`SetKey::TasteChanges`] count when their last mix was made.
    MixedTaste,
    /// Per listener, when their last mix was made (ms, the mixer's clock).
    MixedAt,
}

/// What a guarded write batch is planned from: one listener's or one playlist's state (new
/// kinds go last, as for [`SetKey`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Versioned {
    /// A listener (plays, skips, likes).
    Listener(String),
    /// A playlist (its items and the pairs they formed).
    Playlist(String),
}

/// The `Meta` member holding the model clock.
pub const CLOCK: &str = "clock";

/// One write of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Adds `weight` at time `at_ms` to a forward-decayed member (see [`crate::model::decay`]).
    Decay {
        /// The set.
        key: SetKey,
        /// The member.
        member: String,
        /// The weight (negative for skips).
        weight: f64,
        /// Event time (ms).
        at_ms: i64,
        /// Half-life of this set (ms); the same for every write to it.
        half_life_ms: i64,
    },
    /// Sets a member to `score` unless it already holds a greater one (or adds it).
    Max {
        /// The set.
        key: SetKey,
        /// The member.
        member: String,
        /// The score.
        score: f64,
    },
    /// Keeps the `keep` highest-scored members of a set, dropping the rest.
    Trim {
        /// The set.
        key: SetKey,
        /// How many to keep.
        keep: usize,
    },
    /// Records a track's facts if `info.updated_ms` is not older than what is stored, moving
    /// it between artists' track sets as needed.
    Track(TrackInfo),
    /// Adds `delta` to a signed count, removing the member when the count reaches 0.
    Count {
        /// The set.
        key: SetKey,
        /// The member.
        member: String,
        /// The change (+1 or -1 in practice; exact in `f64` far beyond any real count).
        delta: i64,
    },
    /// Adds `weight` to a plain (not decayed) sum that never goes negative: a negative
    /// weight on a missing member changes nothing, and a member whose sum falls to
    /// [`ZERO`] times the weight or below is removed (so a take-back of the only
    /// contribution leaves no rounding residue).
    Add {
        /// The set.
        key: SetKey,
        /// The member.
        member: String,
        /// The weight (negative to take a contribution back).
        weight: f64,
    },
    /// Takes back a weight an [`Op::Decay`] added at `at_ms`: subtracts what that write
    /// added, if the member is still there (trimmed away: nothing to take back); a member
    /// left at [`ZERO`] times the amount or closer to 0 is removed.
    TakeBack {
        /// The set.
        key: SetKey,
        /// The member.
        member: String,
        /// The weight the decay write added (positive).
        weight: f64,
        /// That write's event time (ms).
        at_ms: i64,
        /// Half-life of this set (ms).
        half_life_ms: i64,
    },
    /// Removes a member (nothing if it is missing).
    Remove {
        /// The set.
        key: SetKey,
        /// The member.
        member: String,
    },
    /// Removes a whole set.
    Delete {
        /// The set.
        key: SetKey,
    },
}

/// Relative size under which a sum left by a take-back counts as zero: float sums are
/// exact to about 1e-16 of the amounts involved, so this only catches rounding residue.
pub const ZERO: f64 = 1e-9;

/// What the model knows about a track from the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackInfo {
    /// The track.
    pub track_id: String,
    /// Its main artist's id.
    pub artist_id: String,
    /// Its main artist's name, for reasons.
    pub artist_name: String,
    /// Its title, for reasons.
    pub title: String,
    /// Its album's id (listening history); empty when the catalogue named none, or in a
    /// record stored before albums were kept.
    pub album_id: String,
    /// When the catalogue last changed it (ms): older updates never overwrite newer ones.
    pub updated_ms: i64,
}

/// The writes one event causes, applied atomically and at most once per event id.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteBatch {
    /// The event id; a second batch with the same id changes nothing.
    pub event_id: String,
    /// Applies only if the listener's or playlist's version is still this (read with
    /// [`RecoStore::listener`] or [`RecoStore::version`]); the version then moves on.
    pub guard: Option<(Versioned, u64)>,
    /// The writes, in order.
    pub ops: Vec<Op>,
}

/// What became of a write batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Every write was applied.
    Done,
    /// The event id was applied before: nothing changed.
    Duplicate,
    /// The listener changed since the batch was planned: nothing changed; plan again.
    Conflict,
}

/// The top of a sorted set, highest score first, with the set's decay landmark.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ranked {
    /// Landmark of a forward-decayed set (ms); `None` for plain sets and empty ones.
    pub landmark_ms: Option<i64>,
    /// Members and their stored scores, highest first (ties by member, ascending).
    pub entries: Vec<(String, f64)>,
}

/// A listener's state an update is planned from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listener {
    /// Moves on with every applied batch guarded by this listener.
    pub version: u64,
    /// Recent plays: track and time (ms), latest first.
    pub recent: Vec<(String, i64)>,
}

/// Why the store failed; always worth a retry (the store was unreachable or slow).
#[derive(Debug, thiserror::Error)]
#[error("reco store failed: {0}")]
pub struct StoreError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// The model's state.
#[async_trait]
pub trait RecoStore: Send + Sync + std::fmt::Debug {
    /// Applies `batch` atomically unless its event id was applied before or its guard fails.
    async fn apply(&self, batch: &WriteBatch) -> Result<Applied, StoreError>;

    /// Applies each of `batches` in order, as [`apply`](Self::apply) would one after
    /// another, in one round trip where the store has them; one outcome per batch. On an
    /// error some may have been applied (each whole or not at all): apply them again.
    async fn apply_all(&self, batches: &[WriteBatch]) -> Result<Vec<Applied>, StoreError> {
        let mut outcomes = Vec::with_capacity(batches.len());
        for batch in batches {
            outcomes.push(self.apply(batch).await?);
        }
        Ok(outcomes)
    }

    /// The top `n` of each set in `keys` (all of a set for `usize::MAX`), in order.
    async fn top(&self, keys: &[SetKey], n: usize) -> Result<Vec<Ranked>, StoreError>;

    /// The stored score of each member in `key`, in order.
    async fn scores(
        &self,
        key: &SetKey,
        members: &[String],
    ) -> Result<Vec<Option<f64>>, StoreError>;

    /// What the catalogue said about each track, in order.
    async fn tracks(&self, ids: &[String]) -> Result<Vec<Option<TrackInfo>>, StoreError>;

    /// The listener's version and recent plays (at most `recent` of them).
    async fn listener(&self, user_id: &str, recent: usize) -> Result<Listener, StoreError>;

    /// [`listener`](Self::listener) of each user, in order, in one round trip where the store
    /// has them.
    async fn listeners(
        &self,
        user_ids: &[&str],
        recent: usize,
    ) -> Result<Vec<Listener>, StoreError> {
        let mut listeners = Vec::with_capacity(user_ids.len());
        for user_id in user_ids {
            listeners.push(self.listener(user_id, recent).await?);
        }
        Ok(listeners)
    }

    /// The current version of a listener or playlist (0 before its first guarded batch).
    async fn version(&self, of: &Versioned) -> Result<u64, StoreError>;

    /// How many members each set in `keys` has, in order.
    async fn sizes(&self, keys: &[SetKey]) -> Result<Vec<usize>, StoreError>;
}

/// Splits a stored track record `updated|artist id|artist name|title|album id` (unit
/// separators). Records written before albums were kept end after the title: their album is
/// empty until the track's next catalogue event.
pub(crate) fn decode_track(track_id: &str, record: &str) -> Option<TrackInfo> {
    let mut parts = record.splitn(5, SEPARATOR);
    let updated_ms = parts.next()?.parse().ok()?;
    Some(TrackInfo {
        track_id: track_id.to_owned(),
        artist_id: parts.next()?.to_owned(),
        artist_name: parts.next()?.to_owned(),
        title: parts.next()?.to_owned(),
        album_id: parts.next().unwrap_or_default().to_owned(),
        updated_ms,
    })
}

/// Joins a track record; control characters in names are dropped so the separator is unique.
pub(crate) fn encode_track(info: &TrackInfo) -> String {
    let clean = |s: &str| s.chars().filter(|c| !c.is_control()).collect::<String>();
    format!(
        "{}{SEPARATOR}{}{SEPARATOR}{}{SEPARATOR}{}{SEPARATOR}{}",
        info.updated_ms,
        clean(&info.artist_id),
        clean(&info.artist_name),
        clean(&info.title),
        clean(&info.album_id)
    )
}

/// The ASCII unit separator between fields of a track record.
const SEPARATOR: char = '\u{1f}';

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_keeps_every_fact_and_an_old_one_reads_without_an_album() {
        let info = TrackInfo {
            track_id: "t".to_owned(),
            artist_id: "a".to_owned(),
            artist_name: "The A".to_owned(),
            title: "Intro".to_owned(),
            album_id: "al".to_owned(),
            updated_ms: 42,
        };
        assert_eq!(decode_track("t", &encode_track(&info)), Some(info.clone()));
        let old = format!("42{SEPARATOR}a{SEPARATOR}The A{SEPARATOR}Intro");
        let expected = TrackInfo {
            album_id: String::new(),
            ..info
        };
        assert_eq!(decode_track("t", &old), Some(expected));
    }
}
