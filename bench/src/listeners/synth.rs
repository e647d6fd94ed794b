//! Listeners whose histories follow MovieLens-100K: how many plays each listener has is drawn
//! from the data's per-user rating counts (times `scale`), and which track from its per-item
//! rating counts, each movie standing for `fanout` tracks of equal share (a catalogue larger
//! than the data's 1,682 movies, with the same head and tail). Plays come in sessions of a few
//! minutes apart, sessions hours to days apart, over the 30 days before `now_ms`.
//!
//! Everything is a function of the listener's number and the seed, so a size step adds
//! listeners without changing the ones before it.

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

use crate::reco_eval::movielens::Rating;

/// The distributions listeners are drawn from.
#[derive(Debug, Clone)]
pub struct Population {
    /// Plays per listener as in the data, one entry per MovieLens user.
    plays_per_user: Vec<usize>,
    /// Cumulative share of plays per movie (most rated first).
    item_cdf: Vec<f64>,
    fanout: usize,
    scale: f64,
    seed: u64,
    now_ms: i64,
}

/// One play of a generated listener.
#[derive(Debug, Clone, PartialEq)]
pub struct Play {
    /// The track's number (0-based, `< Population::tracks()`).
    pub track: usize,
    /// When (ms since the epoch).
    pub at_ms: i64,
}

const MINUTE_MS: i64 = 60_000;

impl Population {
    /// The distributions of `ratings`.
    pub fn from_ratings(ratings: &[Rating], fanout: usize, scale: f64, seed: u64) -> Self {
        let mut per_user: std::collections::HashMap<&str, usize> = Default::default();
        let mut per_item: std::collections::HashMap<&str, usize> = Default::default();
        for r in ratings {
            *per_user.entry(&r.user).or_default() += 1;
            *per_item.entry(&r.item).or_default() += 1;
        }
        let mut plays_per_user: Vec<usize> = per_user.into_values().collect();
        plays_per_user.sort_unstable();
        let mut items: Vec<usize> = per_item.into_values().collect();
        items.sort_unstable_by(|a, b| b.cmp(a));
        let total: usize = items.iter().sum();
        let mut sum = 0;
        let item_cdf = items
            .iter()
            .map(|n| {
                sum += n;
                sum as f64 / total as f64
            })
            .collect();
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Self {
            plays_per_user,
            item_cdf,
            fanout: fanout.max(1),
            scale,
            seed,
            now_ms,
        }
    }

    /// Tracks in the catalogue.
    pub fn tracks(&self) -> usize {
        self.item_cdf.len() * self.fanout
    }

    /// The mean plays per listener.
    pub fn mean_plays(&self) -> f64 {
        let sum: usize = self.plays_per_user.iter().map(|&n| self.scaled(n)).sum();
        sum as f64 / self.plays_per_user.len().max(1) as f64
    }

    fn scaled(&self, n: usize) -> usize {
        ((n as f64 * self.scale).round() as usize).max(1)
    }

    /// Listener `user`'s plays, oldest first.
    pub fn history(&self, user: usize) -> Vec<Play> {
        let mut rng =
            StdRng::seed_from_u64(self.seed ^ (user as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let n = self.scaled(self.plays_per_user[rng.random_range(0..self.plays_per_user.len())]);
        let mut at =
            self.now_ms - 30 * 24 * 60 * MINUTE_MS + rng.random_range(0..24 * 60 * MINUTE_MS);
        let mut plays = Vec::with_capacity(n);
        for _ in 0..n {
            let u: f64 = rng.random();
            let item = self
                .item_cdf
                .partition_point(|&c| c < u)
                .min(self.item_cdf.len() - 1);
            let track = item * self.fanout + rng.random_range(0..self.fanout);
            plays.push(Play { track, at_ms: at });
            // a track of 3 to 5 minutes, then now and then a new session hours to days later
            at += rng.random_range(3 * MINUTE_MS..5 * MINUTE_MS);
            if rng.random_bool(0.1) {
                at += rng.random_range(2 * 60 * MINUTE_MS..3 * 24 * 60 * MINUTE_MS);
            }
        }
        plays
    }
}

/// Listener `user`'s id: UUID-shaped, as the gateway's accounts are.
pub fn user_id(user: usize) -> String {
    let h = (user as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835) | 1;
    let s = format!("{h:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &s[..8],
        &s[8..12],
        &s[12..16],
        &s[16..20],
        &s[20..]
    )
}

/// Track `track`'s id: 32 hex digits, as the catalogue's are.
pub fn track_id(track: usize) -> String {
    format!(
        "{:032x}",
        (track as u128 + 1).wrapping_mul(0x2545_f491_4f6c_dd1d_6a09_e667_f3bc_c909)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ratings() -> Vec<Rating> {
        (0..40)
            .map(|i| Rating {
                user: format!("u{}", i % 4),
                item: format!("m{}", i % 7),
                rating: 4.0,
                at: i,
            })
            .collect()
    }

    #[test]
    fn a_listener_is_the_same_in_every_run_and_plays_in_order() {
        let population = Population::from_ratings(&ratings(), 10, 1.0, 7);
        assert_eq!(population.tracks(), 70);
        let a = population.history(3);
        assert_eq!(a, population.history(3));
        assert_eq!(a.len(), 10);
        assert!(a.windows(2).all(|w| w[0].at_ms < w[1].at_ms));
        assert!(a.iter().all(|p| p.track < 70));
    }

    #[test]
    fn ids_are_distinct_and_shaped_like_the_real_ones() {
        assert_ne!(user_id(1), user_id(2));
        assert_eq!(user_id(1).len(), 36);
        assert_eq!(track_id(0).len(), 32);
    }
}
