//! The embedded store for `tunemesh up`: the whole model in process memory, kept on disk
//! between runs as a snapshot written at a clean stop (`snapshot`); without one (a first
//! start, a crash) it is rebuilt by replaying the embedded bus from its beginning.
//!
//! One mutex guards everything: a batch is applied under it in one go (atomic), and no
//! await ever happens while it is held.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;

use super::{
    Applied, Listener, Op, Ranked, RecoStore, SetKey, StoreError, TrackInfo, Versioned, WriteBatch,
    ZERO, decode_track, encode_track,
};
use crate::model::decay;

mod seen;
mod snapshot;

pub use snapshot::LoadTimes;

use seen::Seen;

/// The model's state in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    sets: HashMap<SetKey, SortedSet>,
    landmarks: HashMap<SetKey, i64>,
    tracks: HashMap<String, TrackInfo>,
    /// The event ids applied within the dedup TTL.
    seen: Seen,
    versions: HashMap<Versioned, u64>,
}

/// A sorted set with Redis's order: score, then member, both ascending; read backwards.
#[derive(Debug, Default)]
struct SortedSet {
    scores: HashMap<String, f64>,
    order: BTreeSet<(Score, String)>,
}

/// An `f64` ordered by `total_cmp`, as a BTreeSet key.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Score(f64);

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Score {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl SortedSet {
    /// A set of `members` (each once), built in bulk: in O(n) when they come in the set's
    /// order, as a snapshot writes them.
    fn from_members(members: Vec<(String, f64)>) -> Self {
        let mut scores = HashMap::with_capacity(members.len());
        let mut order = Vec::with_capacity(members.len());
        for (member, score) in members {
            scores.insert(member.clone(), score);
            order.push((Score(score), member));
        }
        // Sorting sorted input is one pass; the tree is then built from it in bulk.
        let mut set = Self {
            scores,
            order: order.into_iter().collect(),
        };
        if set.order.len() != set.scores.len() {
            // A member listed twice (in no file `save` writes): its last score counts.
            set.order = set
                .scores
                .iter()
                .map(|(m, s)| (Score(*s), m.clone()))
                .collect();
        }
        set
    }

    fn set(&mut self, member: &str, score: f64) {
        if let Some(old) = self.scores.insert(member.to_owned(), score) {
            self.order.remove(&(Score(old), member.to_owned()));
        }
        self.order.insert((Score(score), member.to_owned()));
    }

    fn remove(&mut self, member: &str) {
        if let Some(old) = self.scores.remove(member) {
            self.order.remove(&(Score(old), member.to_owned()));
        }
    }

    fn trim(&mut self, keep: usize) {
        while self.order.len() > keep {
            if let Some((_, member)) = self.order.pop_first() {
                self.scores.remove(&member);
            }
        }
    }

    fn top(&self, n: usize) -> Vec<(String, f64)> {
        self.order
            .iter()
            .rev()
            .take(n)
            .map(|(score, member)| (member.clone(), score.0))
            .collect()
    }
}

impl State {
    /// Forgets a set an op left empty, as Redis deletes an empty sorted set (its landmark,
    /// like Redis's, stays).
    fn drop_if_empty(&mut self, op: &Op) {
        let key = match op {
            Op::Count { key, .. }
            | Op::Add { key, .. }
            | Op::TakeBack { key, .. }
            | Op::Remove { key, .. }
            | Op::Trim { key, .. } => key,
            _ => return,
        };
        if self.sets.get(key).is_some_and(|s| s.scores.is_empty()) {
            self.sets.remove(key);
        }
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::Decay {
                key,
                member,
                weight,
                at_ms,
                half_life_ms,
            } => {
                let landmark = *self.landmarks.entry(key.clone()).or_insert(*at_ms);
                let set = self.sets.entry(key.clone()).or_default();
                let landmark = if decay::needs_rebase(*at_ms, landmark, *half_life_ms) {
                    let factor = decay::growth(landmark, *at_ms, *half_life_ms);
                    for (member, score) in set.top(usize::MAX) {
                        set.set(&member, score * factor);
                    }
                    self.landmarks.insert(key.clone(), *at_ms);
                    *at_ms
                } else {
                    landmark
                };
                let old = set.scores.get(member).copied().unwrap_or(0.0);
                let add = weight * decay::growth(*at_ms, landmark, *half_life_ms);
                set.set(member, old + add);
            }
            Op::Max { key, member, score } => {
                let set = self.sets.entry(key.clone()).or_default();
                if set.scores.get(member).is_none_or(|old| old < score) {
                    set.set(member, *score);
                }
            }
            Op::Trim { key, keep } => {
                if let Some(set) = self.sets.get_mut(key) {
                    set.trim(*keep);
                }
            }
            Op::Count { key, member, delta } => {
                let set = self.sets.entry(key.clone()).or_default();
                // counts are whole numbers, exact in f64
                let count = set.scores.get(member).copied().unwrap_or(0.0) + *delta as f64;
                if count == 0.0 {
                    set.remove(member);
                } else {
                    set.set(member, count);
                }
            }
            Op::Add {
                key,
                member,
                weight,
            } => {
                let set = self.sets.entry(key.clone()).or_default();
                let old = set.scores.get(member).copied();
                if old.is_none() && *weight < 0.0 {
                    return;
                }
                let sum = old.unwrap_or(0.0) + weight;
                if sum <= weight.abs() * ZERO {
                    set.remove(member);
                } else {
                    set.set(member, sum);
                }
            }
            Op::TakeBack {
                key,
                member,
                weight,
                at_ms,
                half_life_ms,
            } => {
                let Some(landmark) = self.landmarks.get(key).copied() else {
                    return;
                };
                let Some(set) = self.sets.get_mut(key) else {
                    return;
                };
                let Some(old) = set.scores.get(member).copied() else {
                    return;
                };
                let amount = weight * decay::growth(*at_ms, landmark, *half_life_ms);
                let left = old - amount;
                if left.abs() <= amount.abs() * ZERO {
                    set.remove(member);
                } else {
                    set.set(member, left);
                }
            }
            Op::Remove { key, member } => {
                if let Some(set) = self.sets.get_mut(key) {
                    set.remove(member);
                }
            }
            Op::Delete { key } => {
                self.sets.remove(key);
                self.landmarks.remove(key);
            }
            Op::Track(info) => {
                let stale = self
                    .tracks
                    .get(&info.track_id)
                    .is_some_and(|old| old.updated_ms > info.updated_ms);
                if stale {
                    return;
                }
                if let Some(old) = self.tracks.get(&info.track_id)
                    && old.artist_id != info.artist_id
                    && let Some(set) = self
                        .sets
                        .get_mut(&SetKey::ArtistTracks(old.artist_id.clone()))
                {
                    set.remove(&info.track_id);
                }
                self.apply(&Op::Max {
                    key: SetKey::ArtistTracks(info.artist_id.clone()),
                    member: info.track_id.clone(),
                    score: info.updated_ms as f64,
                });
                // Stored as Redis stores it, so both answer the same.
                let stored = decode_track(&info.track_id, &encode_track(info));
                self.tracks.insert(
                    info.track_id.clone(),
                    stored.unwrap_or_else(|| info.clone()),
                );
            }
        }
    }
}

