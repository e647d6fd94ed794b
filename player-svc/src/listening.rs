//! When each user was listening to a counted play, so that a play reported after the fact
//! (`ReportPlaybackRequest.past_play_started_at`, an app's offline batch) counts only where
//! the listener was free: one listener hears one thing at a time.
//!
//! Each counted play holds an interval of the user's time: what counting it needed (30 s,
//! or the whole of a shorter track, [`crate::play_sessions`]), never less than a second. A
//! past play holds it from its claimed start; a live one up to the moment it counted (its
//! heard time was all before that). Not the whole track: apps report plays they skipped
//! after a half, the next one starting before the first's end, and the real-time budget of
//! live plays ([`crate::play_budget`]) takes the same amount, so both bound a listener to
//! one counted play per 30 s of real time. Two intervals clash when they overlap by more
//! than the tolerance (apps' clocks drift by seconds), or by half the shorter one.
//!
//! Kept in memory, per replica, like the play budget: checking a claim against every
//! counted play of the user in the store would need a per-user lock across replicas and a
//! new index, on every report. So with N replicas a listener spreading overlapping claims
//! over all of them may count up to N of them, and a restart forgets the intervals (a
//! re-sent claim still counts once: that is the session store's idempotency, not this).
//! Bounded: intervals older than the oldest past play accepted are pruned, users without
//! any are forgotten, and a user holds at most [`MAX_PER_USER`]. A user at the bound claims
//! nothing more until old intervals are pruned (evicting them would let a claimant re-claim
//! the time they held); a live play still records, evicting the oldest (live plays come
//! at the pace of real time).

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};

/// Most intervals kept per user: two weeks of eight hours a day of four-minute songs fit.
pub(crate) const MAX_PER_USER: usize = 4096;
/// Shortest interval a counted play holds, ms.
const MIN_HELD_MS: i64 = 1000;

/// One held interval: its end and the session holding it (hashed), by start.
type Intervals = BTreeMap<i64, (i64, u64)>;

/// Why a claim holds nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Clash {
    /// Another counted play of the user's overlaps it.
    Overlap,
    /// The user holds [`MAX_PER_USER`] intervals already.
    Full,
}

impl Clash {
    /// Its label in `tunemesh_player_plays_held_back_total`.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Self::Overlap => "past_overlaps",
            Self::Full => "past_too_many",
        }
    }
}

/// The counted listening of every user seen recently.
#[derive(Debug, Clone)]
pub(crate) struct Listening {
    users: Arc<Mutex<HashMap<String, Intervals>>>,
    /// Overlap tolerated between two plays, ms.
    tolerance_ms: i64,
}

fn session_key(session_id: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    session_id.hash(&mut hasher);
    hasher.finish()
}

impl Listening {
    /// No intervals yet; plays may overlap by `tolerance_ms`.
    pub(crate) fn new(tolerance_ms: i64) -> Self {
        Self {
            users: Arc::new(Mutex::new(HashMap::new())),
            tolerance_ms: tolerance_ms.max(0),
        }
    }

    /// Holds `[start_ms, start_ms + held_ms]` of `user`'s time for `session` if no other
    /// session holds a clashing interval; nothing is held otherwise. Claiming again for the
    /// same session succeeds (a retried store transaction).
    pub(crate) fn claim(
        &self,
        user: &str,
        session: &str,
        start_ms: i64,
        held_ms: i64,
    ) -> Result<(), Clash> {
        let end_ms = start_ms.saturating_add(held_ms.max(MIN_HELD_MS));
        let key = session_key(session);
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        let intervals = users.entry(user.to_owned()).or_default();
        // Intervals are at most a counted play long, so only those starting within that
        // before `start_ms` can reach it.
        let from = start_ms.saturating_sub(crate::play_sessions::PLAY_THRESHOLD_US / 1000);
        let clash = intervals
            .range(from..end_ms)
            .any(|(&start, &(end, owner))| {
                let overlap = end.min(end_ms) - start.max(start_ms);
                let shorter = (end - start).min(end_ms - start_ms);
                owner != key && overlap > self.tolerance_ms.min(shorter / 2)
            });
        if clash {
            return Err(Clash::Overlap);
        }
        let again = intervals
            .get(&start_ms)
            .is_some_and(|&(_, owner)| owner == key);
        if intervals.len() >= MAX_PER_USER && !again {
            return Err(Clash::Full);
        }
        hold(intervals, start_ms, end_ms, key);
        Ok(())
    }

