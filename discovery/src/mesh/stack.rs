//! The one place the mesh channel's layers are composed, outermost first.

use std::sync::Arc;

use tower::ServiceBuilder;
use tower::balance::p2c::Balance;
use tower::load::{CompleteOnResponse, PeakEwma};
use tower::util::{BoxCloneSyncService, BoxService};

use super::breaker::{Breaker, BreakerLayer};
use super::conn::{Connection, Transport};
use super::discover::{Selector, WatchDiscover};
use super::error::{BoxError, MeshError};
use super::fail_fast::FailFastLayer;
use super::metered::{Metered, MeteredLayer};
use super::per_try::{PerTry, PerTryLayer};
use super::route::Route;
use super::shared::Shared;
use super::split::Split;
use super::streams::Streams;
use super::trace::TraceContextLayer;
use crate::connect::{self, MeshTls};
use crate::registry::InstanceSet;
use crate::{MeshSettings, ServiceInstance};

/// Names one endpoint in metrics and logs.
#[derive(Debug, Clone)]
pub struct EndpointLabels {
    /// The service the endpoint belongs to.
    pub service: Arc<str>,
    /// The endpoint's address.
    pub endpoint: Arc<str>,
}

/// One endpoint as the balancer sees it.
pub(crate) type Endpoint = Breaker<PerTry<PeakEwma<Metered<Split>, CompleteOnResponse>>>;

/// The service behind a [`crate::MeshChannel`].
pub(crate) type MeshService = BoxCloneSyncService<
    http::Request<tonic::body::Body>,
    http::Response<tonic::body::Body>,
    MeshError,
>;

/// The per-service stack; `instances` feeds discovery.
pub(crate) fn service(
    name: &Arc<str>,
    instances: &tokio::sync::watch::Receiver<InstanceSet>,
    settings: &Arc<MeshSettings>,
    tls: Option<&MeshTls>,
) -> MeshService {
    let route = match settings.canary.get(&**name) {
        Some(&share) => Route::split(
            pool(name, instances, Selector::Stable, settings, tls),
            pool(name, instances, Selector::Canary, settings, tls),
            share,
            instances.clone(),
        ),
        None => Route::single(pool(name, instances, Selector::All, settings, tls)),
    };
    let unavailable = {
        let name = name.clone();
        move |e: BoxError| MeshError::unavailable(name.clone(), e)
    };
    let stack = ServiceBuilder::new()
        // Outermost, so every call carries the caller's trace whatever happens below.
        .layer(TraceContextLayer)
        // Bounds the whole call including the wait for a ready endpoint (p2c waits, not fails).
        .layer(FailFastLayer::new(settings.timeout, name.clone()))
        // One concrete error type: spawned futures of generated clients need it.
        .map_err(unavailable)
        // Canary share or everything to one pool; each pool's shared balancer sits below.
        .service(route);
    BoxCloneSyncService::new(stack)
}

/// One balancer over the instances `selector` picks, shared by the channel's clones.
fn pool(
    name: &Arc<str>,
    instances: &tokio::sync::watch::Receiver<InstanceSet>,
    selector: Selector,
    settings: &Arc<MeshSettings>,
    tls: Option<&MeshTls>,
) -> Shared {
    let make = {
        let (name, settings, tls) = (name.clone(), settings.clone(), tls.cloned());
        move |instance: &ServiceInstance| endpoint(&name, instance, &settings, tls.as_ref())
    };
    let discover = WatchDiscover::new(name.clone(), instances.clone(), selector, make);
    // Power of two choices over PeakEWMA load: cheap, and avoids herding onto one endpoint.
    let balance = Balance::new(discover);
    // Lets the channel's clones share the balancer, each call on its own task.
    Shared::new(BoxService::new(balance), settings.buffer)
}

/// One endpoint: load estimate, breaker, metrics, two lazily opened connections.
fn endpoint(
    name: &Arc<str>,
    instance: &ServiceInstance,
    settings: &MeshSettings,
    tls: Option<&MeshTls>,
) -> Option<Endpoint> {
    let labels = EndpointLabels {
        service: name.clone(),
        endpoint: instance.addr.to_string().into(),
    };
    // Lazy: connect failures surface per call, where the breaker counts them. Streaming
    // calls get their own connection, so stalled streams never hold up unary calls.
    let transport = match tls.map(|tls| connect::connector(tls, name)).transpose() {
        // Mutual TLS: this service's leaf, and only an endpoint proving to be `name`.
        Ok(Some(connector)) => Transport::Tls(connector),
        Ok(None) => Transport::Plain,
        Err(error) => {
            tracing::warn!(service = %name, %error, "skipping unusable endpoint");
            return None;
        }
    };
    let channel = match Connection::lazy(instance.addr, transport, settings) {
        Ok(unary) => {
            let streaming = Streams::new(unary.fresh(), settings.streams_per_connection);
            Split::new(unary, streaming)
        }
        Err(error) => {
            tracing::warn!(service = %name, addr = %instance.addr, %error, "skipping unusable endpoint");
            return None;
        }
    };
    let (rtt, decay_ns) = (settings.default_rtt, settings.decay.as_nanos() as f64);
    let service = ServiceBuilder::new()
        // Takes a failing endpoint out of rotation (Pending) and probes it back in; above
        // PeakEWMA so its load can rank recently failing endpoints last.
        .layer(BreakerLayer::new(settings.breaker.clone(), labels.clone()))
        // Ends a retryable try that outlasts this endpoint's usual latency; below the breaker,
        // which counts it (a hung replica is ejected), above PeakEWMA, whose load it raises.
        .layer(PerTryLayer::new(settings.per_try.clone(), labels.clone()))
        // Latency-aware load for p2c; completes at response headers (right for unary calls).
        .layer_fn(|s| PeakEwma::new(s, rtt, decay_ns, CompleteOnResponse::default()))
        // Innermost: counts what really went over the wire.
        .layer(MeteredLayer::new(labels))
        .service(channel);
    Some(service)
}
