//! The gateway's own store of accounts and refresh tokens: a small port with two adapters,
//! PostgreSQL (production, schema `gateway`) and SQLite (`tunemesh up`, under
//! `data_dir/gateway/`), held to one contract test suite (`tests/accounts_contract.rs`).
//!
//! Refresh tokens are stored only as hashes and grouped in families: one family per login,
//! each refresh marks the presented token used and adds its successor to the family.
//! Presenting a used token again means it was stolen (or the legitimate client lost a race
//! with the thief), so the whole family is revoked: both parties must log in again.
//!
//! Subsonic app passwords ([`AppPasswordStore`]) live here too: they belong to an account and
//! are revoked with it.

mod app_passwords;
mod postgres;
mod sqlite;

use std::fmt;

use async_trait::async_trait;

pub use app_passwords::{AppPassword, AppPasswordStore, SealedSecret};
pub use postgres::{MIGRATIONS as POSTGRES_MIGRATIONS, PostgresAccounts};
pub use sqlite::{MIGRATIONS as SQLITE_MIGRATIONS, SqliteAccounts};

/// An account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Stable opaque id (a UUIDv7), the `sub` of access tokens.
    pub id: String,
    /// Lowercased email address; unique.
    pub email: String,
    /// Lowercased user name; unique.
    pub username: String,
    /// Roles granted, e.g. `admin`.
    pub roles: Vec<String>,
    /// When the account was created, milliseconds since the Unix epoch.
    pub created_at_ms: i64,
}

/// A user with the PHC string of their argon2id password hash.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The account.
    pub user: User,
    /// `$argon2id$...`; never logged.
    pub password_hash: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// A refresh token as stored: its hash, never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// The user it was issued to.
    pub user_id: String,
    /// The login it descends from.
    pub family_id: String,
    /// When it stops being accepted, milliseconds since the Unix epoch.
    pub expires_at_ms: i64,
    /// When its login ends however often it is refreshed: no successor outlives it.
    pub session_expires_at_ms: i64,
}

/// The token that replaces a presented one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Successor {
    /// SHA-256 of the new token, hex.
    pub token_hash: String,
    /// When it stops being accepted, milliseconds since the Unix epoch.
    pub expires_at_ms: i64,
}

/// What presenting a refresh token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was current: it is now used and its successor is stored.
    Rotated {
        /// Whose token it was.
        user: User,
        /// Its family: the session id of the access tokens minted with the successor.
        family: String,
    },
    /// The token had been rotated already: its family is now revoked.
    Reused,
    /// Unknown, expired or revoked: nothing changed.
    Rejected,
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The email or user name is taken.
    #[error("an account with this email or user name exists")]
    Conflict,
    /// The database failed; the cause is for logs only.
    #[error("account store failed")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub(crate) fn database(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Database(Box::new(error))
    }
}

/// Accounts, refresh tokens and (through [`AppPasswordStore`]) Subsonic app passwords.
#[async_trait]
pub trait AccountStore: AppPasswordStore + Send + Sync + fmt::Debug + 'static {
    /// Stores a new account and answers it as stored; [`StoreError::Conflict`] when the email
    /// or user name is taken. The first account a deployment ever gets is also given
    /// [`ADMIN`]: claimed in the same transaction as the insert, so two sign-ups racing on an
    /// empty deployment cannot both get it.
    async fn create_user(&self, credentials: &Credentials) -> Result<User, StoreError>;

    /// The account whose (lowercased) email or user name is `login`.
    async fn find_credentials(&self, login: &str) -> Result<Option<Credentials>, StoreError>;

    /// Stores a refresh token that starts a family or continues one.
    async fn insert_refresh(&self, token: &RefreshToken) -> Result<(), StoreError>;

    /// Presents the token hashed `presented` at `now_ms`: if current, marks it used and stores
    /// its successor (same user, same family, expiring no later than the session). Atomic: of
    /// two concurrent presentations of one token, exactly one rotates it. A token whose
    /// session has ended is rejected.
    async fn rotate_refresh(
        &self,
        presented: &str,
        successor: &Successor,
        now_ms: i64,
    ) -> Result<Rotation, StoreError>;

    /// Revokes the family of the token hashed `token_hash` if it belongs to `user_id` and
    /// returns the family (the session id of its access tokens); `None` when `user_id` has no
    /// such token. Revoking a revoked family again succeeds.
    async fn revoke_family(
        &self,
        token_hash: &str,
        user_id: &str,
        now_ms: i64,
    ) -> Result<Option<String>, StoreError>;

    /// The families revoked after `since_ms`, each with when it was revoked: what every
    /// gateway replica polls to refuse the access tokens of sessions ended elsewhere.
    async fn revoked_since(&self, since_ms: i64) -> Result<Vec<(String, i64)>, StoreError>;

    /// The user names of the accounts among `ids` (at most [`MAX_NAME_LOOKUPS`]), as
    /// `(id, user name)` in no order; unknown ids are left out. What shows a playlist's owner
    /// by name.
    async fn user_names(&self, ids: &[String]) -> Result<Vec<(String, String)>, StoreError>;
}

/// The most ids one [`AccountStore::user_names`] call takes.
pub const MAX_NAME_LOOKUPS: usize = 500;

/// Roles are stored as one comma-separated column: few, short, and never queried by.
/// The role of whoever may add music and run the deployment: the first account created.
pub const ADMIN: &str = "admin";

/// `user`'s roles with [`ADMIN`] added (once).
pub(crate) fn with_admin(user: &User) -> User {
    let mut user = user.clone();
    if !user.roles.iter().any(|r| r == ADMIN) {
        user.roles.push(ADMIN.to_owned());
    }
    user
}

pub(crate) fn split_roles(roles: &str) -> Vec<String> {
    roles
        .split(',')
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect()
}
