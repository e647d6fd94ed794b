//! Access tokens (short-lived HS256 JWTs) and refresh tokens (random, opaque, stored hashed).
//!
//! The verifier accepts exactly one algorithm, HS256, and requires issuer, audience, subject,
//! session and expiry: `alg: none`, a token signed with another algorithm (e.g. RS256 with the
//! secret as "public key") or one minted for the mesh (audience `tunemesh-mesh`) is refused,
//! and so is a token of a session that has ended (see [`super::revocation`]).

use std::time::Duration;

use jsonwebtoken::{Algorithm, Validation};
use rand::RngCore as _;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tunemesh_runtime::identity::Caller;
use tunemesh_runtime::secret::KeyRing;

use super::hs256::Hs256;
use super::revocation::Revocations;

/// `iss` of every access token.
pub const ISSUER: &str = "tunemesh-gateway";
/// `aud` of every access token.
pub const AUDIENCE: &str = "tunemesh-api";
/// Shortest accepted signing key: HS256 is only as strong as its key.
const MIN_SECRET_BYTES: usize = 32;
/// Longest token looked at; anything longer is refused before parsing.
pub const MAX_TOKEN_BYTES: usize = 4096;
/// Refresh tokens carry this prefix, so a leaked one is recognisable (secret scanners).
const REFRESH_PREFIX: &str = "tmr_";

/// The claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    roles: Vec<String>,
    /// The session (refresh-token family) the token belongs to; logout ends it.
    sid: String,
    iss: String,
    aud: String,
    iat: i64,
    exp: i64,
}

/// Why an access token was refused; the message is safe to send (it never echoes the token).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// The configured key is too short.
    #[error("the access token secret must be at least {MIN_SECRET_BYTES} bytes")]
    WeakSecret,
    /// Expired.
    #[error("the access token has expired")]
    Expired,
    /// Forged, malformed, for another audience or algorithm.
    #[error("the access token is not valid")]
    Invalid,
    /// Its session has ended (logout).
    #[error("the access token's session has ended")]
    Revoked,
}

/// Mints and verifies access tokens.
#[derive(Debug, Clone)]
pub struct AccessTokens {
    keys: Hs256,
    ttl: Duration,
    revocations: Revocations,
}

impl AccessTokens {
    /// Tokens signed with `keys` (the previous key of a rotation still verifies), living
    /// `ttl`; refuses a secret shorter than 32 bytes.
    pub fn new(keys: &KeyRing, ttl: Duration) -> Result<Self, TokenError> {
        let short = |secret: &SecretString| secret.expose_secret().len() < MIN_SECRET_BYTES;
        if short(&keys.current) || keys.previous.as_ref().is_some_and(|(p, _)| short(p)) {
            return Err(TokenError::WeakSecret);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Ok(Self {
            keys: Hs256::from_ring(keys, <[u8]>::to_vec, validation),
            ttl,
            revocations: Revocations::new(ttl),
        })
    }

    /// The sessions ended before their tokens expire.
    pub fn revocations(&self) -> &Revocations {
        &self.revocations
    }

    /// How long minted tokens live.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A token for `caller` in session `sid`, valid from `now_ms` for the configured lifetime.
    pub fn mint(
        &self,
        caller: &Caller,
        sid: &str,
        now_ms: i64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = now_ms / 1000;
        let ttl = i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX).max(1);
        let claims = Claims {
            sub: caller.user_id.clone(),
            roles: caller.roles.clone(),
            sid: sid.to_owned(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now,
            exp: now.saturating_add(ttl),
        };
        self.keys.sign(&claims)
    }

    /// The caller a token names, if it is genuine, current and its session has not ended.
    pub fn verify(&self, token: &str) -> Result<Caller, TokenError> {
        let claims: Claims = self.keys.verify(token)?;
        if claims.sub.is_empty() || claims.sid.is_empty() {
            return Err(TokenError::Invalid);
        }
        if self.revocations.is_revoked(&claims.sid) {
            return Err(TokenError::Revoked);
        }
        Ok(Caller::new(claims.sub, claims.roles))
    }
}

/// A fresh refresh token: 256 random bits, hex, behind a recognisable prefix.
pub fn new_refresh_token() -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    SecretString::from(format!("{REFRESH_PREFIX}{}", hex::encode(bytes)))
}

/// What the store keeps of a refresh token. A fast hash is enough (and a salt useless): the
/// token has 256 bits of entropy, so there is nothing to brute-force; it only keeps a stolen
/// database from yielding usable tokens.
pub fn refresh_token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `token` has the shape of a refresh token, checked before touching the store.
pub fn looks_like_refresh_token(token: &str) -> bool {
    token
        .strip_prefix(REFRESH_PREFIX)
        .is_some_and(|rest| rest.len() == 64 && rest.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> AccessTokens {
        let keys = KeyRing::single(tunemesh_runtime::secret::generate());
        AccessTokens::new(&keys, Duration::from_secs(900)).expect("a generated secret is long")
    }

    fn alice() -> Caller {
        Caller::new("alice".into(), vec![])
    }

    #[test]
    fn a_minted_token_verifies_to_its_caller() {
        let tokens = tokens();
        let token = tokens
            .mint(&alice(), "s1", tunemesh_runtime::clock::now_ms())
            .expect("mints");
        assert_eq!(tokens.verify(&token), Ok(alice()));
    }

    #[test]
    fn a_token_of_an_ended_session_is_refused() {
        let tokens = tokens();
        let token = tokens
            .mint(&alice(), "s1", tunemesh_runtime::clock::now_ms())
            .expect("mints");
        tokens
            .revocations()
            .revoke("s1".into(), tunemesh_runtime::clock::now_ms());
        assert_eq!(tokens.verify(&token), Err(TokenError::Revoked));
    }

    #[test]
    fn an_old_token_is_expired() {
        let tokens = tokens();
        let long_ago = tunemesh_runtime::clock::now_ms() - 3_600_000;
        let token = tokens.mint(&alice(), "s1", long_ago).expect("mints");
        assert_eq!(tokens.verify(&token), Err(TokenError::Expired));
    }

    #[test]
    fn a_short_secret_is_refused() {
        let keys = KeyRing::single(SecretString::from("short"));
        assert!(matches!(
            AccessTokens::new(&keys, Duration::from_secs(60)),
            Err(TokenError::WeakSecret)
        ));
    }

    #[test]
    fn refresh_tokens_are_random_and_recognisable() {
        let (a, b) = (new_refresh_token(), new_refresh_token());
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert!(looks_like_refresh_token(a.expose_secret()));
        assert!(!looks_like_refresh_token("tmr_xyz"));
        assert_eq!(refresh_token_hash(a.expose_secret()).len(), 64);
    }
}
