//! The standard gRPC server every service runs: health and reflection mounted, trace and
//! metrics layers, limits, registration once ready, and a bounded drain on shutdown.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http::Request;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::service::{Routes, RoutesBuilder};
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tower::{Service, ServiceBuilder};
use tunemesh_discovery::{
    DeadlineLayer, HealthCheck, MeshTls, Registration, Registry, ServiceInstance,
};

use super::authorize::AuthorizeLayer;
use super::health::{OVERALL, ServiceHealth};
use super::limits::{LimitMessages, MessageLimits};
use super::metrics::MetricsLayer;
use super::settings::GrpcServerSettings;
use super::trace::TraceLayer;
use crate::shutdown::drain;

/// Why a server failed to start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The listening address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why the OS refused.
        source: std::io::Error,
    },
    /// Reflection could not read the descriptor sets (a build problem, not an input one).
    #[error("cannot build the reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The server stopped with a transport error.
    #[error("grpc server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// Registration with discovery failed, so no caller would find this instance.
    #[error("cannot register {service} with discovery: {source}")]
    Register {
        /// The service name registered.
        service: String,
        /// What the registry said.
        source: tunemesh_discovery::RegistryError,
    },
}

/// A bound gRPC server, not yet serving. Build it, add services, then [`GrpcServer::run`].
#[derive(Debug)]
pub struct GrpcServer {
    name: String,
    listener: TcpListener,
    local_addr: SocketAddr,
    routes: RoutesBuilder,
    health: ServiceHealth,
    settings: GrpcServerSettings,
    ready: Option<watch::Receiver<bool>>,
    tls: Option<(MeshTls, TcpListener)>,
}

impl GrpcServer {
    /// Binds the listener for the service `name` (its name in discovery, e.g. `player`) and
    /// mounts health and reflection. Every gRPC service it will serve reports NOT_SERVING
    /// until [`GrpcServer::run`] starts.
    pub async fn bind(name: &str, settings: &GrpcServerSettings) -> Result<Self, ServerError> {
        let listener = crate::listen::bind(settings.addr).map_err(|source| ServerError::Bind {
            addr: settings.addr,
            source,
        })?;
        let local_addr = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: settings.addr,
            source,
        })?;
        // Metrics recorded before the recorder exists are lost: install it with the first server.
        crate::metrics::prometheus();
        let health = ServiceHealth::new();
        // Nothing is served until `run`: say so to health checkers that come early.
        health
            .reporter()
            .set_service_status(OVERALL, ServingStatus::NotServing)
            .await;
        // Reflection in both versions: grpcurl and grpcui speak v1, while Python's
        // grpcio-reflection, older grpcurl and Postman speak only v1alpha.
        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(tunemesh_proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        let mut routes = Routes::builder();
        routes
            .add_service(health.server())
            .add_service(reflection().build_v1()?)
            .add_service(reflection().build_v1alpha()?);
        Ok(Self {
            name: name.to_owned(),
            listener,
            local_addr,
            routes,
            health,
            settings: settings.clone(),
            ready: None,
            tls: None,
        })
    }

    /// Serves mutual TLS with `tls`'s identity: callers must present a certificate of the
    /// mesh's CA, and the policy decides per connection who may call (refused callers get
    /// PERMISSION_DENIED). Health is then also served in plaintext on its own listener
    /// (`grpc.health_addr`), for checkers that hold no certificate (Consul's agent, probes).
    pub fn with_tls(&mut self, tls: MeshTls) -> Result<&mut Self, ServerError> {
        let addr = self
            .settings
            .health_addr
            .unwrap_or_else(|| SocketAddr::new(self.local_addr.ip(), 0));
        let health =
            crate::listen::bind(addr).map_err(|source| ServerError::Bind { addr, source })?;
        self.tls = Some((tls, health));
        Ok(self)
    }

    /// Where health is served in plaintext, when the server requires mutual TLS.
    pub fn health_addr(&self) -> Option<SocketAddr> {
        let (_, listener) = self.tls.as_ref()?;
        listener.local_addr().ok()
    }

    /// Holds the server NOT_SERVING and out of discovery until `ready` turns true (e.g. a
    /// replica rebuilding its state from the event stream): callers and probes see it only
    /// once it can answer. Calls that arrive earlier are still served by the handlers.
    pub fn ready_when(&mut self, ready: watch::Receiver<bool>) -> &mut Self {
        self.ready = Some(ready);
        self
    }

    /// Serves `service` too, bounded by the server's message limits (`max_message_bytes`);
    /// its health is reported under its gRPC name.
    pub fn add_service<S>(&mut self, service: S) -> &mut Self
    where
        S: Service<Request<Body>, Error = Infallible> + NamedService + LimitMessages,
        S: Clone + Send + Sync + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.health.track(S::NAME);
        let limits = MessageLimits::from(&self.settings);
        self.routes.add_service(service.limit_messages(limits));
        self
    }

    /// The address the server listens on (the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Reads the serving status of this server's services, for readiness endpoints.
    pub fn health(&self) -> ServiceHealth {
        self.health.clone()
    }

    /// The reporter, for services whose readiness changes while they run.
    pub fn health_reporter(&self) -> HealthReporter {
        self.health.reporter()
    }

    /// Serves until `shutdown` is cancelled, then drains: NOT_SERVING, deregister, wait
    /// `deregister_delay`, stop accepting, and give in-flight calls `drain_grace` to finish.
    pub async fn run(
        self,
        registry: Option<Arc<dyn Registry>>,
        shutdown: CancellationToken,
    ) -> Result<(), ServerError> {
        let health_addr = self.health_addr();
        let settings = self.settings;
        let layers = ServiceBuilder::new()
            // Outermost, so the span covers queueing for a concurrency slot too.
            .layer(TraceLayer)
            // Counts every call, also those that wait for a slot and those that fail early.
            .layer(MetricsLayer)
            // Refused callers take no concurrency slot.
            .layer(AuthorizeLayer)
            // Handlers run inside the caller's deadline, so their outbound calls inherit it.
            .layer(DeadlineLayer)
            // The caller check binds an assertion to the method it was minted for.
            .layer(super::method::MethodLayer)
            // Bounds the work in flight; callers queue on HTTP/2 flow control beyond it.
            .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
                settings.concurrency_limit,
            ));
        let stop_accepting = CancellationToken::new();
        let mut builder = tonic::transport::Server::builder()
            .max_concurrent_streams(settings.max_concurrent_streams)
            .http2_keepalive_interval(Some(settings.keepalive_interval))
            .layer(layers);
        let router = builder.add_routes(self.routes.routes());
        let stopped = stop_accepting.clone().cancelled_owned();
        let (mut server, health_addr) = match self.tls {
            Some((tls, health)) => {
                let incoming = tunemesh_discovery::connect::incoming(self.listener, tls);
                super::health::serve_plaintext(&self.health, health, stop_accepting.clone());
                let server = router.serve_with_incoming_shutdown(incoming, stopped);
                (tokio::spawn(server), health_addr)
            }
            None => {
                let incoming = TcpIncoming::from(self.listener)
                    .with_nodelay(Some(true))
                    .with_keepalive(Some(settings.keepalive_interval));
                let server = router.serve_with_incoming_shutdown(incoming, stopped);
                (tokio::spawn(server), None)
            }
        };

        if let Some(mut ready) = self.ready {
            tracing::info!(service = %self.name, "waiting to be ready before serving");
            tokio::select! {
                // The guard `wait_for` returns is not Send: keep only whether it succeeded.
                gate = async { ready.wait_for(|ready| *ready).await.is_ok() } => {
                    if !gate {
                        // Whatever was to make it ready is gone: stay out of rotation.
                        tracing::warn!(service = %self.name, "never became ready");
                        shutdown.cancelled().await;
                    }
                }
                () = shutdown.cancelled() => {}
                result = &mut server => return flatten(result),
            }
            if shutdown.is_cancelled() {
                // Never registered: nothing to deregister, only calls to let finish.
                stop_accepting.cancel();
                return match drain(&self.name, settings.drain_grace, &mut server).await {
                    Some(result) => flatten(result),
                    None => {
                        server.abort();
                        Ok(())
                    }
                };
            }
        }
        self.health.set_all(ServingStatus::Serving).await;
        let instance = instance(&self.name, self.local_addr, &settings);
        if let Some(registry) = &registry {
            let registration = Registration {
                instance: instance.clone(),
                check: HealthCheck {
                    addr: health_addr.map(|health| advertised(health, &settings)),
                    ..HealthCheck::default()
                },
            };
            if let Err(source) = registry.register(&registration).await {
                stop_accepting.cancel();
                return Err(ServerError::Register {
                    service: self.name,
                    source,
                });
            }
        }
        tracing::info!(service = %self.name, addr = %self.local_addr, "serving");

        tokio::select! {
            () = shutdown.cancelled() => {}
            // The server ended on its own: nothing to drain.
            result = &mut server => return flatten(result),
        }
        tracing::info!(service = %self.name, "draining");
        self.health.set_all(ServingStatus::NotServing).await;
        if let Some(registry) = &registry
            && let Err(error) = registry.deregister(&instance.id).await
        {
            tracing::warn!(service = %self.name, %error, "deregistration failed");
        }
        tokio::time::sleep(settings.deregister_delay).await;
        stop_accepting.cancel();
        match drain(&self.name, settings.drain_grace, &mut server).await {
            Some(result) => flatten(result),
            None => {
                server.abort();
                Ok(())
            }
        }
    }
}

