//! The event ids the embedded store applied, remembered for the dedup TTL as Redis remembers
//! them (`store/redis.rs`): one set per seventh of the TTL of wall-clock time, a set dropped
//! once its newest id is a TTL old. An id is refused again for at least the TTL and at most a
//! seventh more, and the ids of a long-running `tunemesh up` no longer grow with every play.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use crate::store::redis::SEEN_BUCKETS;

/// Sets the TTL is split into: the Redis store's number.
const BUCKETS: u64 = SEEN_BUCKETS as u64;

/// Applied event ids by the stretch of wall-clock time they were applied in.
#[derive(Debug)]
pub(super) struct Seen {
    /// Wall-clock time one set covers, in ms (at least 1).
    bucket_ms: u64,
    /// Oldest first: (bucket number, ids applied in it).
    buckets: VecDeque<(u64, HashSet<String>)>,
}

impl Default for Seen {
    fn default() -> Self {
        Self::new(crate::settings::RecoSettings::default().dedup_ttl)
    }
}

impl Seen {
    /// Remembers ids for `ttl` (up to a seventh more).
    pub(super) fn new(ttl: Duration) -> Self {
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        Self {
            bucket_ms: (ttl_ms / BUCKETS).max(1),
            buckets: VecDeque::new(),
        }
    }

    /// Whether `id` was applied within the window.
    pub(super) fn contains(&self, id: &str) -> bool {
        self.buckets.iter().any(|(_, ids)| ids.contains(id))
    }

    /// Records `id` as applied at `now_ms` and forgets the sets that are a TTL old.
    pub(super) fn insert(&mut self, id: String, now_ms: u64) {
        self.insert_all(std::iter::once(id), now_ms);
    }

    /// Records `ids` as applied at `now_ms` (see [`Seen::insert`]).
    fn insert_all(&mut self, ids: impl IntoIterator<Item = String>, now_ms: u64) {
        let bucket = now_ms / self.bucket_ms;
        self.forget_before(bucket);
        match self.buckets.back_mut() {
            // A clock that stepped back files the ids with the newest set.
            Some((newest, set)) if *newest >= bucket => set.extend(ids),
            _ => self.buckets.push_back((bucket, ids.into_iter().collect())),
        }
    }

    /// Drops the sets that are a TTL old at `bucket`: a set's newest id is at most the end of
    /// its bucket, so it is a TTL old once `BUCKETS` whole buckets have passed since.
    fn forget_before(&mut self, bucket: u64) {
        while self
            .buckets
            .front()
            .is_some_and(|(b, _)| b.saturating_add(BUCKETS) < bucket)
        {
            self.buckets.pop_front();
        }
    }

    /// Every remembered id with the latest time it can have been applied (the end of its
    /// set's stretch, in ms), for the snapshot: times, not bucket numbers, so a snapshot
    /// still means the same after `dedup_ttl` changed.
    pub(super) fn buckets(&self) -> Vec<(u64, Vec<&str>)> {
        self.buckets
            .iter()
            .map(|(b, ids)| {
                let end = b.saturating_add(1).saturating_mul(self.bucket_ms) - 1;
                (end, ids.iter().map(String::as_str).collect())
            })
            .collect()
    }

    /// Puts back what [`Seen::buckets`] saved, dropping what expired while the process was
    /// stopped; ids saved without a time (by a snapshot written before buckets) count as
    /// applied now, so they are kept for a whole TTL.
    pub(super) fn restore(&mut self, mut saved: Vec<(u64, Vec<String>)>, unbucketed: Vec<String>) {
        let now = now_ms();
        saved.sort_by_key(|(at, _)| *at);
        for (at, ids) in saved {
            self.insert_all(ids, at.min(now));
        }
        if !unbucketed.is_empty() {
            self.insert_all(unbucketed, now);
        }
        self.forget_before(now / self.bucket_ms);
    }

    /// How many ids are remembered.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.buckets.iter().map(|(_, ids)| ids.len()).sum()
    }
}

/// Wall-clock milliseconds since the Unix epoch (0 before it).
pub(super) fn now_ms() -> u64 {
    u64::try_from(tunemesh_runtime::clock::now_ms()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(7 * 60);
    const MINUTE: u64 = 60_000;

    #[test]
    fn an_id_is_refused_for_the_ttl_and_forgotten_a_seventh_later() {
        let mut seen = Seen::new(TTL);
        let start = 1_000 * MINUTE;
        seen.insert("e1".into(), start);
        // Applied ids keep coming, as on a live feed.
        for minute in 1..=7 {
            seen.insert(format!("later{minute}"), start + minute * MINUTE);
            assert!(seen.contains("e1"), "forgotten after {minute} min");
        }
        seen.insert("late".into(), start + 9 * MINUTE);
        assert!(
            !seen.contains("e1"),
            "remembered past the TTL and a seventh"
        );
        assert!(seen.contains("late") && seen.contains("later7"));
    }

    #[test]
    fn memory_is_bounded_by_the_ids_of_one_ttl() {
        let mut seen = Seen::new(TTL);
        // One id a second for an hour, the TTL being seven minutes.
        for second in 0..3_600u64 {
            seen.insert(format!("e{second}"), second * 1_000);
        }
        assert!(seen.len() <= 8 * 60, "{} ids kept", seen.len());
        assert!(seen.len() >= 7 * 60, "{} ids kept", seen.len());
    }

    /// What a snapshot saves of `seen`, as it reads it back.
    fn saved(seen: &Seen) -> Vec<(u64, Vec<String>)> {
        let owned = |ids: Vec<&str>| ids.into_iter().map(str::to_owned).collect();
        seen.buckets()
            .into_iter()
            .map(|(end, ids)| (end, owned(ids)))
            .collect()
    }

    #[test]
    fn saved_buckets_come_back_and_old_unbucketed_ids_stay_a_ttl() {
        let mut seen = Seen::new(TTL);
        let now = now_ms();
        seen.insert("e1".into(), now);
        let mut back = Seen::new(TTL);
        back.restore(saved(&seen), vec!["old".into()]);
        assert!(back.contains("e1") && back.contains("old"));

        // Ids older than the TTL are dropped on the way in.
        let mut stale = Seen::new(TTL);
        stale.restore(vec![(now - 9 * MINUTE, vec!["ancient".into()])], Vec::new());
        assert!(!stale.contains("ancient"));

        // Saved under one TTL and loaded under another, an id keeps its time.
        let mut longer = Seen::new(TTL * 24);
        longer.restore(saved(&seen), Vec::new());
        assert!(longer.contains("e1"));
    }
}