    /// Holds `[end_ms - held_ms, end_ms]` of `user`'s time for a live play that counted at
    /// `end_ms`, unchecked (live plays are held to the clock and the budget instead).
    pub(crate) fn record(&self, user: &str, session: &str, end_ms: i64, held_ms: i64) {
        let start_ms = end_ms.saturating_sub(held_ms.max(MIN_HELD_MS));
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        hold(
            users.entry(user.to_owned()).or_default(),
            start_ms,
            end_ms,
            session_key(session),
        );
    }

    /// Forgets intervals ending before `before_ms`, and users left without any.
    pub(crate) fn prune(&self, before_ms: i64) {
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        users.retain(|_, intervals| {
            intervals.retain(|_, (end, _)| *end >= before_ms);
            !intervals.is_empty()
        });
    }
}

fn hold(intervals: &mut Intervals, start_ms: i64, end_ms: i64, key: u64) {
    let held = intervals.entry(start_ms).or_insert((end_ms, key));
    held.0 = held.0.max(end_ms);
    while intervals.len() > MAX_PER_USER {
        intervals.pop_first();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_800_000_000_000;

    impl Listening {
        fn claim_ok(&self, user: &str, session: &str, start_ms: i64, held_ms: i64) -> bool {
            self.claim(user, session, start_ms, held_ms).is_ok()
        }
    }

    #[test]
    fn plays_overlapping_beyond_the_tolerance_clash() {
        let listening = Listening::new(5000);
        assert!(listening.claim_ok("u", "a", T0, 30_000));
        assert!(
            !listening.claim_ok("u", "b", T0 + 10_000, 30_000),
            "20 s overlap"
        );
        assert!(
            !listening.claim_ok("u", "c", T0, 30_000),
            "the same time, another play"
        );
        assert!(
            listening.claim_ok("u", "d", T0 + 26_000, 30_000),
            "4 s of drift"
        );
        assert!(
            listening.claim_ok("u", "e", T0 - 30_000, 30_000),
            "just before"
        );
        assert!(listening.claim_ok("someone-else", "f", T0, 30_000));
    }

    #[test]
    fn the_same_session_claims_again() {
        let listening = Listening::new(5000);
        assert!(listening.claim_ok("u", "a", T0, 30_000));
        assert!(listening.claim_ok("u", "a", T0, 30_000));
    }

    #[test]
    fn short_plays_tolerate_half_their_length() {
        let listening = Listening::new(5000);
        assert!(listening.claim_ok("u", "a", T0, 4000));
        assert!(
            !listening.claim_ok("u", "b", T0 + 1000, 4000),
            "3 s of 4 overlap"
        );
        assert!(listening.claim_ok("u", "c", T0 + 3000, 4000));
        assert!(listening.claim_ok("u", "d", T0 + 10_000, 0));
        assert!(
            !listening.claim_ok("u", "e", T0 + 10_000, 0),
            "held for a second at least"
        );
    }

    #[test]
    fn live_plays_hold_the_time_before_they_counted() {
        let listening = Listening::new(5000);
        listening.record("u", "live", T0 + 60_000, 30_000);
        assert!(!listening.claim_ok("u", "past", T0 + 40_000, 30_000));
        assert!(listening.claim_ok("u", "past", T0, 30_000));
    }

    #[test]
    fn old_intervals_and_idle_users_are_forgotten() {
        let listening = Listening::new(5000);
        assert!(listening.claim_ok("u", "a", T0, 30_000));
        listening.prune(T0 + 31_000);
        assert!(listening.claim_ok("u", "b", T0, 30_000));
        let users = listening
            .users
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        assert_eq!(users.len(), 1);
    }

    #[test]
    fn a_user_holds_a_bounded_number_of_intervals() {
        let listening = Listening::new(0);
        let max = MAX_PER_USER as i64;
        for i in 0..max {
            assert!(listening.claim_ok("u", &format!("s{i}"), T0 + i * 1000, 1000));
        }
        let more = listening.claim("u", "more", T0 + max * 1000, 1000);
        assert_eq!(more, Err(Clash::Full), "a full user claims nothing more");
        assert!(listening.claim_ok("u", "s1", T0 + 1000, 1000), "but again");
        listening.record("u", "live", T0 + (max + 10) * 1000, 1000);
        let users = listening
            .users
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let held = users.get("u");
        assert_eq!(held.map(BTreeMap::len), Some(MAX_PER_USER));
        assert!(
            held.is_some_and(|h| !h.contains_key(&T0)),
            "a live play evicts the oldest"
        );
    }
}
