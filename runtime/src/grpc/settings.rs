//! Settings of the standard gRPC server (`[grpc]`).

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

/// How a service's gRPC server listens, limits and drains.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GrpcServerSettings {
    /// Where to listen; port 0 picks a free port (what `tunemesh up` does for each service).
    pub addr: SocketAddr,
    /// The address other instances reach this one at, registered in discovery; defaults to the
    /// bound address (wrong behind NAT or when binding 0.0.0.0: set it to the pod IP there).
    pub advertise_addr: Option<SocketAddr>,
    /// Where the plaintext health-only listener binds when the server requires mutual TLS
    /// (always, outside tests): what Consul's gRPC check and Kubernetes probes dial, since
    /// they hold no mesh certificate. Default: the gRPC address's IP, a free port.
    pub health_addr: Option<SocketAddr>,
    /// Largest message accepted or sent, in bytes.
    pub max_message_bytes: usize,
    /// Calls served at once across all connections; the rest wait for a slot.
    pub concurrency_limit: usize,
    /// HTTP/2 streams one connection may have open.
    pub max_concurrent_streams: u32,
    /// Interval of HTTP/2 keep-alive pings, which find dead peers behind idle connections.
    #[serde(with = "humantime_serde")]
    pub keepalive_interval: Duration,
    /// On shutdown, how long to keep serving after turning NOT_SERVING and deregistering, so
    /// that callers' discovery catches up before connections close.
    #[serde(with = "humantime_serde")]
    pub deregister_delay: Duration,
    /// On shutdown, how long in-flight calls may take to finish before they are cut.
    #[serde(with = "humantime_serde")]
    pub drain_grace: Duration,
    /// Free-form tags registered with the instance (`canary` routes canary traffic here).
    pub tags: Vec<String>,
    /// Zone label registered with the instance.
    pub zone: Option<String>,
}

impl Default for GrpcServerSettings {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 50051)),
            advertise_addr: None,
            health_addr: None,
            max_message_bytes: 4 * 1024 * 1024,
            concurrency_limit: 1024,
            max_concurrent_streams: 256,
            keepalive_interval: Duration::from_secs(20),
            deregister_delay: Duration::ZERO,
            drain_grace: Duration::from_secs(20),
            tags: Vec::new(),
            zone: None,
        }
    }
}
