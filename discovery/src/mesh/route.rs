//! Picks the pool for each call: the canary pool for a configured share, the stable one
//! otherwise; with no canary (or no stable) instance known, the other pool takes everything.

use std::fmt;
use std::task::{Context, Poll};

use tokio::sync::watch;
use tonic::body::Body;
use tower::Service;

use super::error::BoxError;
use super::shared::{PoolFuture, Shared};
use crate::registry::InstanceSet;

/// Always ready: readiness of the chosen pool is awaited inside the call, so the outer
/// fail-fast timeout covers it.
#[derive(Clone)]
pub(crate) struct Route {
    stable: Shared,
    canary: Option<Canary>,
}

#[derive(Clone)]
struct Canary {
    pool: Shared,
    share: f64,
    instances: watch::Receiver<InstanceSet>,
}

impl Route {
    /// All calls to one pool.
    pub(crate) fn single(pool: Shared) -> Self {
        Self {
            stable: pool,
            canary: None,
        }
    }

    /// `share` of calls to `canary`, the rest to `stable`, as long as both have instances.
    pub(crate) fn split(
        stable: Shared,
        canary: Shared,
        share: f64,
        instances: watch::Receiver<InstanceSet>,
    ) -> Self {
        let share = if share.is_finite() {
            share.clamp(0.0, 1.0)
        } else {
            0.0
        };
        Self {
            stable,
            canary: Some(Canary {
                pool: canary,
                share,
                instances,
            }),
        }
    }

    fn pick(&self) -> &Shared {
        let Some(canary) = &self.canary else {
            return &self.stable;
        };
        let (canaries, total) = {
            let set = canary.instances.borrow();
            (set.iter().filter(|i| i.is_canary()).count(), set.len())
        };
        if canaries == 0 {
            &self.stable
        } else if canaries == total || rand::random::<f64>() < canary.share {
            &canary.pool
        } else {
            &self.stable
        }
    }
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let share = self.canary.as_ref().map(|c| c.share);
        f.debug_struct("Route")
            .field("canary_share", &share)
            .finish_non_exhaustive()
    }
}

impl Service<http::Request<Body>> for Route {
    type Response = http::Response<Body>;
    type Error = BoxError;
    type Future = PoolFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        self.pick().dispatch(req)
    }
}