impl MemoryStore {
    /// An empty model that remembers applied event ids for the default dedup TTL.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty model that remembers applied event ids for `dedup_ttl` (`reco.dedup_ttl`).
    pub fn with_dedup_ttl(dedup_ttl: std::time::Duration) -> Self {
        let store = Self::default();
        store.state().seen = Seen::new(dedup_ttl);
        store
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic mid-batch cannot leave a half-applied batch visible to a retry that matters:
        // the event id was not recorded, so the batch is replayed; keep serving.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl RecoStore for MemoryStore {
    async fn apply(&self, batch: &WriteBatch) -> Result<Applied, StoreError> {
        let mut state = self.state();
        if state.seen.contains(&batch.event_id) {
            return Ok(Applied::Duplicate);
        }
        if let Some((of, expected)) = &batch.guard {
            let version = state.versions.get(of).copied().unwrap_or(0);
            if version != *expected {
                return Ok(Applied::Conflict);
            }
            state.versions.insert(of.clone(), version + 1);
        }
        for op in &batch.ops {
            state.apply(op);
            state.drop_if_empty(op);
        }
        state.seen.insert(batch.event_id.clone(), seen::now_ms());
        Ok(Applied::Done)
    }

    async fn top(&self, keys: &[SetKey], n: usize) -> Result<Vec<Ranked>, StoreError> {
        let state = self.state();
        Ok(keys
            .iter()
            .map(|key| Ranked {
                landmark_ms: state.landmarks.get(key).copied(),
                entries: state.sets.get(key).map(|s| s.top(n)).unwrap_or_default(),
            })
            .collect())
    }

    async fn scores(
        &self,
        key: &SetKey,
        members: &[String],
    ) -> Result<Vec<Option<f64>>, StoreError> {
        let state = self.state();
        let set = state.sets.get(key);
        Ok(members
            .iter()
            .map(|m| set.and_then(|s| s.scores.get(m).copied()))
            .collect())
    }

    async fn tracks(&self, ids: &[String]) -> Result<Vec<Option<TrackInfo>>, StoreError> {
        let state = self.state();
        Ok(ids.iter().map(|id| state.tracks.get(id).cloned()).collect())
    }

    async fn listener(&self, user_id: &str, recent: usize) -> Result<Listener, StoreError> {
        let state = self.state();
        let recent = state
            .sets
            .get(&SetKey::Recent(user_id.to_owned()))
            .map(|s| s.top(recent))
            .unwrap_or_default();
        let of = Versioned::Listener(user_id.to_owned());
        Ok(Listener {
            version: state.versions.get(&of).copied().unwrap_or(0),
            // times were written as whole ms
            recent: recent.into_iter().map(|(t, at)| (t, at as i64)).collect(),
        })
    }

    async fn version(&self, of: &Versioned) -> Result<u64, StoreError> {
        Ok(self.state().versions.get(of).copied().unwrap_or(0))
    }

    async fn sizes(&self, keys: &[SetKey]) -> Result<Vec<usize>, StoreError> {
        let state = self.state();
        Ok(keys
            .iter()
            .map(|key| state.sets.get(key).map_or(0, |s| s.scores.len()))
            .collect())
    }
}
