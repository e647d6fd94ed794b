//! Failed `/rest` sign-ins per user name (`gateway.subsonic.failures_per_user`), besides the
//! per-address bucket (`rate_limits.auth_per_ip`): a botnet guessing one user's password from
//! many addresses spends one shared bucket.
//!
//! As for the login limits (`crate::ratelimit::login`), a plain per-user lock would let anyone
//! lock the owner out of every app by sending wrong passwords: addresses that signed in as the
//! user before (kept [`KNOWN_FOR`]) skip the bucket, so the owner's phone and home keep
//! working while strangers wait; an attacker becomes known only by knowing a secret.
//!
//! Memory is bounded whatever names are sent: buckets and known addresses are moka caches
//! with a capacity (a name of a user who does not exist costs one entry like any other, and
//! eviction favours frequently touched entries, so a flood of random names does not push out
//! the bucket of a user under attack), keys are cut to [`MAX_NAME_CHARS`], and a bucket is
//! dropped once idle long enough to be full again (then it is the same as no bucket).

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::ratelimit::login::KNOWN_FOR;
use crate::settings::Quota;

/// User names with a bucket remembered at most.
const BUCKETS_CAPACITY: u64 = 50_000;
/// (user name, address) pairs remembered as known at most.
const KNOWN_CAPACITY: u64 = 200_000;
/// Longest user name kept as a key: longer than any account's (3 to 32 characters).
pub(crate) const MAX_NAME_CHARS: usize = 33;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The per-user-name failure buckets of one gateway replica.
#[derive(Debug)]
pub(crate) struct UserFailures {
    /// Tokens per second and burst; `None` when turned off.
    rate: Option<(f64, f64)>,
    buckets: moka::sync::Cache<String, Arc<Mutex<Bucket>>>,
    known: moka::sync::Cache<(String, IpAddr), ()>,
}

impl UserFailures {
    /// Buckets of `quota` per user name.
    pub(crate) fn new(quota: Quota) -> Self {
        let rate = (quota.per_minute > 0).then(|| {
            let burst = if quota.burst == 0 {
                quota.per_minute
            } else {
                quota.burst
            };
            (f64::from(quota.per_minute) / 60.0, f64::from(burst))
        });
        // Idle this long, a bucket is full again: forgetting it changes nothing.
        let refill = rate.map_or(Duration::from_secs(60), |(per_second, burst)| {
            Duration::from_secs_f64((burst / per_second).clamp(1.0, 86_400.0))
        });
        Self {
            rate,
            buckets: moka::sync::Cache::builder()
                .max_capacity(BUCKETS_CAPACITY)
                .time_to_idle(refill)
                .build(),
            known: moka::sync::Cache::builder()
                .max_capacity(KNOWN_CAPACITY)
                .time_to_live(KNOWN_FOR)
                .build(),
        }
    }

    /// How long `client` must wait before it may sign in as `user` again: `None` unless the
    /// name's bucket is empty and `client` never signed in as `user`.
    pub(crate) fn blocked(&self, user: &str, client: IpAddr) -> Option<Duration> {
        let (per_second, burst) = self.rate?;
        let key = key(user);
        if self.known.contains_key(&(key.clone(), client)) {
            return None;
        }
        let bucket = self.buckets.get(&key)?;
        let mut bucket = bucket
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        refill(&mut bucket, per_second, burst);
        (bucket.tokens < 1.0).then(|| wait(&bucket, per_second))
    }

    /// Counts a failed sign-in as `user` from `client` (unless `client` is known for it).
    pub(crate) fn failed(&self, user: &str, client: IpAddr) {
        let Some((per_second, burst)) = self.rate else {
            return;
        };
        let key = key(user);
        if self.known.contains_key(&(key.clone(), client)) {
            return;
        }
        let bucket = self.buckets.get_with(key, || {
            Arc::new(Mutex::new(Bucket {
                tokens: burst,
                at: Instant::now(),
            }))
        });
        let mut bucket = bucket
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        refill(&mut bucket, per_second, burst);
        bucket.tokens = (bucket.tokens - 1.0).max(0.0);
    }

    /// Records that `client` signed in as `user` with a right secret.
    pub(crate) fn signed_in(&self, user: &str, client: IpAddr) {
        if self.rate.is_some() {
            self.known.insert((key(user), client), ());
        }
    }
}

fn key(user: &str) -> String {
    user.chars()
        .take(MAX_NAME_CHARS)
        .flat_map(char::to_lowercase)
        .collect()
}

fn refill(bucket: &mut Bucket, per_second: f64, burst: f64) {
    let now = Instant::now();
    let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
    bucket.tokens = (bucket.tokens + elapsed * per_second).min(burst);
    bucket.at = now;
}

fn wait(bucket: &Bucket, per_second: f64) -> Duration {
    Duration::from_secs_f64(((1.0 - bucket.tokens) / per_second).max(0.001))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([198, 51, 100, n])
    }

    #[test]
    fn many_addresses_share_a_name_s_bucket_but_known_ones_skip_it() {
        let failures = UserFailures::new(Quota {
            per_minute: 1,
            burst: 3,
        });
        failures.signed_in("Ann", ip(200));
        failures.failed("ann", ip(1));
        failures.failed("ann", ip(2));
        assert!(failures.blocked("ann", ip(4)).is_none());
        failures.failed("ANN", ip(3));
        let wait = failures.blocked("ann", ip(4)).expect("a new address waits");
        assert!(wait > Duration::from_secs(50), "{wait:?}");
        assert!(
            failures.blocked("ann", ip(200)).is_none(),
            "the owner does not"
        );
        for _ in 0..10 {
            failures.failed("ann", ip(200));
        }
        assert!(failures.blocked("bob", ip(4)).is_none(), "per user name");
    }

    #[test]
    fn long_names_are_cut_and_a_zero_rate_turns_it_off() {
        let failures = UserFailures::new(Quota {
            per_minute: 1,
            burst: 1,
        });
        let long = "x".repeat(10_000);
        failures.failed(&long, ip(1));
        assert!(failures.blocked(&long, ip(1)).is_some());
        let other = format!("{}y", "x".repeat(MAX_NAME_CHARS));
        assert!(failures.blocked(&other, ip(2)).is_some(), "same cut key");
        assert_eq!(key(&long).len(), MAX_NAME_CHARS);

        let off = UserFailures::new(Quota {
            per_minute: 0,
            burst: 0,
        });
        for _ in 0..100 {
            off.failed("ann", ip(1));
        }
        assert!(off.blocked("ann", ip(1)).is_none());
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_names() {
        let failures = UserFailures::new(Quota {
            per_minute: 1,
            burst: 1,
        });
        for n in 0..(BUCKETS_CAPACITY + 5_000) {
            failures.failed(&format!("user{n}"), ip(1));
        }
        failures.buckets.run_pending_tasks();
        assert!(failures.buckets.entry_count() <= BUCKETS_CAPACITY);
    }
}
