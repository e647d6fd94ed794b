//! Subsonic app passwords as the account store keeps them: one row per named secret, found by
//! the HMAC of the secret (`crate::subsonic::passwords` computes it), never by the secret.
//! Those marked for legacy clients also keep the secret sealed (`crate::subsonic::seal`), the
//! key that opens it never being in the database.

use async_trait::async_trait;

use super::{StoreError, User};

/// One app password as stored: no secret, only its lookup HMAC and a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppPassword {
    /// Opaque id (a UUIDv7), what the list shows and revocation names.
    pub id: String,
    /// Whose it is.
    pub user_id: String,
    /// What the user called it ("Pixel, Symfonium").
    pub name: String,
    /// HMAC-SHA-256(pepper, secret), hex; unique.
    pub lookup: String,
    /// The secret's last characters, so a user can tell two apart.
    pub hint: String,
    /// When it was created, milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// When an app last signed in with it.
    pub last_used_at_ms: Option<i64>,
    /// The client name (`c`) of that app.
    pub last_client: Option<String>,
    /// The secret sealed for legacy token auth (`t`+`s`); `None` unless the user marked the
    /// app password for legacy clients when creating it.
    pub sealed: Option<SealedSecret>,
}

impl AppPassword {
    /// Whether apps may sign in with it through `t`+`s` (it keeps a sealed secret).
    pub fn legacy_token_auth(&self) -> bool {
        self.sealed.is_some()
    }
}

/// A secret sealed with AES-256-GCM: the version of the settings key that sealed it, and the
/// nonce followed by the ciphertext and tag. Opens only for its own app password and user.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret {
    /// The key version (`gateway.subsonic.seal_keys`).
    pub version: u16,
    /// Nonce, ciphertext, tag.
    pub blob: Vec<u8>,
}

impl std::fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedSecret")
            .field("version", &self.version)
            .field("bytes", &self.blob.len())
            .finish()
    }
}

/// The app-password part of the account store; both adapters implement it.
#[async_trait]
pub trait AppPasswordStore: Send + Sync {
    /// Stores a new app password ([`StoreError::Conflict`] if its id or lookup is taken).
    async fn create_app_password(&self, password: &AppPassword) -> Result<(), StoreError>;

    /// The user's app passwords that are not revoked, newest first.
    async fn app_passwords(&self, user_id: &str) -> Result<Vec<AppPassword>, StoreError>;

    /// Revokes `id` if it is `user_id`'s and not revoked yet; whether it did.
    async fn revoke_app_password(
        &self,
        user_id: &str,
        id: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError>;

    /// The live app password whose lookup is `lookup`, with its account.
    async fn find_app_password(
        &self,
        lookup: &str,
    ) -> Result<Option<(AppPassword, User)>, StoreError>;

    /// The live app passwords of the user named `username` that keep a sealed secret, newest
    /// first, at most `limit`, each with its account; empty for an unknown user.
    async fn legacy_app_passwords(
        &self,
        username: &str,
        limit: usize,
    ) -> Result<Vec<(AppPassword, User)>, StoreError>;

    /// Replaces the sealed secret of legacy app password `id` (resealed under a newer key).
    async fn reseal_app_password(&self, id: &str, sealed: &SealedSecret) -> Result<(), StoreError>;

    /// Records that `client` signed in with `id` at `now_ms`.
    async fn record_app_password_use(
        &self,
        id: &str,
        now_ms: i64,
        client: Option<&str>,
    ) -> Result<(), StoreError>;
}
