//! The mesh: one balanced, resilient channel per service, fed by a registry watch.
//!
//! Layers, outermost first (composed in `stack.rs`): trace context → fail-fast timeout
//! (deadline-aware) → error wrapper → canary route → shared balancer → p2c balance → breaker →
//! per-try timeout → PeakEWMA → metrics → two lazily opened HTTP/2 connections (`conn.rs`), one
//! for unary calls and one for long streams (`split.rs`). The breaker sits above PeakEWMA
//! (not below) so the load p2c compares can rank recently failing endpoints last.
//!
//! A replica that hangs (stops answering, connections open) costs no call: a retryable try
//! ends after a few times its endpoint's usual latency (`per_try.rs`), counts against the
//! endpoint (the breaker ejects it after a few and probes it back), and `retry.rs` retries
//! it; p2c then ranks the endpoint last, so the retry goes to another one. A call that is not
//! retryable and hangs until the mesh's own timeout counts against its endpoint too.

mod answer;
mod breaker;
mod classify;
mod conn;
mod discover;
mod error;
mod fail_fast;
mod metered;
mod per_try;
mod retry;
mod route;
mod shared;
mod split;
mod stack;
mod streams;
mod trace;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::body::Body;
use tower::Service;

pub use breaker::{Breaker, BreakerLayer, BreakerLoad};
pub use classify::grpc_status;
pub use conn::NoAnswer;
pub use error::{BoxError, MeshError, MeshErrorKind};
pub use fail_fast::LongCall;
pub use fail_fast::{FailFast, FailFastLayer};
pub use metered::{Metered, MeteredLayer};
pub use per_try::{PerTry, PerTryLayer, TryTimedOut};
pub use retry::{Idempotent, RetryChannel};
pub use split::{Split, Streaming};
pub use stack::EndpointLabels;
pub use trace::{HeaderInjector, TraceContext, TraceContextLayer, inject};

use crate::connect::MeshTls;
use crate::registry::InstanceSet;
use crate::{MeshSettings, Registry};

/// Hands out one shared [`MeshChannel`] per service. Clones share channels.
#[derive(Clone, Debug)]
pub struct Mesh {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Arc<dyn Registry>,
    settings: Arc<MeshSettings>,
    // The identity calls present; plaintext without it (tests of single services only).
    tls: Option<MeshTls>,
    // One channel per service, so every caller shares its balancer, breakers and budget.
    channels: Mutex<HashMap<String, MeshChannel>>,
    // Keep the per-service endpoint gauges current while no call polls the balancer.
    gauges: Mutex<Vec<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let gauges = self.gauges.get_mut().unwrap_or_else(|p| p.into_inner());
        gauges.iter().for_each(JoinHandle::abort);
    }
}

impl Mesh {
    /// A mesh discovering endpoints in `registry`.
    pub fn new(registry: Arc<dyn Registry>, settings: MeshSettings) -> Self {
        Self::build(registry, settings, None)
    }

    /// A mesh whose calls go over mutual TLS, presenting `tls`'s identity and checking that
    /// each endpoint is the service called.
    pub fn with_tls(registry: Arc<dyn Registry>, settings: MeshSettings, tls: MeshTls) -> Self {
        Self::build(registry, settings, Some(tls))
    }

    fn build(registry: Arc<dyn Registry>, settings: MeshSettings, tls: Option<MeshTls>) -> Self {
        let inner = Inner {
            registry,
            tls,
            settings: Arc::new(settings),
            channels: Mutex::new(HashMap::new()),
            gauges: Mutex::new(Vec::new()),
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The registry this mesh discovers from.
    pub fn registry(&self) -> &Arc<dyn Registry> {
        &self.inner.registry
    }

    /// The identity this mesh's calls present, if they use mutual TLS.
    pub fn tls(&self) -> Option<&MeshTls> {
        self.inner.tls.as_ref()
    }

    /// The same mesh calling with `tls`'s identity: in one process hosting several services
    /// (`tunemesh up`), each calls as itself.
    pub fn as_service(&self, tls: MeshTls) -> Self {
        Self::with_tls(
            self.inner.registry.clone(),
            (*self.inner.settings).clone(),
            tls,
        )
    }

    /// The settings this mesh was built with.
    pub fn settings(&self) -> &MeshSettings {
        &self.inner.settings
    }

    /// The channel to `service`, created on first use; must be called inside a tokio runtime
    /// (the balancer runs on a spawned worker).
    pub fn channel(&self, service: &str) -> MeshChannel {
        let mut channels = self
            .inner
            .channels
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(channel) = channels.get(service) {
            return channel.clone();
        }
        let name: Arc<str> = Arc::from(service);
        let instances = self.inner.registry.watch(service);
        let gauge = tokio::spawn(track_endpoints(name.clone(), instances.clone()));
        self.inner
            .gauges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(gauge);
        let channel = MeshChannel {
            inner: stack::service(
                &name,
                &instances,
                &self.inner.settings,
                self.inner.tls.as_ref(),
            ),
            retry: Arc::new(retry::Context::new(&self.inner.settings, name.clone())),
            name,
        };
        channels.insert(service.to_owned(), channel.clone());
        channel
    }
}

async fn track_endpoints(service: Arc<str>, mut instances: watch::Receiver<InstanceSet>) {
    let gauge = |pool: &'static str| metrics::gauge!("tunemesh_mesh_endpoints", "service" => service.to_string(), "pool" => pool);
    let (all, canary) = (gauge("all"), gauge("canary"));
    loop {
        let (total, canaries) = {
            let set = instances.borrow_and_update();
            (set.len(), set.iter().filter(|i| i.is_canary()).count())
        };
        all.set(total as f64);
        canary.set(canaries as f64);
        if instances.changed().await.is_err() {
            return;
        }
    }
}

/// A balanced, resilient channel to one service; give it to any generated tonic client:
/// `FooClient::new(mesh.channel("foo"))`. Clones share the balancer.
#[derive(Clone)]
pub struct MeshChannel {
    name: Arc<str>,
    inner: stack::MeshService,
    retry: Arc<retry::Context>,
}

impl MeshChannel {
    /// The service this channel calls.
    pub fn service(&self) -> &str {
        &self.name
    }

    /// A channel that retries calls to the given idempotent RPCs within the service's retry
    /// budget. A path is `/package.Service/Method`, or `/package.Service/` for all methods.
    pub fn retrying<I, P>(self, idempotent: I) -> RetryChannel
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        RetryChannel::new(self, idempotent.into_iter().map(Into::into).collect())
    }
}

impl fmt::Debug for MeshChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeshChannel")
            .field("service", &self.name)
            .finish_non_exhaustive()
    }
}

impl Service<http::Request<Body>> for MeshChannel {
    type Response = http::Response<Body>;
    type Error = MeshError;
    type Future = BoxFuture<'static, Result<http::Response<Body>, MeshError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), MeshError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        self.inner.call(req)
    }
}
