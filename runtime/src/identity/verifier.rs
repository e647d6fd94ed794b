//! The services' side: who a request acts for, from the gateway's assertion (checked against
//! the gateway's public keys, the service called and the method called, or forwarded by a
//! service allowed to) or, without one, from the peer's mesh certificate.

use std::sync::Arc;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use tunemesh_discovery::PeerService;

use super::keys::KeyError;
use super::settings::IdentitySettings;
use super::{Caller, Claims, IDENTITY_METADATA, IdentityError, SERVICE_PREFIX, SERVICE_ROLE};

/// Which services may pass a user's assertion on to which: (callee, the services that call it
/// on a user's behalf). playlist-svc checks a user's tracks in player-svc's catalogue.
const FORWARDERS: &[(&str, &[&str])] = &[("player", &["playlist"])];

/// The one service that signs assertions: a direct assertion (`aud` is the service called)
/// is accepted only from its connection, so an assertion seen by anyone else cannot be
/// replayed from another service's certificate within its life.
const SIGNER: &str = "gateway";

/// The gRPC method a request called (`/pkg.Service/Method`), put in its extensions by the
/// standard server (`crate::grpc::method`): what a direct assertion's `mth` must name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalledMethod(pub Arc<str>);

/// The gateway's public keys: what every service verifies assertions with; cheap to clone.
/// Holds nothing secret. Each service takes its own [`Verifier`] from it.
#[derive(Clone)]
pub struct MeshIdentity {
    keys: Arc<[DecodingKey]>,
    validation: Validation,
}

impl std::fmt::Debug for MeshIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeshIdentity")
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl MeshIdentity {
    /// The configured gateway public keys. With none (the gateway's own process), every
    /// assertion is refused; `tunemesh serve` refuses to start a service without keys.
    pub fn new(settings: &IdentitySettings) -> Result<Self, KeyError> {
        let keys = settings
            .public_keys()?
            .iter()
            .map(|key| DecodingKey::from_ed_der(key))
            .collect();
        let mut validation = Validation::new(Algorithm::EdDSA);
        // The audience is checked below: it may name this service or the forwarding peer.
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "sub", "aud"]);
        validation.leeway = settings.leeway.as_secs();
        Ok(Self { keys, validation })
    }

    /// The verifier of service `name` (`player`, `playlist`, `search`, `reco`): the audience
    /// a direct assertion must name.
    pub fn verifier(&self, name: &'static str) -> Verifier {
        Verifier {
            keys: self.clone(),
            audience: name,
        }
    }

    /// The claims of `token` if a configured key signed it with EdDSA and it has not expired.
    fn decode(&self, token: &str) -> Result<Claims, IdentityError> {
        let mut refused = IdentityError::Invalid("bad signature");
        for key in self.keys.iter() {
            match jsonwebtoken::decode::<Claims>(token, key, &self.validation) {
                Ok(data) => return Ok(data.claims),
                // Signed by another key: maybe the next one (a rotation's overlap).
                Err(error) if *error.kind() == ErrorKind::InvalidSignature => {}
                Err(error) => {
                    refused = IdentityError::Invalid(reason(error.kind()));
                    break;
                }
            }
        }
        Err(refused)
    }
}

/// One service's check of its callers; cheap to clone.
#[derive(Debug, Clone)]
pub struct Verifier {
    keys: MeshIdentity,
    audience: &'static str,
}

impl Verifier {
    /// The verified caller of an incoming request: the user its assertion names, or (with no
    /// assertion) the service its mesh certificate names; UNAUTHENTICATED otherwise.
    pub fn caller<T>(&self, request: &tonic::Request<T>) -> Result<Caller, IdentityError> {
        let peer = PeerService::of(request).map(PeerService::name);
        let Some(value) = request.metadata().get(IDENTITY_METADATA) else {
            return peer.map(Caller::service).ok_or(IdentityError::Missing);
        };
        let token = value
            .to_str()
            .map_err(|_| IdentityError::Invalid("malformed"))?;
        let method = request.extensions().get::<CalledMethod>().map(|m| &*m.0);
        self.verify(token, method, peer)
    }

    /// The listener an incoming request acts for: what [`Verifier::caller`] verifies, but a
    /// service calling for itself (a certificate, no assertion) is refused, so a service can
    /// never read or write anything of a listener's by naming none.
    pub fn user<T>(&self, request: &tonic::Request<T>) -> Result<Caller, IdentityError> {
        let caller = self.caller(request)?;
        match caller.service_name() {
            Some(_) => Err(IdentityError::NotAUser),
            None => Ok(caller),
        }
    }

    /// The user `token` names, if the gateway signed it, it is current, and it is meant for
    /// this call: `aud` is this service, `mth` is `method` and the peer is the gateway, or
    /// `aud` is `peer` (the caller's service, from its certificate), which may forward users'
    /// calls here. Without a peer (a plaintext server: only tests run one) the connection
    /// cannot be checked.
    pub fn verify(
        &self,
        token: &str,
        method: Option<&str>,
        peer: Option<&str>,
    ) -> Result<Caller, IdentityError> {
        let claims = self.keys.decode(token)?;
        if claims.aud == self.audience {
            if method != Some(claims.mth.as_str()) {
                return Err(IdentityError::Invalid("wrong method"));
            }
            if peer.is_some_and(|peer| peer != SIGNER) {
                return Err(IdentityError::Invalid("not from the gateway"));
            }
        } else if peer != Some(claims.aud.as_str()) || !may_forward(&claims.aud, self.audience) {
            return Err(IdentityError::Invalid("wrong audience"));
        }
        // Services are known by their certificates; an assertion only ever names a user.
        if claims.sub.starts_with(SERVICE_PREFIX) || claims.roles.iter().any(|r| r == SERVICE_ROLE)
        {
            return Err(IdentityError::Invalid("not a user"));
        }
        Ok(Caller::new(claims.sub, claims.roles).with_assertion(token))
    }
}

/// Whether `from` may pass users' assertions on to `to`.
fn may_forward(from: &str, to: &str) -> bool {
    FORWARDERS
        .iter()
        .any(|(callee, callers)| *callee == to && callers.contains(&from))
}

/// A short reason for a refused token, never the token.
fn reason(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ExpiredSignature => "expired",
        ErrorKind::InvalidSignature => "bad signature",
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => "wrong algorithm",
        _ => "malformed",
    }
}
