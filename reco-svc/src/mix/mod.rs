//! The mixer: a daily mix per listener ("Made for you"), made from the model and stored as a
//! generated playlist in playlist-svc (through its API: [`target`]).
//!
//! **When a listener gets a new mix.** Every taste event the feed applies (a counted play,
//! a like or unlike, an item added to or removed from one of their playlists) adds one to
//! their count in [`SetKey::TasteChanges`]. A listener is *due* when their count grew by at
//! least `min_taste_changes` since their last mix ([`SetKey::MixedTaste`]) and their last mix
//! ([`SetKey::MixedAt`]) is at least `refresh_after` (a day) old, or they have none. So a mix
//! changes at most once a day, and only for listeners whose taste moved.
//!
//! **Bounded.** Every `interval` a round looks at the listeners with the most taste events
//! (at most `scan_limit`), queues at most `queue` due ones and mixes them with at most
//! `concurrency` at a time; who does not fit waits for the next round. Time is the
//! [`Clock`]'s, which tests set.
//!
//! **What a mix holds.** `Recommend`'s ranking for the listener (co-listening, playlists,
//! what follows what, popularity; artists varied) interleaved with their own favourites (the
//! top of their taste), `size` tracks at most. Never a track they turned from: skipped
//! lately, or with no taste left (skips and unlikes subtract from it).

pub mod target;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use serde::Deserialize;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tunemesh_proto::reco::v1::RecommendRequest;
use tunemesh_runtime::clock::Clock;

use crate::service::Recommender;
use crate::store::{Op, RecoStore, SetKey, StoreError, WriteBatch};
use target::{Mix, MixTarget};

/// The kind of the generated playlist the mixer writes.
pub const DAILY_MIX: &str = "daily-mix";

/// Settings of the mixer (`[reco.mix]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MixSettings {
    /// Whether the mixer runs.
    pub enabled: bool,
    /// How often a round looks for due listeners.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// Taste events since the last mix that make a listener due.
    pub min_taste_changes: u32,
    /// How old a listener's last mix must be before another.
    #[serde(with = "humantime_serde")]
    pub refresh_after: Duration,
    /// Tracks in a mix, at most (1 to 100).
    pub size: u32,
    /// Listeners with the most taste events looked at per round.
    pub scan_limit: usize,
    /// Due listeners mixed per round, at most.
    pub queue: usize,
    /// Mixes made at once.
    pub concurrency: usize,
    /// Bound on each call to playlist-svc.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for MixSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            interval: Duration::from_secs(5 * 60),
            min_taste_changes: 10,
            refresh_after: Duration::from_secs(24 * 3600),
            size: 40,
            scan_limit: 10_000,
            queue: 256,
            concurrency: 4,
            timeout: Duration::from_secs(5),
        }
    }
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Round {
    /// Listeners whose mix was made and stored.
    pub mixed: Vec<String>,
    /// Due listeners the model had nothing to mix for.
    pub empty: usize,
    /// Due listeners whose mix failed (tried again next round).
    pub failed: usize,
}

/// Makes the daily mixes.
#[derive(Debug, Clone)]
pub struct Mixer {
    store: Arc<dyn RecoStore>,
    recommender: Arc<dyn Recommender>,
    target: Arc<dyn MixTarget>,
    settings: MixSettings,
    clock: Clock,
}

impl Mixer {
    /// A mixer reading `store` and `recommender`, writing to `target`, timed by `clock`.
    pub fn new(
        store: Arc<dyn RecoStore>,
        recommender: Arc<dyn Recommender>,
        target: Arc<dyn MixTarget>,
        settings: MixSettings,
        clock: Clock,
    ) -> Self {
        Self {
            store,
            recommender,
            target,
            settings,
            clock,
        }
    }

