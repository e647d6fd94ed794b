//! The gateway's side: one assertion per downstream call, signed with its Ed25519 key and bound
//! to the service and method called. Only the gateway builds an [`AssertionSigner`]: services
//! have no signing key in their settings.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer as _, SigningKey};
use jsonwebtoken::{Algorithm, Header};
use rand::RngCore as _;
use tonic::metadata::{MetadataMap, MetadataValue};

use super::keys::{self, KeyError};
use super::settings::AssertionSettings;
use super::{Caller, Claims, IDENTITY_METADATA, IdentityError};
use crate::secret::SecretError;

/// Why the signer could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    /// The key is not configured or not readable.
    #[error(transparent)]
    Setting(#[from] SecretError),
    /// The key is not an Ed25519 private key.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Mints assertions with the gateway's private key; cheap to clone.
///
/// An assertion is a compact JWS (`header.claims.signature`, RFC 7515) that services decode
/// with `jsonwebtoken`. It is put together here rather than by `jsonwebtoken::encode`, which
/// takes the key as PKCS#8 and parses it, deriving its public half, on every call: half of
/// the 36 µs a mint cost, once per downstream call of the gateway. Ed25519 signatures are
/// deterministic, so a test pins that both give the same token byte for byte.
#[derive(Clone)]
pub struct AssertionSigner {
    key: Arc<SigningKey>,
    /// The JOSE header (`{"typ":"JWT","alg":"EdDSA"}`), base64url-encoded once.
    header: Arc<str>,
    ttl: Duration,
}

impl std::fmt::Debug for AssertionSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssertionSigner")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl AssertionSigner {
    /// The signer of the configured key; fails when it is missing or not an Ed25519 key.
    pub fn new(settings: &AssertionSettings) -> Result<Self, SignerError> {
        let header =
            serde_json::to_vec(&Header::new(Algorithm::EdDSA)).expect("a JOSE header serializes");
        Ok(Self {
            key: Arc::new(keys::private_key(&settings.key_pem()?)?),
            header: URL_SAFE_NO_PAD.encode(header).into(),
            ttl: settings.ttl,
        })
    }

    /// The signer every test process shares (a fixed key made once per process), with the
    /// settings services verify it with ([`AssertionSigner::test_public_key`]).
    #[cfg(feature = "testsuite")]
    pub fn for_tests() -> Self {
        Self::new(&AssertionSettings::for_tests()).expect("a test key")
    }

    /// The public key of [`AssertionSigner::for_tests`].
    #[cfg(feature = "testsuite")]
    pub fn test_public_key() -> String {
        test_pair().1.clone()
    }

    /// A signed assertion that `caller` calls `method` (`/pkg.Service/Method`) on `audience`
    /// (the service's name: `player`, `playlist`, `search`, `reco`).
    pub fn mint(
        &self,
        caller: &Caller,
        audience: &str,
        method: &str,
    ) -> Result<String, IdentityError> {
        let now = crate::clock::now_secs();
        let mut jti = [0u8; 12];
        rand::rng().fill_bytes(&mut jti);
        let claims = Claims {
            sub: caller.user_id.clone(),
            roles: caller.roles.clone(),
            aud: audience.to_owned(),
            mth: method.to_owned(),
            iat: now,
            exp: now + self.ttl.as_secs().max(1),
            jti: hex::encode(jti),
        };
        self.sign(&claims)
    }

    /// `claims` as a signed compact JWS.
    pub(super) fn sign(&self, claims: &Claims) -> Result<String, IdentityError> {
        let claims =
            serde_json::to_vec(claims).map_err(|_| IdentityError::Invalid("cannot sign"))?;
        // header . claims . signature, each base64url without padding; 86 for the signature.
        let mut token = String::with_capacity(self.header.len() + claims.len() * 4 / 3 + 90);
        token.push_str(&self.header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&claims, &mut token);
        let signature = self.key.sign(token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.to_bytes(), &mut token);
        Ok(token)
    }

    /// Puts an assertion for `caller` calling `method` on `audience` into `metadata`.
    pub fn attach(
        &self,
        caller: &Caller,
        audience: &str,
        method: &str,
        metadata: &mut MetadataMap,
    ) -> Result<(), IdentityError> {
        let token = self.mint(caller, audience, method)?;
        let value =
            MetadataValue::try_from(token).map_err(|_| IdentityError::Invalid("not ascii"))?;
        metadata.insert(IDENTITY_METADATA, value);
        Ok(())
    }
}

/// The private key of [`AssertionSigner::for_tests`].
#[cfg(feature = "testsuite")]
pub(crate) fn test_private_key() -> secrecy::SecretString {
    test_pair().0.clone()
}

#[cfg(feature = "testsuite")]
fn test_pair() -> &'static (secrecy::SecretString, String) {
    static PAIR: std::sync::OnceLock<(secrecy::SecretString, String)> = std::sync::OnceLock::new();
    PAIR.get_or_init(keys::generate_pair)
}
