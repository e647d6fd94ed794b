//! Settings of the gateway (`[gateway]`).

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

/// What the gateway can be configured with; the defaults serve `tunemesh up`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewaySettings {
    /// Where listeners, apps and the web player reach tunemesh.
    pub addr: SocketAddr,
    /// The services behind the gateway, by discovery name; `/readyz` needs all of them.
    pub upstreams: Vec<String>,
    /// How long `/readyz` waits for one upstream's health answer.
    #[serde(with = "humantime_serde")]
    pub readiness_timeout: Duration,
    /// How long the gateway waits for in-flight requests on shutdown.
    #[serde(with = "humantime_serde")]
    pub drain_grace: Duration,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            upstreams: ["player", "playlist", "search", "reco"]
                .map(str::to_owned)
                .to_vec(),
            readiness_timeout: Duration::from_secs(1),
            drain_grace: Duration::from_secs(20),
        }
    }
}
