//! Per-account caps on open audio streams (HTTP audio, segments, `StreamAudio`). Each open
//! stream holds one HTTP/2 stream to player-svc until its body ends or is dropped, so one
//! account opening hundreds and never reading them must not take every stream player-svc
//! allows. A permit is taken when the stream starts and given back when its body is dropped.
//!
//! The counts live in one map under a lock taken twice per stream (start and end), never per
//! chunk; the map holds only accounts with open streams.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tunemesh_runtime::ErrorCode;

use crate::error::ApiError;

/// Open streams per account, shared by the permits and every permit handed out.
type Counts = Arc<Mutex<HashMap<Arc<str>, usize>>>;

/// Open streams per account, up to a cap.
#[derive(Debug, Clone)]
pub struct StreamPermits {
    max: usize,
    open: Counts,
}

/// One open stream of an account; dropping it gives the place back.
#[derive(Debug)]
pub struct StreamPermit {
    owner: Option<(Arc<str>, Counts)>,
}

fn lock(open: &Mutex<HashMap<Arc<str>, usize>>) -> MutexGuard<'_, HashMap<Arc<str>, usize>> {
    // Plain counts: a poisoned lock still holds valid ones.
    open.lock().unwrap_or_else(|p| p.into_inner())
}

impl StreamPermits {
    /// At most `max` open streams per account; 0 disables the cap.
    pub fn new(max: usize) -> Self {
        Self {
            max,
            open: Arc::default(),
        }
    }

    /// A permit for one more stream of `user`, or RESOURCE_EXHAUSTED (429) when the account
    /// already has its maximum open.
    pub fn acquire(&self, user: &str) -> Result<StreamPermit, ApiError> {
        if self.max == 0 {
            return Ok(StreamPermit { owner: None });
        }
        let mut open = lock(&self.open);
        let key = match open.get_key_value(user) {
            Some((_, &count)) if count >= self.max => {
                drop(open);
                metrics::counter!("tunemesh_gateway_streams_refused_total").increment(1);
                return Err(ApiError::new(
                    ErrorCode::ResourceExhausted,
                    "too many audio streams open for this account, close one first",
                ));
            }
            Some((key, _)) => key.clone(),
            None => Arc::from(user),
        };
        *open.entry(key.clone()).or_insert(0) += 1;
        Ok(StreamPermit {
            owner: Some((key, self.open.clone())),
        })
    }

    /// Streams `user` has open.
    pub fn open(&self, user: &str) -> usize {
        lock(&self.open).get(user).copied().unwrap_or(0)
    }
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let Some((user, open)) = self.owner.take() else {
            return;
        };
        let mut open = lock(&open);
        if let Some(count) = open.get_mut(&user) {
            *count -= 1;
            if *count == 0 {
                open.remove(&user);
            }
        }
    }
}

/// A response body holding a [`StreamPermit`] until it ends or is dropped; frames pass
/// untouched.
#[derive(Debug)]
pub struct Held<B> {
    inner: B,
    _permit: StreamPermit,
}

impl<B> Held<B> {
    /// `inner`, holding `permit`.
    pub fn new(inner: B, permit: StreamPermit) -> Self {
        Self {
            inner,
            _permit: permit,
        }
    }
}

impl<B: http_body::Body + Unpin> http_body::Body for Held<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<B::Data>, B::Error>>> {
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_gets_its_cap_and_gets_a_place_back_when_a_stream_ends() {
        let permits = StreamPermits::new(2);
        let first = permits.acquire("ann").expect("first");
        let _second = permits.acquire("ann").expect("second");
        let refused = permits.acquire("ann").expect_err("over the cap");
        assert_eq!(refused.code(), ErrorCode::ResourceExhausted);
        let _bob = permits.acquire("bob").expect("caps are per account");
        drop(first);
        let _again = permits.acquire("ann").expect("a place was given back");
        assert_eq!(permits.open("ann"), 2);
    }

    #[test]
    fn no_cap_when_zero_and_no_entry_left_behind() {
        let permits = StreamPermits::new(0);
        let held: Vec<_> = (0..100)
            .map(|_| permits.acquire("ann").expect("no cap"))
            .collect();
        assert_eq!(permits.open("ann"), 0);
        drop(held);
        let permits = StreamPermits::new(1);
        drop(permits.acquire("ann").expect("one"));
        assert!(lock(&permits.open).is_empty());
    }
}