    /// Runs a round every `interval` once `ready` (the feed caught up: a half-replayed model
    /// makes poor mixes), until `shutdown`.
    pub async fn run(self, mut ready: watch::Receiver<bool>, shutdown: CancellationToken) {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            caught_up = ready.wait_for(|ready| *ready) => if caught_up.is_err() { return },
        }
        let mut ticks = tokio::time::interval(self.settings.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticks.tick() => {}
            }
            match self.round().await {
                Ok(round) if !round.mixed.is_empty() || round.failed > 0 => {
                    tracing::info!(
                        mixed = round.mixed.len(),
                        failed = round.failed,
                        "daily mixes"
                    )
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "daily mix round failed"),
            }
        }
    }

    /// One round: finds the due listeners and mixes them.
    pub async fn round(&self) -> Result<Round, StoreError> {
        let now = self.clock.now_ms();
        let due = self.due(now).await?;
        let results: Vec<_> = futures::stream::iter(due)
            .map(|(user, count)| async move {
                let outcome = self.mix_one(&user, count, now).await;
                (user, outcome)
            })
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;
        let mut round = Round::default();
        for (user, outcome) in results {
            match outcome {
                Ok(true) => round.mixed.push(user),
                Ok(false) => round.empty += 1,
                Err(error) => {
                    tracing::warn!(%error, user_id = %user, "daily mix failed");
                    round.failed += 1;
                }
            }
        }
        metrics::counter!("tunemesh_reco_mixes_total").increment(round.mixed.len() as u64);
        round.mixed.sort();
        Ok(round)
    }

    /// The due listeners with their taste count now, at most `queue` of them.
    async fn due(&self, now: i64) -> Result<Vec<(String, f64)>, StoreError> {
        let counted = self
            .store
            .top(&[SetKey::TasteChanges], self.settings.scan_limit)
            .await?
            .pop()
            .unwrap_or_default()
            .entries;
        let users: Vec<String> = counted.iter().map(|(u, _)| u.clone()).collect();
        let (mixed_taste, mixed_at) = tokio::try_join!(
            self.store.scores(&SetKey::MixedTaste, &users),
            self.store.scores(&SetKey::MixedAt, &users),
        )?;
        let refresh_ms = i64::try_from(self.settings.refresh_after.as_millis()).unwrap_or(i64::MAX);
        let min = f64::from(self.settings.min_taste_changes);
        Ok(counted
            .into_iter()
            .zip(mixed_taste.into_iter().zip(mixed_at))
            .filter(|((_, count), (taste, at))| {
                let changed = count - taste.unwrap_or(0.0) >= min;
                // scores of ms times stay below 2^53
                let old = at.is_none_or(|at| now.saturating_sub(at as i64) >= refresh_ms);
                changed && old
            })
            .map(|(user, _)| user)
            .take(self.settings.queue)
            .collect())
    }

    /// Makes and stores `user`'s mix; false when the model has nothing for them yet.
    async fn mix_one(&self, user: &str, count: f64, now: i64) -> anyhow::Result<bool> {
        let size = self.settings.size.clamp(1, 100);
        let taste = self.taste(user, size as usize).await?;
        let recommended = self
            .recommender
            .recommend(
                user,
                RecommendRequest {
                    limit: size,
                    exclude_track_ids: taste.disliked,
                },
            )
            .await?;
        let recommended: Vec<String> = recommended
            .recommendations
            .into_iter()
            .map(|r| r.track_id)
            .collect();
        let track_ids = compose(&recommended, &taste.favourites, size as usize);
        if track_ids.is_empty() {
            return Ok(false);
        }
        let mix = Mix {
            user_id: user.to_owned(),
            kind: DAILY_MIX.to_owned(),
            name: "Daily Mix".to_owned(),
            description:
                "Made for you from what you play, like and collect; new every day your taste moves"
                    .to_owned(),
            track_ids,
        };
        self.target.put(&mix).await?;
        self.store.apply(&mixed(user, count, now)).await?;
        Ok(true)
    }

    /// `user`'s favourites (the top of their taste, at most `n`) and what they turned from:
    /// skipped lately, or taken out of their taste (a skip or an unlike left it at or
    /// below nothing).
    async fn taste(&self, user: &str, n: usize) -> Result<Taste, StoreError> {
        let keys = [
            SetKey::Taste(user.to_owned()),
            SetKey::Skips(user.to_owned()),
        ];
        let [taste, skips] =
            <[_; 2]>::try_from(self.store.top(&keys, usize::MAX).await?).unwrap_or_default();
        let mut disliked: Vec<String> = skips.entries.into_iter().map(|(t, _)| t).collect();
        let mut favourites = Vec::new();
        for (track, score) in taste.entries {
            if score <= 0.0 {
                disliked.push(track);
            } else if favourites.len() < n && !disliked.contains(&track) {
                favourites.push(track);
            }
        }
        disliked.truncate(MAX_EXCLUDE);
        Ok(Taste {
            favourites,
            disliked,
        })
    }
}

/// Tracks `Recommend` may be asked to leave out, at most.
const MAX_EXCLUDE: usize = 500;

/// What a listener's taste says for a mix.
#[derive(Debug, Default)]
struct Taste {
    /// Best first.
    favourites: Vec<String>,
    /// Never in their mix.
    disliked: Vec<String>,
}

/// The write that records `user`'s mix made at `now` with taste count `count`.
fn mixed(user: &str, count: f64, now: i64) -> WriteBatch {
    let set = |key: SetKey, score: f64| {
        [
            Op::Remove {
                key: key.clone(),
                member: user.to_owned(),
            },
            Op::Max {
                key,
                member: user.to_owned(),
                score,
            },
        ]
    };
    let mut ops = Vec::new();
    ops.extend(set(SetKey::MixedTaste, count));
    // times in ms stay below 2^53
    ops.extend(set(SetKey::MixedAt, now as f64));
    WriteBatch {
        event_id: format!("mix:{user}:{now}"),
        guard: None,
        ops,
    }
}

/// Recommendations and favourites taken in turn (two new, one known), each track once, at
/// most `size`.
pub fn compose(recommended: &[String], favourites: &[String], size: usize) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(size);
    let (mut new, mut known) = (recommended.iter(), favourites.iter());
    loop {
        let mut took = false;
        for from_new in [true, true, false] {
            if out.len() >= size {
                return out;
            }
            let source = if from_new { &mut new } else { &mut known };
            if let Some(track) = source.by_ref().find(|t| !seen.contains(*t)) {
                seen.insert(track.clone());
                out.push(track.clone());
                took = true;
            }
        }
        if !took {
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn a_mix_takes_two_new_tracks_for_each_known_one_without_repeats() {
        let mix = compose(&ids(&["a", "b", "c", "d"]), &ids(&["x", "a", "y"]), 6);
        assert_eq!(mix, ids(&["a", "b", "x", "c", "d", "y"]));
    }

    #[test]
    fn a_mix_is_cut_at_its_size_and_fills_from_what_is_left() {
        assert_eq!(compose(&ids(&["a", "b", "c"]), &[], 2), ids(&["a", "b"]));
        assert_eq!(compose(&[], &ids(&["x", "y"]), 5), ids(&["x", "y"]));
        assert!(compose(&[], &[], 5).is_empty());
    }
}
