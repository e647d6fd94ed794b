//! Argon2id password hashing, off the async threads and bounded in concurrency.
//!
//! A hash is deliberately slow and memory-hungry (tens of milliseconds, ~19 MiB): run on a
//! runtime thread it would stall every other request on that thread, and run without a bound
//! a login flood would exhaust memory. So each hash takes a semaphore permit, then runs on the
//! blocking pool; the permit travels with the blocking task so a client that hangs up cannot
//! free a slot that is still working.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret as _, SecretString};
use tokio::sync::Semaphore;

use crate::settings::AuthSettings;

/// Why hashing failed; always a server-side problem.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The configured cost parameters are invalid.
    #[error("invalid argon2 parameters: {0}")]
    Params(argon2::Error),
    /// Hashing itself failed.
    #[error("password hashing failed: {0}")]
    Hash(argon2::password_hash::Error),
    /// The blocking task panicked or the pool is shut down.
    #[error("password hashing task failed")]
    Task(#[from] tokio::task::JoinError),
    /// The semaphore was closed.
    #[error("password hashing is shut down")]
    Closed,
}

/// Hashes and verifies passwords with argon2id.
#[derive(Clone)]
pub struct Passwords {
    argon: Argon2<'static>,
    permits: Arc<Semaphore>,
    // A hash of a random password, verified against when the login names no account, so an
    // unknown login costs as much as a wrong password and response times do not reveal which
    // accounts exist.
    decoy: Arc<str>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("params", self.argon.params())
            .finish_non_exhaustive()
    }
}

impl Passwords {
    /// A hasher with the configured costs.
    pub async fn new(settings: &AuthSettings) -> Result<Self, HashError> {
        let params = Params::new(
            settings.argon2_memory_kib,
            settings.argon2_iterations,
            1,
            None,
        )
        .map_err(HashError::Params)?;
        let mut passwords = Self {
            argon: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            permits: Arc::new(Semaphore::new(settings.max_concurrent_hashes.max(1))),
            decoy: Arc::from(""),
        };
        let decoy_password = SecretString::from(uuid::Uuid::new_v4().to_string());
        passwords.decoy = passwords.hash(decoy_password).await?.into();
        Ok(passwords)
    }

    /// The PHC string (`$argon2id$v=19$...`) of `password` with a fresh salt.
    pub async fn hash(&self, password: SecretString) -> Result<String, HashError> {
        let argon = self.argon.clone();
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon
                .hash_password(password.expose_secret().as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(HashError::Hash)
        })
        .await
    }

    /// Whether `password` matches `hash`; with no hash (unknown account) it spends the same
    /// work on the decoy and answers false. A stored hash that does not parse never matches.
    pub async fn verify(
        &self,
        password: SecretString,
        hash: Option<String>,
    ) -> Result<bool, HashError> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.decoy.to_string());
        let argon = self.argon.clone();
        let matches = self
            .run(move || {
                let Ok(parsed) = PasswordHash::new(&hash) else {
                    tracing::error!("a stored password hash does not parse");
                    return Ok(false);
                };
                Ok(argon
                    .verify_password(password.expose_secret().as_bytes(), &parsed)
                    .is_ok())
            })
            .await?;
        Ok(known && matches)
    }

    async fn run<T, F>(&self, work: F) -> Result<T, HashError>
    where
        F: FnOnce() -> Result<T, HashError> + Send + 'static,
        T: Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| HashError::Closed)?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> AuthSettings {
        AuthSettings {
            argon2_memory_kib: 64,
            argon2_iterations: 1,
            ..AuthSettings::default()
        }
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() -> Result<(), HashError> {
        let passwords = Passwords::new(&cheap()).await?;
        let hash = passwords.hash(SecretString::from("correct horse")).await?;
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        let right = SecretString::from("correct horse");
        let wrong = SecretString::from("correct horsf");
        assert!(passwords.verify(right, Some(hash.clone())).await?);
        assert!(!passwords.verify(wrong, Some(hash)).await?);
        Ok(())
    }

    #[tokio::test]
    async fn an_unknown_account_never_matches() -> Result<(), HashError> {
        let passwords = Passwords::new(&cheap()).await?;
        assert!(!passwords.verify(SecretString::from("x"), None).await?);
        assert!(
            !passwords
                .verify(SecretString::from("x"), Some("garbage".into()))
                .await?
        );
        Ok(())
    }
}
