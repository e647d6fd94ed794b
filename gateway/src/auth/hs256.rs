//! One HS256 key (and, during a rotation, the previous one) with the validation its tokens
//! must pass, shared by access tokens and media links: both sign claims and verify tokens the
//! same way and differ only in key, audience and claims.

use std::time::Instant;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tunemesh_runtime::secret::KeyRing;

use super::tokens::{MAX_TOKEN_BYTES, TokenError};

/// Signs and verifies HS256 JWTs under one key.
#[derive(Clone)]
pub struct Hs256 {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// The previous key of a rotation, verifying (never signing) until the instant.
    previous: Option<(DecodingKey, Instant)>,
    validation: Validation,
}

impl std::fmt::Debug for Hs256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Hs256")
            .field("audience", &self.validation.aud)
            .finish_non_exhaustive()
    }
}

impl Hs256 {
    /// Tokens under `key` that must pass `validation`; its algorithms are pinned to HS256
    /// whatever it says, so `alg: none` or another algorithm never verifies.
    pub fn new(key: &[u8], mut validation: Validation) -> Self {
        validation.algorithms = vec![Algorithm::HS256];
        Self {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            previous: None,
            validation,
        }
    }

    /// Tokens under the keys `derive` makes of `ring`'s secrets: the current one signs and
    /// verifies, the previous one (if any) verifies until its overlap ends.
    pub fn from_ring(
        ring: &KeyRing,
        derive: impl Fn(&[u8]) -> Vec<u8>,
        validation: Validation,
    ) -> Self {
        let mut keys = Self::new(&derive(ring.current.expose_secret().as_bytes()), validation);
        keys.previous = ring.previous.as_ref().map(|(secret, until)| {
            let key = derive(secret.expose_secret().as_bytes());
            (DecodingKey::from_secret(&key), *until)
        });
        keys
    }

    /// A token carrying `claims`.
    pub fn sign(&self, claims: &impl Serialize) -> Result<String, jsonwebtoken::errors::Error> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
    }

    /// The claims of `token`, if it is genuine, current and passes the validation; an
    /// oversized token is refused before parsing.
    pub fn verify<C: DeserializeOwned>(&self, token: &str) -> Result<C, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Invalid);
        }
        let mut decoded = jsonwebtoken::decode::<C>(token, &self.decoding, &self.validation);
        if let (Err(error), Some((previous, until))) = (&decoded, &self.previous)
            && *error.kind() == jsonwebtoken::errors::ErrorKind::InvalidSignature
            && Instant::now() < *until
        {
            decoded = jsonwebtoken::decode::<C>(token, previous, &self.validation);
        }
        decoded
            .map(|data| data.claims)
            .map_err(|error| match error.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, serde::Deserialize, PartialEq)]
    struct Claims {
        sub: String,
        exp: u64,
    }

    #[test]
    fn the_key_verifies_its_own_tokens_only_and_never_shows_in_debug() {
        let mut validation = Validation::new(Algorithm::HS384);
        validation.required_spec_claims.clear();
        let keys = Hs256::new(b"the-first-secret-key-of-32-bytes!!", validation.clone());
        let other = Hs256::new(b"the-other-secret-key-of-32-bytes!!", validation);
        let claims = Claims {
            sub: "ann".into(),
            exp: u64::MAX / 2,
        };
        let token = keys.sign(&claims).expect("sign");
        assert_eq!(keys.verify::<Claims>(&token), Ok(claims));
        assert_eq!(other.verify::<Claims>(&token), Err(TokenError::Invalid));
        assert_eq!(
            keys.verify::<Claims>(&"x".repeat(MAX_TOKEN_BYTES + 1)),
            Err(TokenError::Invalid)
        );
        assert!(!format!("{keys:?}").contains("secret"));
    }
}
