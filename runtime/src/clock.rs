//! Wall-clock time as stores, events and tokens record it: whole milliseconds or seconds
//! since the Unix epoch, saturating instead of failing on a clock set before 1970.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A wall clock to hand to logic that waits in days (e.g. reco-svc's daily mixes): the
/// system's in production, one a test sets and moves (`Clock::manual`, feature `testsuite`).
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// `None`: the system clock; `Some`: a manual clock's milliseconds, shared by clones.
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that stands at `ms` until a test moves it; clones share it.
    #[cfg(feature = "testsuite")]
    pub fn manual(ms: i64) -> Self {
        Self {
            manual: Some(Arc::new(AtomicI64::new(ms))),
        }
    }

    /// Moves a manual clock on by `by` (no effect on the system clock).
    #[cfg(feature = "testsuite")]
    pub fn advance(&self, by: std::time::Duration) {
        if let Some(manual) = &self.manual {
            let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
            manual.fetch_add(by, Ordering::SeqCst);
        }
    }

    /// Milliseconds since the Unix epoch by this clock.
    pub fn now_ms(&self) -> i64 {
        match &self.manual {
            Some(manual) => manual.load(Ordering::SeqCst),
            None => now_ms(),
        }
    }
}

/// Milliseconds since the Unix epoch now; 0 if the clock is set before 1970.
pub fn now_ms() -> i64 {
    millis(SystemTime::now())
}

/// Seconds since the Unix epoch now (what JWT `iat`/`exp` count); 0 before 1970.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Milliseconds since the Unix epoch of `time`: 0 before it, `i64::MAX` far after.
pub fn millis(time: SystemTime) -> i64 {
    let millis = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    i64::try_from(millis).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn times_before_the_epoch_are_zero_and_far_ones_saturate() {
        assert_eq!(millis(UNIX_EPOCH - Duration::from_secs(1)), 0);
        assert_eq!(millis(UNIX_EPOCH + Duration::from_millis(1_500)), 1_500);
        let far = UNIX_EPOCH.checked_add(Duration::from_secs(1 << 60));
        assert_eq!(far.map(millis), Some(i64::MAX));
    }

    #[test]
    fn now_in_millis_and_seconds_agree() {
        let (ms, secs) = (now_ms(), now_secs());
        assert!(ms > 1_600_000_000_000);
        assert!(ms / 1000 - i64::try_from(secs).expect("fits") <= 1);
    }
}
