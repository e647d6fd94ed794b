//! One balancer shared by every clone of a mesh channel, without a task in between.
//!
//! tower's `Buffer` let clones share the balancer by handing each request to a worker task
//! that owned it: every call paid a channel send and two wake-ups across threads, on top of
//! the same again inside tonic's own channel, which made the mesh's unary call about a fifth
//! dearer than a direct channel's (BENCHMARKS.md "Mesh channel"). Here each call takes the
//! balancer for just long enough to wait for a ready endpoint and dispatch to it, on its own
//! task, then awaits its answer with the balancer released.
//!
//! While no endpoint is ready the caller holding the balancer waits with it held (its waker
//! is the one the balancer will wake), and the others queue behind it in order, as requests
//! queued in the buffer did; at most `capacity` calls wait at once, the rest wait for room.
//! Every wait is inside the call's future, so the fail-fast timeout above bounds it.

use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::{Mutex, Semaphore};
use tonic::body::Body;
use tower::util::BoxService;
use tower::{Service as _, ServiceExt as _};

use super::error::BoxError;

/// The future of a balancer's call.
pub(crate) type PoolFuture = BoxFuture<'static, Result<http::Response<Body>, BoxError>>;

/// What a pool shares: a boxed balancer.
type Balancer = BoxService<http::Request<Body>, http::Response<Body>, BoxError>;

/// A balancer shared by its clones (the wait for an endpoint is in the call).
#[derive(Clone)]
pub(crate) struct Shared {
    inner: Arc<Inner>,
}

struct Inner {
    balancer: Mutex<Balancer>,
    /// Calls that may wait for an endpoint at once (`mesh.buffer`).
    room: Semaphore,
}

impl Shared {
    /// Shares `balancer`, letting at most `capacity` calls wait for it at once.
    pub(crate) fn new(balancer: Balancer, capacity: usize) -> Self {
        let inner = Inner {
            balancer: Mutex::new(balancer),
            room: Semaphore::new(capacity.max(1)),
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Calls the balancer with `req`: waits for room, then for the balancer and a ready
    /// endpoint, dispatches, and leaves the answer to be awaited with the balancer released.
    pub(crate) fn dispatch(&self, req: http::Request<Body>) -> PoolFuture {
        let inner = self.inner.clone();
        Box::pin(async move {
            let answer = {
                // Never closed: the semaphore lives as long as this pool.
                let _room = inner.room.acquire().await?;
                let mut balancer = inner.balancer.lock().await;
                balancer.ready().await?.call(req)
            };
            answer.await
        })
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("room", &self.inner.room.available_permits())
            .finish_non_exhaustive()
    }
}
