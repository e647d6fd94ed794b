//! Who is calling: the gateway authenticates listeners, then passes a short-lived signed
//! identity token in gRPC metadata; services verify it before trusting the user id.
//!
//! A bare `user-id` header would let anything that reaches a service's port act as anyone. A
//! signed token (HS256 over a secret shared by the gateway and the services, audience
//! `tunemesh-mesh`, one-minute lifetime) can only come from something holding that secret.
//! Services answer UNAUTHENTICATED when it is missing, forged or expired.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tonic::metadata::{MetadataMap, MetadataValue};

use crate::secret::{KeyRing, SecretError, SecretSetting};

/// The metadata key carrying the signed identity.
pub const IDENTITY_METADATA: &str = tunemesh_proto::metadata::IDENTITY;
/// The audience every identity token is minted for.
const AUDIENCE: &str = "tunemesh-mesh";
/// The role of a service's own identity, for calls no user is behind (e.g. reco-svc's mixer
/// writing a generated playlist). Only services mint it; the gateway mints the roles of
/// accounts, which never hold it.
pub const SERVICE_ROLE: &str = "service";
/// What prefixes a service identity's id (`service:reco`), so it never names a user.
const SERVICE_PREFIX: &str = "service:";
/// The account that owns what the services generate for listeners ("Made for you"
/// playlists): one well-known id, which no user account can have.
pub const SYSTEM_ACCOUNT: &str = "system";

/// Settings of mesh identity (`[identity]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentitySettings {
    /// The secret shared by the gateway (which signs) and the services (which verify): at
    /// least 32 random bytes, different from `gateway.auth.jwt_secret`. There is no default:
    /// `tunemesh serve` refuses to start without it; `tunemesh up` generates one in its data
    /// dir.
    pub secret: Option<SecretString>,
    /// A file holding `secret` instead (a mounted Kubernetes or Docker secret).
    pub secret_file: Option<PathBuf>,
    /// During a rotation, the secret being replaced: still verified (never used to sign) for
    /// `rotation_overlap` after start.
    pub previous_secret: Option<SecretString>,
    /// A file holding `previous_secret` instead.
    pub previous_secret_file: Option<PathBuf>,
    /// How long after start `previous_secret` is still accepted.
    #[serde(with = "humantime_serde")]
    pub rotation_overlap: Duration,
    /// How long a minted identity stays valid.
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
}

impl Default for IdentitySettings {
    fn default() -> Self {
        Self {
            secret: None,
            secret_file: None,
            previous_secret: None,
            previous_secret_file: None,
            rotation_overlap: Duration::from_secs(10 * 60),
            ttl: Duration::from_secs(60),
        }
    }
}

impl IdentitySettings {
    /// The name of the secret setting, as errors say it.
    pub const SECRET_SETTING: &'static str = "identity.secret";

    /// Settings with `secret`.
    pub fn with_secret(secret: SecretString) -> Self {
        Self {
            secret: Some(secret),
            ..Self::default()
        }
    }

    /// Settings with one random secret per process: every caller in a test process shares it,
    /// as a deployment shares its configured secret.
    #[cfg(feature = "testsuite")]
    pub fn for_tests() -> Self {
        static SECRET: std::sync::OnceLock<SecretString> = std::sync::OnceLock::new();
        Self::with_secret(SECRET.get_or_init(crate::secret::generate).clone())
    }

    /// Whether a secret (value or file) is configured.
    pub fn has_secret(&self) -> bool {
        self.secret.is_some() || self.secret_file.is_some()
    }

    /// The current and (during a rotation) previous secret, read and checked.
    pub fn keys(&self) -> Result<KeyRing, SecretError> {
        KeyRing::new(
            SecretSetting {
                name: Self::SECRET_SETTING,
                env: "TUNEMESH_IDENTITY__SECRET",
                value: self.secret.as_ref(),
                file: self.secret_file.as_deref(),
            },
            SecretSetting {
                name: "identity.previous_secret",
                env: "TUNEMESH_IDENTITY__PREVIOUS_SECRET",
                value: self.previous_secret.as_ref(),
                file: self.previous_secret_file.as_deref(),
            },
            self.rotation_overlap,
        )
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
    /// The identity of service `name` calling for itself (`service:<name>`, role
    /// [`SERVICE_ROLE`]).
    pub fn service(name: &str) -> Self {
        Self {
            user_id: format!("{SERVICE_PREFIX}{name}"),
            roles: vec![SERVICE_ROLE.to_owned()],
        }
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
    /// During a rotation: the previous secret's key and when it stops verifying.
    previous: Option<(DecodingKey, Instant)>,
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
    /// Keys from the configured secret; fails when it is missing, short, published or
    /// unreadable.
    pub fn new(settings: &IdentitySettings) -> Result<Self, SecretError> {
        Ok(Self::from_keys(&settings.keys()?, settings.ttl))
    }

    /// Keys from `keys`, minting identities valid for `ttl`.
    pub fn from_keys(keys: &KeyRing, ttl: Duration) -> Self {
        let secret = keys.current.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "aud", "sub"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            previous: keys.previous.as_ref().map(|(previous, until)| {
                (
                    DecodingKey::from_secret(previous.expose_secret().as_bytes()),
                    *until,
                )
            }),
            validation,
            ttl,
        }
    }

    /// A signed token for `caller`, valid for the configured lifetime.
    pub fn mint(&self, caller: &Caller) -> Result<String, IdentityError> {
        let now = crate::clock::now_secs();
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
        let mut decoded = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation);
        if let (Err(error), Some((previous, until))) = (&decoded, &self.previous)
            && *error.kind() == jsonwebtoken::errors::ErrorKind::InvalidSignature
            && Instant::now() < *until
        {
            decoded = jsonwebtoken::decode::<Claims>(token, previous, &self.validation);
        }
        let data = decoded.map_err(|error| IdentityError::Invalid(error.kind_description()))?;
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
    use crate::secret;

    fn identity(secret: &str) -> MeshIdentity {
        MeshIdentity::from_keys(
            &KeyRing::single(SecretString::from(secret)),
            Duration::from_secs(60),
        )
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
    fn no_secret_means_no_identity() {
        let error = MeshIdentity::new(&IdentitySettings::default()).expect_err("no secret");
        assert!(error.to_string().contains("identity.secret"), "{error}");
    }

    #[test]
    fn the_previous_secret_verifies_during_its_overlap_only() {
        let old = secret::generate();
        let new = secret::generate();
        let rotating = |overlap: Duration| {
            MeshIdentity::new(&IdentitySettings {
                previous_secret: Some(old.clone()),
                rotation_overlap: overlap,
                ..IdentitySettings::with_secret(new.clone())
            })
            .expect("keys")
        };
        let token = MeshIdentity::new(&IdentitySettings::with_secret(old.clone()))
            .expect("keys")
            .mint(&alice())
            .expect("mints");
        assert_eq!(
            rotating(Duration::from_secs(60)).verify(&token),
            Ok(alice())
        );
        assert_eq!(
            rotating(Duration::ZERO).verify(&token),
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
    fn a_service_identity_names_its_service_and_a_user_does_not() {
        assert_eq!(Caller::service("reco").service_name(), Some("reco"));
        assert_eq!(alice().service_name(), None);
        let pretender = Caller {
            user_id: "service:reco".into(),
            roles: vec!["admin".into()],
        };
        assert_eq!(pretender.service_name(), None);
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
