//! Who is calling: the gateway authenticates listeners, then passes a short-lived signed
//! identity token in gRPC metadata; services verify it before trusting the user id.
//!
//! A bare `user-id` header would let anything that reaches a service's port act as anyone. A
//! signed token (HS256 over a secret shared by the gateway and the services, audience
//! `tunemesh-mesh`, one-minute lifetime) can only come from something holding that secret.
//! Services answer UNAUTHENTICATED when it is missing, forged or expired.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tonic::metadata::{MetadataMap, MetadataValue};

/// The metadata key carrying the signed identity.
pub const IDENTITY_METADATA: &str = tunemesh_proto::metadata::IDENTITY;
/// The audience every identity token is minted for.
const AUDIENCE: &str = "tunemesh-mesh";

/// Settings of mesh identity (`[identity]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentitySettings {
    /// The secret shared by the gateway (which signs) and the services (which verify). The
    /// default serves `tunemesh up` only: production must set its own.
    pub secret: SecretString,
    /// How long a minted identity stays valid.
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
}

impl Default for IdentitySettings {
    fn default() -> Self {
        Self {
            secret: SecretString::from("tunemesh-dev-mesh-secret-change-me"),
            ttl: Duration::from_secs(60),
        }
    }
}

/// A verified caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// The user's stable id.
    pub user_id: String,
    /// Roles granted to the user, e.g. `admin`.
    #[serde(default)]
    pub roles: Vec<String>,
}

impl Caller {
    /// True if the caller has `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    roles: Vec<String>,
    aud: String,
    exp: u64,
    iat: u64,
}

/// Why an identity was refused. Every variant maps to UNAUTHENTICATED.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdentityError {
    /// No identity in the request.
    #[error("the request carries no caller identity")]
    Missing,
    /// The identity is malformed, forged or expired.
    #[error("the caller identity is not valid: {0}")]
    Invalid(String),
}

impl From<IdentityError> for tonic::Status {
    fn from(error: IdentityError) -> Self {
        tonic::Status::unauthenticated(error.to_string())
    }
}

/// Mints and verifies identity tokens with the shared mesh secret.
#[derive(Clone)]
pub struct MeshIdentity {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl std::fmt::Debug for MeshIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeshIdentity")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl MeshIdentity {
    /// Keys from the configured secret.
    pub fn new(settings: &IdentitySettings) -> Self {
        let secret = settings.secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "aud", "sub"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl: settings.ttl,
        }
    }

    /// A signed token for `caller`, valid for the configured lifetime.
    pub fn mint(&self, caller: &Caller) -> Result<String, IdentityError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let claims = Claims {
            sub: caller.user_id.clone(),
            roles: caller.roles.clone(),
            aud: AUDIENCE.to_owned(),
            iat: now,
            exp: now + self.ttl.as_secs().max(1),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|error| IdentityError::Invalid(error.to_string()))
    }

    /// The caller a token names, if the token is genuine and current.
    pub fn verify(&self, token: &str) -> Result<Caller, IdentityError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|error| IdentityError::Invalid(error.kind_description()))?;
        Ok(Caller {
            user_id: data.claims.sub,
            roles: data.claims.roles,
        })
    }

    /// Adds `caller`'s identity to outgoing request metadata.
    pub fn attach(&self, caller: &Caller, metadata: &mut MetadataMap) -> Result<(), IdentityError> {
        let token = self.mint(caller)?;
        let value = MetadataValue::try_from(token)
            .map_err(|error| IdentityError::Invalid(error.to_string()))?;
        metadata.insert(IDENTITY_METADATA, value);
        Ok(())
    }

    /// The verified caller of an incoming request.
    pub fn caller<T>(&self, request: &tonic::Request<T>) -> Result<Caller, IdentityError> {
        let token = request
            .metadata()
            .get(IDENTITY_METADATA)
            .ok_or(IdentityError::Missing)?
            .to_str()
            .map_err(|_| IdentityError::Invalid("not ascii".into()))?;
        self.verify(token)
    }
}

/// A short description of a JWT failure, without echoing the token.
trait KindDescription {
    fn kind_description(&self) -> String;
}

impl KindDescription for jsonwebtoken::errors::Error {
    fn kind_description(&self) -> String {
        use jsonwebtoken::errors::ErrorKind;
        match self.kind() {
            ErrorKind::ExpiredSignature => "expired".into(),
            ErrorKind::InvalidSignature => "bad signature".into(),
            ErrorKind::InvalidAudience => "wrong audience".into(),
            ErrorKind::InvalidAlgorithm => "wrong algorithm".into(),
            _ => "malformed".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(secret: &str) -> MeshIdentity {
        MeshIdentity::new(&IdentitySettings {
            secret: SecretString::from(secret),
            ttl: Duration::from_secs(60),
        })
    }

    fn alice() -> Caller {
        Caller {
            user_id: "alice".into(),
            roles: vec!["admin".into()],
        }
    }

    #[test]
    fn a_minted_identity_verifies_to_the_same_caller() {
        let mesh = identity("s3cret");
        let token = mesh.mint(&alice()).expect("mints");
        assert_eq!(mesh.verify(&token), Ok(alice()));
    }

    #[test]
    fn an_identity_signed_with_another_secret_is_refused() {
        let token = identity("other").mint(&alice()).expect("mints");
        assert_eq!(
            identity("s3cret").verify(&token),
            Err(IdentityError::Invalid("bad signature".into()))
        );
    }

    #[test]
    fn an_unsigned_token_is_refused() {
        // {"alg":"none"} header, alice's claims, no signature.
        let token = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSIsImF1ZCI6InR1bmVtZXNoLW1lc2giLCJleHAiOjQxMDI0NDQ4MDAsImlhdCI6MH0.";
        assert!(identity("s3cret").verify(token).is_err());
    }

    #[test]
    fn a_request_without_identity_is_unauthenticated() {
        let request = tonic::Request::new(());
        let error = identity("s3cret")
            .caller(&request)
            .expect_err("no identity");
        assert_eq!(
            tonic::Status::from(error).code(),
            tonic::Code::Unauthenticated
        );
    }

    #[test]
    fn identity_travels_in_metadata() {
        let mesh = identity("s3cret");
        let mut request = tonic::Request::new(());
        mesh.attach(&alice(), request.metadata_mut())
            .expect("attaches");
        assert_eq!(mesh.caller(&request), Ok(alice()));
    }
}
