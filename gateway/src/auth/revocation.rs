//! Sessions ended before their access tokens expire (logout, a reused refresh token), so those
//! tokens are refused at once instead of living out their lifetime.
//!
//! Every access token names its session (`sid`, the refresh-token family). Checking the
//! account store on every request would put a database round trip on every audio segment;
//! instead each replica keeps the set of recently ended sessions in memory (a hash lookup per
//! request). A logout adds its session here at once; every replica also polls the store for
//! sessions ended elsewhere ([`Revocations::poll`], every `revocation_poll`), so a token
//! revoked on one gateway is refused by the others within one poll. An entry is forgotten once
//! every access token of its session has expired anyway.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use crate::accounts::{AccountStore, StoreError};
use tunemesh_runtime::clock::now_ms;

/// Re-read this much before the previous poll: replicas' clocks differ a little and a
/// revocation may commit after a later one was read.
const POLL_OVERLAP_MS: i64 = 30_000;

/// The sessions ended recently, shared by every clone.
#[derive(Clone)]
pub struct Revocations {
    /// Session id → when it can be forgotten (ms since the epoch).
    ended: Arc<RwLock<HashMap<String, i64>>>,
    /// Revocations up to this instant (ms) have been read from the store.
    read_until_ms: Arc<Mutex<i64>>,
    /// How long an entry matters: an access token's lifetime plus leeway.
    keep_ms: i64,
}

impl std::fmt::Debug for Revocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Revocations")
            .field("ended", &self.len())
            .finish_non_exhaustive()
    }
}

impl Revocations {
    /// An empty set for access tokens living `access_ttl`.
    pub fn new(access_ttl: Duration) -> Self {
        let keep_ms = i64::try_from(access_ttl.as_millis())
            .unwrap_or(i64::MAX / 2)
            .saturating_add(POLL_OVERLAP_MS);
        Self {
            ended: Arc::default(),
            // The first poll reads every revocation whose tokens may still be live.
            read_until_ms: Arc::new(Mutex::new(now_ms().saturating_sub(keep_ms))),
            keep_ms,
        }
    }

    /// Whether session `sid` has ended.
    pub fn is_revoked(&self, sid: &str) -> bool {
        self.ended
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(sid)
    }

    /// Records that session `sid` ended at `at_ms`.
    pub fn revoke(&self, sid: String, at_ms: i64) {
        let forget_at = at_ms.saturating_add(self.keep_ms);
        self.ended
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(sid, forget_at);
    }

    /// Reads the sessions ended since the last poll (on any replica) and forgets the ones
    /// whose tokens have all expired.
    pub async fn poll(&self, store: &dyn AccountStore) -> Result<(), StoreError> {
        let started = now_ms();
        let since = *self
            .read_until_ms
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let ended = store
            .revoked_since(since.saturating_sub(POLL_OVERLAP_MS))
            .await?;
        for (sid, at_ms) in ended {
            self.revoke(sid, at_ms);
        }
        *self
            .read_until_ms
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = started;
        self.ended
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, forget_at| *forget_at > started);
        Ok(())
    }

    /// Number of sessions remembered.
    pub fn len(&self) -> usize {
        self.ended
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether none is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revoked_session_is_remembered_for_its_tokens_lifetime() {
        let revocations = Revocations::new(Duration::from_secs(60));
        assert!(!revocations.is_revoked("s1"));
        revocations.revoke("s1".into(), now_ms());
        assert!(revocations.is_revoked("s1"));
        assert!(!revocations.is_revoked("s2"));
        revocations.revoke("old".into(), now_ms() - 10 * 60_000);
        revocations
            .ended
            .write()
            .expect("lock")
            .retain(|_, forget_at| *forget_at > now_ms());
        assert!(!revocations.is_revoked("old"));
    }
}
