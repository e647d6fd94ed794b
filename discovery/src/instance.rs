//! What a registry stores: one running instance of a service and how its health is checked.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

/// The tag that marks an instance as a canary (see `MeshSettings::canary`).
pub const CANARY_TAG: &str = "canary";

/// One running instance of a service, as registered and as discovered.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceInstance {
    /// Unique across the registry, stable for the life of the process (e.g. `player-<uuid>`).
    pub id: String,
    /// Plain service name (`player`, `playlist`, ...).
    pub service: String,
    /// Where the instance serves gRPC.
    pub addr: SocketAddr,
    /// Free-form tags; `canary` routes a configured share of traffic to the instance.
    pub tags: Vec<String>,
    /// Key/value metadata such as `version` and `zone`.
    pub meta: BTreeMap<String, String>,
}

impl ServiceInstance {
    /// An instance with no tags and no metadata.
    pub fn new(id: impl Into<String>, service: impl Into<String>, addr: SocketAddr) -> Self {
        Self {
            id: id.into(),
            service: service.into(),
            addr,
            tags: Vec::new(),
            meta: BTreeMap::new(),
        }
    }

    /// Adds a tag.
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Adds a metadata entry.
    pub fn with_meta(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.meta.insert(key.into(), value.into());
        self
    }

    /// Whether the instance carries `tag`.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }

    /// Whether the instance is a canary.
    pub fn is_canary(&self) -> bool {
        self.has_tag(CANARY_TAG)
    }
}

/// How the registry checks an instance: a gRPC `grpc.health.v1.Health/Check` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    /// Time between two checks.
    pub interval: Duration,
    /// How long one check may take.
    pub timeout: Duration,
    /// How long an instance may stay critical before the registry forgets it
    /// (Consul raises anything below one minute to one minute).
    pub deregister_critical_after: Duration,
    /// The `service` field of the health request; empty means the whole server.
    pub grpc_service: String,
    /// Where the check dials, when not the instance's address: the plaintext health-only
    /// listener of a server that requires mutual TLS.
    pub addr: Option<SocketAddr>,
}

impl Default for HealthCheck {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(2),
            deregister_critical_after: Duration::from_secs(60),
            grpc_service: String::new(),
            addr: None,
        }
    }
}

/// Everything needed to register an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The instance being registered.
    pub instance: ServiceInstance,
    /// How its health is checked.
    pub check: HealthCheck,
}

impl Registration {
    /// A registration with the default health check, an id of `<service>-<random>` and a
    /// `version` meta entry, which is what a service needs once it is ready.
    pub fn for_service(service: &str, addr: SocketAddr, version: &str) -> Self {
        let id = format!("{service}-{:016x}", rand::random::<u64>());
        Self {
            instance: ServiceInstance::new(id, service, addr).with_meta("version", version),
            check: HealthCheck::default(),
        }
    }
}