/// `bound` as peers reach it: the advertised IP when one is set.
fn advertised(bound: SocketAddr, settings: &GrpcServerSettings) -> SocketAddr {
    match settings.advertise_addr {
        Some(advertise) => SocketAddr::new(advertise.ip(), bound.port()),
        None => bound,
    }
}

/// The registry entry of this instance; the id is unique per process and port.
fn instance(name: &str, local_addr: SocketAddr, settings: &GrpcServerSettings) -> ServiceInstance {
    let addr = settings.advertise_addr.unwrap_or(local_addr);
    let mut meta = std::collections::BTreeMap::from([(
        "version".to_owned(),
        env!("CARGO_PKG_VERSION").to_owned(),
    )]);
    if let Some(zone) = &settings.zone {
        meta.insert("zone".to_owned(), zone.clone());
    }
    ServiceInstance {
        id: format!("{name}-{}-{}", addr.ip(), addr.port()),
        service: name.to_owned(),
        addr,
        tags: settings.tags.clone(),
        meta,
    }
}

fn flatten(
    result: Result<Result<(), tonic::transport::Error>, tokio::task::JoinError>,
) -> Result<(), ServerError> {
    match result {
        Ok(inner) => Ok(inner?),
        // The task only ends by panicking or by our abort; a panic is a bug worth surfacing.
        Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_ids_differ_per_port() {
        let settings = GrpcServerSettings::default();
        let a = instance("player", "127.0.0.1:1000".parse().expect("addr"), &settings);
        let b = instance("player", "127.0.0.1:1001".parse().expect("addr"), &settings);
        assert_ne!(a.id, b.id);
        assert_eq!(
            a.meta.get("version").map(String::as_str),
            Some(env!("CARGO_PKG_VERSION"))
        );
    }
}
