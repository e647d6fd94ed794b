//! How much counted play time each user has left: one listener hears one thing at a time, so
//! across all of a user's sessions, counted plays cannot outrun the wall clock.
//!
//! A token bucket per user, one token per 100 ms of listening, refilled in real time up to
//! `burst`; a play that counts takes what counting it required (30 s, or the whole of a
//! shorter track). Many parallel sessions of one user therefore count one after another at
//! the pace of real time, not all at once. `governor` keeps the buckets (the gateway's rate
//! limits use it too).
//!
//! Buckets live in memory, per replica: with N player replicas a user spreading sessions
//! over all of them gets up to N times real time, and a restart refills every bucket. Exact
//! global budgets would need a row per user in the store, written on every counted play.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// One token is this much listening.
const TOKEN: Duration = Duration::from_millis(100);

/// The play-time buckets of every user seen recently.
#[derive(Debug, Clone)]
pub(crate) struct PlayBudget {
    buckets: Arc<DefaultKeyedRateLimiter<String>>,
}

impl PlayBudget {
    /// Buckets that refill in real time and hold at most `burst` of listening, never less
    /// than one whole counted play plus a second (or no play could ever count).
    pub(crate) fn new(burst: Duration) -> Self {
        let floor = Duration::from_micros(
            u64::try_from(crate::play_sessions::PLAY_THRESHOLD_US).unwrap_or(0) + 1_000_000,
        );
        let burst = tokens(burst.max(floor));
        // `TOKEN` is not zero, so `with_period` always gives a quota.
        let quota = Quota::with_period(TOKEN).map_or_else(
            || Quota::per_second(NonZeroU32::MIN),
            |quota| quota.allow_burst(burst),
        );
        Self {
            buckets: Arc::new(RateLimiter::keyed(quota)),
        }
    }

    /// Takes `heard_us` of listening from `user`'s bucket; false (and nothing taken) when the
    /// bucket holds less, i.e. the user has already counted as much as real time allows.
    pub(crate) fn take(&self, user: &str, heard_us: i64) -> bool {
        let heard = Duration::from_micros(u64::try_from(heard_us).unwrap_or(0));
        matches!(
            self.buckets.check_key_n(&user.to_owned(), tokens(heard)),
            Ok(Ok(()))
        )
    }

    /// Forgets buckets that are full again, so memory follows the recently active users.
    pub(crate) fn prune(&self) {
        self.buckets.retain_recent();
    }
}

/// `d` in tokens, rounded up, at least one.
fn tokens(d: Duration) -> NonZeroU32 {
    let n = d.as_millis().div_ceil(TOKEN.as_millis());
    NonZeroU32::new(u32::try_from(n).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_counts_no_more_than_the_burst_at_once() {
        let budget = PlayBudget::new(Duration::from_secs(45));
        assert!(budget.take("u", 30_000_000));
        assert!(!budget.take("u", 30_000_000), "only 15 s are left");
        assert!(budget.take("u", 9_000_000), "a short track still fits");
        assert!(
            budget.take("someone-else", 30_000_000),
            "buckets are per user"
        );
    }

    #[test]
    fn the_burst_never_drops_below_one_play() {
        let budget = PlayBudget::new(Duration::ZERO);
        assert!(budget.take("u", 30_000_000));
    }
}
