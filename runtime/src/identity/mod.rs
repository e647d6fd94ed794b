//! Who is calling: the user a call acts for travels as an assertion only the gateway can sign;
//! a service calling for itself is known by its mutual-TLS certificate alone.
//!
//! The gateway authenticates listeners, then signs one short-lived assertion per downstream
//! call with its Ed25519 key: a compact JWT (alg EdDSA) naming the user (`sub`, `roles`), the
//! service called (`aud`: `player`, `playlist`, `search`, `reco`), the full gRPC method
//! (`mth`), `iat`, `exp` (30 s by default) and a `jti`. Services hold only the gateway's public
//! keys, so a compromised service (a valid certificate, no gateway key) cannot mint one, and an
//! assertion it saw cannot be replayed against another service or method. A service calling
//! another on a user's behalf passes the incoming assertion on unchanged (accepted only from a
//! peer named by its `aud` that may forward to the callee); without a user, a call carries no
//! assertion and the peer's certificate names the caller ([`Caller::service`]).
//!
//! # Layout
//! - [`settings`]: the services' public keys (`identity`) and the gateway's signing key
//!   (`gateway.assertion`).
//! - [`keys`]: Ed25519 keys in PEM (PKCS#8 / SPKI), and the pair `tunemesh up` generates.
//! - [`signer`]: the gateway's side: [`AssertionSigner`] mints assertions.
//! - [`verifier`]: the services' side: [`MeshIdentity`] and the per-service [`Verifier`].
//! - [`layer`]: a client layer minting per call from the request's method ([`ActAs`]).

pub mod keys;
pub mod layer;
pub mod settings;
pub mod signer;
pub mod verifier;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tonic::metadata::{MetadataMap, MetadataValue};

pub use layer::{ActAs, AssertLayer, Asserting};
pub use settings::{AssertionSettings, IdentitySettings};
pub use signer::AssertionSigner;
pub use verifier::{CalledMethod, MeshIdentity, Verifier};

/// The metadata key carrying the gateway's assertion.
pub const IDENTITY_METADATA: &str = tunemesh_proto::metadata::IDENTITY;
/// The role of a service calling for itself (e.g. reco-svc's mixer writing a generated
/// playlist). Never in an assertion: services are known by their certificates, and the
/// gateway mints the roles of accounts, which never hold it.
pub const SERVICE_ROLE: &str = "service";
/// What prefixes a service identity's id (`service:reco`), so it never names a user.
const SERVICE_PREFIX: &str = "service:";
/// The account that owns what the services generate for listeners ("Made for you"
/// playlists): one well-known id, which no user account can have.
pub const SYSTEM_ACCOUNT: &str = "system";

/// A verified caller: a user (with the gateway's assertion it came with, to forward) or a
/// service calling for itself.
#[derive(Clone, Serialize, Deserialize)]
pub struct Caller {
    /// The user's stable id.
    pub user_id: String,
    /// Roles granted to the user, e.g. `admin`.
    #[serde(default)]
    pub roles: Vec<String>,
    /// The gateway's assertion this caller was verified from: what a service forwards when
    /// it calls another on the user's behalf. Never serialized, never printed.
    #[serde(skip)]
    assertion: Option<Assertion>,
}

impl Caller {
    /// User `user_id` with `roles` (as the gateway knows it from the listener's token).
    pub fn new(user_id: String, roles: Vec<String>) -> Self {
        Self {
            user_id,
            roles,
            assertion: None,
        }
    }

    /// The identity of service `name` calling for itself (`service:<name>`, role
    /// [`SERVICE_ROLE`]): what a call without an assertion from a peer with a mesh
    /// certificate verifies to.
    pub fn service(name: &str) -> Self {
        Self::new(
            format!("{SERVICE_PREFIX}{name}"),
            vec![SERVICE_ROLE.to_owned()],
        )
    }

    /// The service's name when the caller is a service identity (see [`Caller::service`]).
    pub fn service_name(&self) -> Option<&str> {
        self.user_id
            .strip_prefix(SERVICE_PREFIX)
            .filter(|_| self.has_role(SERVICE_ROLE))
    }

    /// True if the caller has `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// Puts the gateway's assertion this caller came with into `metadata` unchanged, for a
    /// call made on the user's behalf; a service caller has none and adds nothing (its
    /// certificate speaks for it). Services never mint.
    pub fn forward(&self, metadata: &mut MetadataMap) {
        if let Some(assertion) = &self.assertion
            && let Ok(value) = MetadataValue::try_from(&*assertion.0)
        {
            metadata.insert(IDENTITY_METADATA, value);
        }
    }

    /// Whether this caller came with a gateway assertion (a user, not a service).
    pub fn has_assertion(&self) -> bool {
        self.assertion.is_some()
    }

    fn with_assertion(mut self, token: &str) -> Self {
        self.assertion = Some(Assertion(token.into()));
        self
    }
}

/// Two callers are the same when they name the same user with the same roles, whichever
/// assertion each came with.
impl PartialEq for Caller {
    fn eq(&self, other: &Self) -> bool {
        self.user_id == other.user_id && self.roles == other.roles
    }
}

impl Eq for Caller {}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("user_id", &self.user_id)
            .field("roles", &self.roles)
            .field("asserted", &self.assertion.is_some())
            .finish()
    }
}

/// A gateway assertion as received (a bearer token: never logged).
#[derive(Clone)]
struct Assertion(Arc<str>);

/// Why a caller was refused. Every variant maps to UNAUTHENTICATED; the reason is short and
/// never echoes the token.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdentityError {
    /// No assertion in the request, and no mesh certificate either.
    #[error("the request carries no caller identity")]
    Missing,
    /// The assertion is malformed, forged, expired, or meant for another call.
    #[error("the caller identity is not valid: {0}")]
    Invalid(&'static str),
    /// The call acts for a listener, but only a service's certificate came with it.
    #[error(
        "this call acts for a listener and needs the gateway's assertion; a service certificate alone names no listener"
    )]
    NotAUser,
}

impl From<IdentityError> for tonic::Status {
    fn from(error: IdentityError) -> Self {
        tonic::Status::unauthenticated(error.to_string())
    }
}

/// The claims of an assertion.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    roles: Vec<String>,
    /// The service called.
    aud: String,
    /// The full gRPC method path called.
    mth: String,
    iat: u64,
    exp: u64,
    /// Unique per assertion (logs and replay analysis can tell two calls apart).
    jti: String,
}

#[cfg(test)]
mod tests;
