//! Start-up first: a stream's first audio goes out before other streams read further ahead.
//!
//! When many listeners start at once (a client fleet reconnecting after a deploy, a release
//! everyone presses play on), every started stream fills its consumer's buffer at the same
//! moment: each moves ~10 s of audio through protobuf, HTTP/2 and the socket, and the CPU is
//! shared equally between that read-ahead and the first chunks of streams that have not been
//! heard yet, so the 500th listener's first chunk waited behind ~500 read-aheads
//! (BENCHMARKS.md, "StreamAudio's first chunk"). A listener who hears nothing yet gains most
//! from the CPU; one already playing holds seconds of audio. So while any stream is still
//! starting (has not handed its first [`FIRST_BYTES`] to the transport), the other streams'
//! readers hold back their next read, each time for at most `max_wait`: bounded, so a steady
//! flow of starts, or callers that open streams and never read them, slow read-ahead to one
//! chunk per `max_wait` (64 KiB per 200 ms by default: 16x a 160 kbit/s stream) and never
//! stop it. HTTP/2's own priorities cannot do this: they order frames already encoded on one
//! connection, not the work of producing them, and the streams start on many connections.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

use crate::delivery::CHUNK;

/// Bytes a stream hands out before it stops counting as starting: one whole chunk, seconds
/// of audio at any quality (a first chunk may be only the container's headers).
pub(crate) const FIRST_BYTES: u64 = CHUNK;

/// The streams of this process that are starting, and a wake-up for the readers waiting on
/// them; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Starts {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    starting: AtomicUsize,
    none_starting: Notify,
    max_wait: Duration,
}

impl Starts {
    /// Readers give way to starting streams for at most `max_wait` per read (zero: never).
    pub(crate) fn new(max_wait: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                starting: AtomicUsize::new(0),
                none_starting: Notify::new(),
                max_wait,
            }),
        }
    }

    /// Counts a stream as starting until the returned guard is dropped.
    pub(crate) fn begin(&self) -> Starting {
        self.inner.starting.fetch_add(1, Ordering::AcqRel);
        Starting {
            inner: Some(Arc::clone(&self.inner)),
        }
    }

    /// Waits until no stream is starting, or `max_wait`, whichever comes first.
    pub(crate) async fn give_way(&self) {
        let inner = &self.inner;
        if inner.max_wait.is_zero() || inner.starting.load(Ordering::Acquire) == 0 {
            return;
        }
        let none_starting = inner.none_starting.notified();
        tokio::pin!(none_starting);
        // Registered before the second look, so a last start ending in between still wakes us.
        none_starting.as_mut().enable();
        if inner.starting.load(Ordering::Acquire) == 0 {
            return;
        }
        let _ = tokio::time::timeout(inner.max_wait, none_starting).await;
    }
}

/// A stream counted as starting; [`Starting::done`] or dropping it ends that.
#[derive(Debug)]
pub(crate) struct Starting {
    inner: Option<Arc<Inner>>,
}

impl Starting {
    /// The stream has handed out its first audio: readers waiting on it may go on.
    pub(crate) fn done(&mut self) {
        if let Some(inner) = self.inner.take()
            && inner.starting.fetch_sub(1, Ordering::AcqRel) == 1
        {
            inner.none_starting.notify_waiters();
        }
    }
}

impl Drop for Starting {
    fn drop(&mut self) {
        self.done();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[tokio::test]
    async fn nothing_starting_means_no_wait() {
        let starts = Starts::new(Duration::from_secs(60));
        let began = Instant::now();
        starts.give_way().await;
        drop(starts.begin());
        starts.give_way().await;
        assert!(began.elapsed() < Duration::from_secs(30));
    }

    #[tokio::test]
    async fn readers_wait_until_the_last_start_is_done() {
        let starts = Starts::new(Duration::from_secs(3600));
        let (mut first, mut second) = (starts.begin(), starts.begin());
        let waiting = tokio::spawn({
            let starts = starts.clone();
            async move { starts.give_way().await }
        });
        first.done();
        first.done(); // twice counts once
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "one stream is still starting");
        second.done();
        tokio::time::timeout(Duration::from_secs(60), waiting)
            .await
            .expect("woken when none is starting")
            .expect("no panic");
    }

    #[tokio::test(start_paused = true)]
    async fn a_start_that_never_ends_delays_a_read_by_max_wait_only() {
        let starts = Starts::new(Duration::from_millis(200));
        let _stuck = starts.begin();
        let began = tokio::time::Instant::now();
        starts.give_way().await;
        assert_eq!(began.elapsed(), Duration::from_millis(200));
    }

    #[tokio::test(start_paused = true)]
    async fn zero_max_wait_turns_it_off() {
        let starts = Starts::new(Duration::ZERO);
        let _stuck = starts.begin();
        let began = tokio::time::Instant::now();
        starts.give_way().await;
        assert_eq!(began.elapsed(), Duration::ZERO);
    }
}
