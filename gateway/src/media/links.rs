//! Signed media links: an `<audio src>` cannot send a bearer header, so the gateway mints a
//! short-lived token bound to one user, one track and one quality, carried in the link's
//! `token` query parameter. The audio and segment routes take it instead of the header.
//!
//! The token is an HS256 JWT with audience `tunemesh-media` under a key derived from the
//! access-token secret, so it is never accepted as an access token (other audience, other
//! key) and an access token is never accepted here.

use std::time::Duration;

use jsonwebtoken::{Algorithm, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tunemesh_runtime::identity::Caller;
use tunemesh_runtime::secret::KeyRing;

use crate::auth::hs256::Hs256;
use crate::auth::tokens::TokenError;
use crate::model::catalog::Quality;

/// `aud` of every media token.
const AUDIENCE: &str = "tunemesh-media";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    trk: String,
    q: Quality,
    aud: String,
    exp: u64,
}

/// What a valid media token allows: `caller` may fetch `track_id` at `quality`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaGrant {
    /// Who the link was minted for.
    pub caller: Caller,
    /// The only track it opens.
    pub track_id: String,
    /// The only quality it opens.
    pub quality: Quality,
}

/// Mints and verifies media tokens.
#[derive(Debug, Clone)]
pub struct MediaTokens {
    keys: Hs256,
    ttl: Duration,
}

impl MediaTokens {
    /// Keys derived from the access-token secrets `keys` (the previous key of a rotation
    /// still verifies), links living `ttl`.
    pub fn new(keys: &KeyRing, ttl: Duration) -> Self {
        let derive = |secret: &[u8]| {
            Sha256::new()
                .chain_update(b"tunemesh media link key\0")
                .chain_update(secret)
                .finalize()
                .to_vec()
        };
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "aud", "sub"]);
        validation.leeway = 0;
        Self {
            keys: Hs256::from_ring(keys, derive, validation),
            ttl,
        }
    }

    /// A token for `caller` to fetch `track_id` at `quality`, valid from `now_s` (seconds since
    /// the epoch) for the configured lifetime; with its expiry.
    pub fn mint(
        &self,
        caller: &Caller,
        track_id: &str,
        quality: Quality,
        now_s: u64,
    ) -> Result<(String, u64), jsonwebtoken::errors::Error> {
        let exp = now_s.saturating_add(self.ttl.as_secs().max(1));
        let claims = Claims {
            sub: caller.user_id.clone(),
            trk: track_id.to_owned(),
            q: quality,
            aud: AUDIENCE.to_owned(),
            exp,
        };
        Ok((self.keys.sign(&claims)?, exp))
    }

    /// What `token` allows, if it is genuine and current.
    pub fn verify(&self, token: &str) -> Result<MediaGrant, TokenError> {
        let claims: Claims = self.keys.verify(token)?;
        if claims.sub.is_empty() {
            return Err(TokenError::Invalid);
        }
        Ok(MediaGrant {
            // A link opens one file; it never carries the user's roles.
            caller: Caller::new(claims.sub, Vec::new()),
            track_id: claims.trk,
            quality: claims.q,
        })
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;
    use tunemesh_runtime::clock::now_secs;

    use super::*;

    fn tokens(secret: &str) -> MediaTokens {
        MediaTokens::new(
            &KeyRing::single(SecretString::from(secret)),
            Duration::from_secs(3600),
        )
    }

    #[test]
    fn a_token_opens_exactly_its_track_and_quality() {
        let media = tokens("a-secret-of-at-least-thirty-two-bytes!");
        let ann = Caller::new("ann".into(), vec!["admin".into()]);
        let (token, exp) = media
            .mint(&ann, "t1", Quality::HIGH, now_secs())
            .expect("mint");
        assert!(exp > now_secs());
        let grant = media.verify(&token).expect("valid");
        assert_eq!(grant.track_id, "t1");
        assert_eq!(grant.quality, Quality::HIGH);
        assert_eq!(grant.caller.user_id, "ann");
        assert!(grant.caller.roles.is_empty());
    }

    #[test]
    fn expired_forged_and_foreign_tokens_are_refused() {
        let media = tokens("a-secret-of-at-least-thirty-two-bytes!");
        let ann = Caller::new("ann".into(), vec![]);
        let (old, _) = media.mint(&ann, "t1", Quality::LOW, 1_000).expect("mint");
        assert!(matches!(media.verify(&old), Err(TokenError::Expired)));
        let other = tokens("another-secret-of-thirty-two-bytes-or-more");
        let (forged, _) = other
            .mint(&ann, "t1", Quality::LOW, now_secs())
            .expect("mint");
        assert!(matches!(media.verify(&forged), Err(TokenError::Invalid)));
        assert!(media.verify("x.y.z").is_err());
    }
}
