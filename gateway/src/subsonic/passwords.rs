//! Subsonic app passwords: generated secrets a user gives to one app each, shown once, stored
//! only as HMAC-SHA-256(pepper, secret), listed with their last use, revocable. What the REST
//! routes under `/v1/me/subsonic-passwords` call, and what `/rest` verifies against
//! ([`super::auth`]). One marked for legacy clients also keeps its secret sealed
//! ([`super::seal`]), so that `t`+`s` tokens can be checked.

use std::sync::Arc;

use hmac::{Hmac, Mac as _};
use rand::Rng as _;
use secrecy::{ExposeSecret as _, SecretString};
use sha2::Sha256;
use tunemesh_runtime::clock::now_ms;

use super::seal::SealKeys;
use crate::accounts::{AccountStore, AppPassword, StoreError};
use crate::error::ApiError;

/// Marks a leaked secret as tunemesh's (greppable in logs and repositories).
const PREFIX: &str = "tm_";
/// 32 symbols without look-alikes (no 0/O, 1/I): 5 bits each, easy to type on a TV.
const ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// 26 symbols: 130 random bits.
const SYMBOLS: usize = 26;
const _: () = assert!(SYMBOLS * 5 >= 128, "at least 128 random bits");
/// Longest name a user may give one.
const MAX_NAME_CHARS: usize = 64;
/// Live app passwords one account may hold.
pub(crate) const MAX_PER_USER: usize = 50;
/// Live app passwords marked for legacy clients one account may hold: a `t`+`s` sign-in
/// opens each of them (in the worst case), so their number bounds its cost.
pub(crate) const MAX_LEGACY_PER_USER: usize = 10;

/// The HMAC key of lookups (`gateway.subsonic.lookup_pepper`).
#[derive(Clone)]
pub(crate) struct Pepper(Arc<SecretString>);

impl std::fmt::Debug for Pepper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pepper(..)")
    }
}

impl Pepper {
    /// The pepper `secret`.
    pub(crate) fn new(secret: SecretString) -> Self {
        Self(Arc::new(secret))
    }

    /// HMAC-SHA-256 of `secret` under the pepper, hex: the stored lookup.
    pub(crate) fn lookup(&self, secret: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.expose_secret().as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(secret.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// A fresh secret: `tm_` and 26 symbols of [`ALPHABET`], ASCII only (py-sonic's `enc:`
/// encoder breaks on anything else).
pub(crate) fn generate_secret() -> String {
    let mut rng = rand::rng();
    let symbols: String = (0..SYMBOLS)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    format!("{PREFIX}{symbols}")
}

/// A created app password: its row and the secret, which is never shown again.
#[derive(Debug)]
pub(crate) struct Created {
    /// As stored.
    pub(crate) password: AppPassword,
    /// The secret to give the app.
    pub(crate) secret: String,
}

/// Creating, listing and revoking a user's app passwords.
#[derive(Debug, Clone)]
pub(crate) struct AppPasswords {
    store: Arc<dyn AccountStore>,
    pepper: Pepper,
    seal: Option<Arc<SealKeys>>,
}

impl AppPasswords {
    /// App passwords in `store`, looked up under `pepper`; legacy ones sealed under `seal`
    /// (none: legacy token auth is off).
    pub(crate) fn new(
        store: Arc<dyn AccountStore>,
        pepper: Pepper,
        seal: Option<SealKeys>,
    ) -> Self {
        Self {
            store,
            pepper,
            seal: seal.map(Arc::new),
        }
    }

    /// The seal keys, for the verifier; `None` when legacy token auth is off.
    pub(crate) fn seal(&self) -> Option<&SealKeys> {
        self.seal.as_deref()
    }

    /// The store, for the verifier.
    pub(crate) fn store(&self) -> &Arc<dyn AccountStore> {
        &self.store
    }

    /// The pepper, for the verifier.
    pub(crate) fn pepper(&self) -> &Pepper {
        &self.pepper
    }

    /// Creates an app password called `name` for `user_id`; with `legacy`, its secret is also
    /// sealed so that apps may sign in with `t`+`s`.
    pub(crate) async fn create(
        &self,
        user_id: &str,
        name: &str,
        legacy: bool,
    ) -> Result<Created, ApiError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(ApiError::invalid("name must be 1 to 64 characters"));
        }
        let seal = match (legacy, &self.seal) {
            (false, _) => None,
            (true, Some(seal)) => Some(seal),
            (true, None) => {
                return Err(ApiError::invalid(
                    "this server does not offer legacy token authentication \
                     (gateway.subsonic.seal_keys is not set): create an app password without it \
                     and switch the app to password authentication",
                ));
            }
        };
        let live = self.list(user_id).await?;
        if live.len() >= MAX_PER_USER {
            return Err(ApiError::invalid(
                "too many app passwords: revoke one you no longer use first",
            ));
        }
        if legacy && live.iter().filter(|p| p.legacy_token_auth()).count() >= MAX_LEGACY_PER_USER {
            return Err(ApiError::invalid(
                "too many app passwords for legacy clients (at most 10): revoke one first",
            ));
        }
        let secret = generate_secret();
        let id = uuid::Uuid::now_v7().to_string();
        let password = AppPassword {
            sealed: seal.map(|seal| seal.seal(&secret, &id, user_id)),
            id,
            user_id: user_id.to_owned(),
            name: name.to_owned(),
            lookup: self.pepper.lookup(&secret),
            hint: secret[secret.len() - 4..].to_owned(),
            created_at_ms: now_ms(),
            last_used_at_ms: None,
            last_client: None,
        };
        self.store
            .create_app_password(&password)
            .await
            .map_err(store_error)?;
        tracing::info!(
            user_id,
            key_id = %password.id,
            legacy = legacy,
            "subsonic app password created"
        );
        Ok(Created { password, secret })
    }

    /// `user_id`'s live app passwords, newest first.
    pub(crate) async fn list(&self, user_id: &str) -> Result<Vec<AppPassword>, ApiError> {
        self.store.app_passwords(user_id).await.map_err(store_error)
    }

    /// Revokes `user_id`'s app password `id`; 404 when there is no such live one.
    pub(crate) async fn revoke(&self, user_id: &str, id: &str) -> Result<(), ApiError> {
        let revoked = self
            .store
            .revoke_app_password(user_id, id, now_ms())
            .await
            .map_err(store_error)?;
        if revoked {
            tracing::info!(user_id, key_id = id, "subsonic app password revoked");
            Ok(())
        } else {
            Err(ApiError::new(
                tunemesh_runtime::ErrorCode::NotFound,
                "no such app password",
            ))
        }
    }
}

fn store_error(error: StoreError) -> ApiError {
    ApiError::internal(&error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_ascii_and_unambiguous() {
        let secret = generate_secret();
        assert_eq!(secret.len(), PREFIX.len() + SYMBOLS);
        assert!(
            secret[PREFIX.len()..]
                .bytes()
                .all(|b| ALPHABET.contains(&b))
        );
        assert_ne!(secret, generate_secret());
    }

    #[test]
    fn lookups_depend_on_the_pepper() {
        let a = Pepper::new(SecretString::from("a".repeat(32)));
        let b = Pepper::new(SecretString::from("b".repeat(32)));
        assert_eq!(a.lookup("tm_X"), a.lookup("tm_X"));
        assert_ne!(a.lookup("tm_X"), b.lookup("tm_X"));
        assert_eq!(a.lookup("tm_X").len(), 64);
    }
}
