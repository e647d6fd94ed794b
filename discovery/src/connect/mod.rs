//! Mutual TLS between services, with identities from Consul Connect's CA (production) or an
//! in-process CA (`tunemesh up`, tests), and the policy of who may call whom.
//!
//! - [`MeshTls`]: one service's current leaf and trusted roots as rustls configurations,
//!   renewed as the CA renews or rotates them (each new connection takes the current ones), and
//!   the [`Authorizer`] its server asks about each caller.
//! - Servers ([`incoming`]) require a client certificate from the mesh's CA, read the caller's
//!   SPIFFE id from it, ask the policy once per connection and hand each request the answer
//!   ([`MeshConnInfo`]); the runtime's authorization layer turns a refusal into
//!   PERMISSION_DENIED and an allowed caller into [`PeerService`].
//! - Callers ([`connector`]) present their leaf and accept only a server whose SPIFFE id
//!   names the service they meant to call.
//! - Sources: [`EmbeddedCa`] in process; `ConsulConnect` for the local agent's
//!   `/v1/agent/connect/ca/leaf/<service>` and `/roots` (blocking queries, so renewals and
//!   rotations arrive as they happen) and `/v1/agent/connect/authorize`.

mod ca;
mod client;
mod material;
mod policy;
mod server;
mod spiffe;
mod verify;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

pub use ca::EmbeddedCa;
pub use client::{MeshConnector, connector};
pub use material::{Material, TlsConfigs};
pub use policy::{ARCHITECTURE, Authorizer, Decision, Policy};
pub use server::{MeshConn, MeshConnInfo, incoming};
pub use spiffe::{SpiffeId, serial_of};

/// The service identity of the peer on a mutual-TLS connection: the service name in the
/// SPIFFE URI of the certificate it presented. Servers put it in the extensions of every
/// request from a caller the policy allows; absent on connections without mutual TLS.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeerService(pub Arc<str>);

impl PeerService {
    /// The calling service's name.
    pub fn name(&self) -> &str {
        &self.0
    }

    /// The peer service of an incoming request, if it came over mutual TLS.
    pub fn of<T>(request: &tonic::Request<T>) -> Option<&Self> {
        request.extensions().get::<Self>()
    }
}

/// Why mutual TLS could not be set up or a peer was not accepted.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConnectError {
    /// A certificate or key is unreadable or unusable.
    #[error("certificate: {0}")]
    Certificate(String),
    /// A certificate names no service identity, or the wrong one.
    #[error("identity: {0}")]
    Identity(String),
    /// The CA (the Consul agent) could not be reached or refused.
    #[error("the certificate authority is unavailable: {0}")]
    Unavailable(String),
}

/// One service's mutual-TLS identity and the policy its server applies. Clones share it.
#[derive(Clone)]
pub struct MeshTls {
    service: Arc<str>,
    configs: watch::Receiver<Arc<TlsConfigs>>,
    authorizer: Arc<dyn Authorizer>,
    handshake_timeout: Duration,
}

impl std::fmt::Debug for MeshTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeshTls")
            .field("service", &self.service)
            .field("id", &self.configs.borrow().id.to_string())
            .field("authorizer", &self.authorizer)
            .finish()
    }
}

impl MeshTls {
    /// How long a peer may take to complete the TLS handshake.
    pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

    /// `service`'s identity from a source that sends new configurations as they change.
    pub fn new(
        service: &str,
        configs: watch::Receiver<Arc<TlsConfigs>>,
        authorizer: Arc<dyn Authorizer>,
    ) -> Self {
        Self {
            service: Arc::from(service),
            configs,
            authorizer,
            handshake_timeout: Self::HANDSHAKE_TIMEOUT,
        }
    }

    /// `service`'s identity from the embedded CA, deciding callers by `policy`; renewals and
    /// rotations reach it through the CA. Must be called inside a tokio runtime.
    pub fn embedded(ca: &EmbeddedCa, service: &str, policy: Policy) -> Result<Self, ConnectError> {
        Ok(Self::new(service, ca.hold(service)?, policy.shared()))
    }

    /// The service this identity is for.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// Whom the current leaf names.
    pub fn id(&self) -> SpiffeId {
        self.configs.borrow().id.clone()
    }

    /// The configurations for the next connection.
    pub fn current(&self) -> Arc<TlsConfigs> {
        self.configs.borrow().clone()
    }

    /// Changes with each new leaf or set of roots.
    pub fn changes(&self) -> watch::Receiver<Arc<TlsConfigs>> {
        self.configs.clone()
    }

    /// Decides who may call this service.
    pub fn authorizer(&self) -> &Arc<dyn Authorizer> {
        &self.authorizer
    }

    /// Bound on one TLS handshake.
    pub fn handshake_timeout(&self) -> Duration {
        self.handshake_timeout
    }
}

/// Where the services of a process get their identities: one CA for all of them.
#[derive(Debug, Clone)]
pub enum ConnectCa {
    /// The in-process CA (`tunemesh up`, tests), callers decided by `policy`.
    Embedded {
        /// The CA.
        ca: EmbeddedCa,
        /// Who may call whom.
        policy: Policy,
    },
    /// Consul Connect through the local agent; intentions decide.
    Consul(crate::ConsulConnect),
}

impl ConnectCa {
    /// An embedded CA with the architecture's policy (leaves live 72 h, as Consul's).
    pub fn embedded(ca: EmbeddedCa) -> Self {
        Self::Embedded {
            ca,
            policy: Policy::architecture(),
        }
    }

    /// `service`'s identity. Must be called inside a tokio runtime.
    pub async fn tls(&self, service: &str) -> Result<MeshTls, ConnectError> {
        match self {
            Self::Embedded { ca, policy } => MeshTls::embedded(ca, service, policy.clone()),
            Self::Consul(consul) => consul.tls(service).await,
        }
    }
}

/// How long leaves of the embedded CA live (Consul's default).
pub const LEAF_TTL: Duration = Duration::from_secs(72 * 3600);
