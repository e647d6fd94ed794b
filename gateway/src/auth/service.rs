//! Sign-up, login, refresh and logout over the account store.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use tunemesh_runtime::ErrorCode;
use tunemesh_runtime::identity::Caller;

use super::password::Passwords;
use super::tokens::{self, AccessTokens};
use super::validate;
use crate::accounts::{
    AccountStore, Credentials, RefreshToken, Rotation, StoreError, Successor, User,
};
use crate::error::ApiError;
use crate::model::auth::{LoginRequest, Session, SignupRequest};
use crate::ratelimit::login::LoginLimits;
use crate::settings::AuthSettings;
use tunemesh_runtime::clock::now_ms;

/// The one message for every failed login, so it never says whether the account exists.
const BAD_LOGIN: &str = "invalid login or password";
/// The one message for every refused refresh token.
const BAD_REFRESH: &str = "the refresh token is not valid";

/// Accounts and sessions.
#[derive(Debug, Clone)]
pub struct Auth {
    store: Arc<dyn AccountStore>,
    passwords: Passwords,
    tokens: AccessTokens,
    login_limits: Arc<LoginLimits>,
    refresh_ttl: Duration,
    session_ttl: Duration,
}

impl Auth {
    /// Sessions over `store`, lasting as `settings` say; logins limited by `login_limits`.
    pub fn new(
        store: Arc<dyn AccountStore>,
        passwords: Passwords,
        tokens: AccessTokens,
        login_limits: Arc<LoginLimits>,
        settings: &AuthSettings,
    ) -> Self {
        Self {
            store,
            passwords,
            tokens,
            login_limits,
            refresh_ttl: settings.refresh_ttl,
            session_ttl: settings.session_ttl,
        }
    }

    /// Reads the sessions other replicas ended, so their access tokens are refused here too.
    pub async fn poll_revocations(&self) -> Result<(), crate::accounts::StoreError> {
        self.tokens.revocations().poll(self.store.as_ref()).await
    }

    /// The access-token verifier.
    pub fn tokens(&self) -> &AccessTokens {
        &self.tokens
    }

    /// Creates an account if its email and user name are free, and answers the same either
    /// way: a taken email or user name is never revealed (no account enumeration). The caller
    /// logs in next; docs/operations.md "Accounts" explains this mail-less flow. Both paths
    /// hash the password and try the insert, so their timing says nothing either.
    pub async fn signup(&self, request: SignupRequest) -> Result<(), ApiError> {
        let email = validate::email(&request.email)?;
        let username = validate::username(&request.username)?;
        validate::new_password(request.password.expose_secret())?;
        let password_hash = self
            .passwords
            .hash(request.password)
            .await
            .map_err(|e| ApiError::internal(&e))?;
        let user = User {
            id: uuid::Uuid::now_v7().to_string(),
            email,
            username,
            roles: Vec::new(),
            created_at_ms: now_ms(),
        };
        let credentials = Credentials {
            user,
            password_hash,
        };
        match self.store.create_user(&credentials).await {
            Ok(user) => tracing::info!(user_id = %user.id, roles = ?user.roles, "account created"),
            // Neither the email nor the name goes to the log: it would make the log the oracle.
            Err(StoreError::Conflict) => tracing::info!("sign-up for a taken email or user name"),
            Err(error) => return Err(store_error(error)),
        }
        Ok(())
    }

    /// Signs in with an email or user name and a password, from `client`.
    pub async fn login(&self, request: LoginRequest, client: IpAddr) -> Result<Session, ApiError> {
        let key = validate::login(&request.login);
        if let Some(key) = &key {
            self.login_limits.per_account_ip(key, client)?;
        }
        let credentials = match &key {
            Some(key) => self
                .store
                .find_credentials(key)
                .await
                .map_err(store_error)?,
            None => None,
        };
        let (user, hash) = match credentials {
            Some(c) => (Some(c.user), Some(c.password_hash)),
            None => (None, None),
        };
        // An account is keyed by its id, so its email and its user name share one budget; an
        // unknown login by what was typed, so both answer alike (no account enumeration).
        let account = user
            .as_ref()
            .map_or_else(|| key.clone().unwrap_or_default(), |u| u.id.clone());
        self.login_limits.per_account(&account, client)?;
        // Verified even when no account matched (against a decoy), so timing says nothing.
        let matches = self
            .passwords
            .verify(request.password, hash)
            .await
            .map_err(|e| ApiError::internal(&e))?;
        match user {
            Some(user) if matches => {
                self.login_limits.signed_in(&account, client);
                self.start_session(&user).await
            }
            _ => Err(ApiError::unauthenticated(BAD_LOGIN)),
        }
    }

    /// Exchanges a refresh token for a new session; the token is used up. Presenting a used
    /// token revokes every token of its login.
    pub async fn refresh(&self, refresh_token: &SecretString) -> Result<Session, ApiError> {
        let presented = refresh_token.expose_secret();
        if !tokens::looks_like_refresh_token(presented) {
            return Err(ApiError::unauthenticated(BAD_REFRESH));
        }
        let next = tokens::new_refresh_token();
        let successor = Successor {
            token_hash: tokens::refresh_token_hash(next.expose_secret()),
            expires_at_ms: self.refresh_expiry(),
        };
        let rotation = self
            .store
            .rotate_refresh(&tokens::refresh_token_hash(presented), &successor, now_ms())
            .await
            .map_err(store_error)?;
        match rotation {
            Rotation::Rotated { user, family } => self.session(&user, &family, next),
            Rotation::Reused => {
                tracing::warn!(
                    "a rotated refresh token was presented again; its family is revoked"
                );
                Err(ApiError::unauthenticated(BAD_REFRESH))
            }
            Rotation::Rejected => Err(ApiError::unauthenticated(BAD_REFRESH)),
        }
    }

    /// Ends the caller's session that `refresh_token` belongs to; a token of another user is
    /// refused (and left alone).
    pub async fn logout(
        &self,
        caller: &Caller,
        refresh_token: &SecretString,
    ) -> Result<(), ApiError> {
        let presented = refresh_token.expose_secret();
        if !tokens::looks_like_refresh_token(presented) {
            return Err(ApiError::unauthenticated(BAD_REFRESH));
        }
        let hash = tokens::refresh_token_hash(presented);
        let now = now_ms();
        let revoked = self
            .store
            .revoke_family(&hash, &caller.user_id, now)
            .await
            .map_err(store_error)?;
        match revoked {
            Some(session) => {
                // Here at once; the other replicas read it from the store on their next poll.
                self.tokens.revocations().revoke(session, now);
                Ok(())
            }
            None => Err(ApiError::unauthenticated(BAD_REFRESH)),
        }
    }

    /// Starts a new refresh-token family for `user`.
    async fn start_session(&self, user: &User) -> Result<Session, ApiError> {
        let refresh = tokens::new_refresh_token();
        let session_ttl = i64::try_from(self.session_ttl.as_millis()).unwrap_or(i64::MAX);
        let record = RefreshToken {
            token_hash: tokens::refresh_token_hash(refresh.expose_secret()),
            user_id: user.id.clone(),
            family_id: uuid::Uuid::new_v4().to_string(),
            expires_at_ms: self.refresh_expiry(),
            session_expires_at_ms: now_ms().saturating_add(session_ttl),
        };
        self.store
            .insert_refresh(&record)
            .await
            .map_err(store_error)?;
        self.session(user, &record.family_id, refresh)
    }

    /// Tokens of session (refresh-token family) `sid`.
    fn session(&self, user: &User, sid: &str, refresh: SecretString) -> Result<Session, ApiError> {
        let caller = Caller::new(user.id.clone(), user.roles.clone());
        let access_token = self
            .tokens
            .mint(&caller, sid, now_ms())
            .map_err(|e| ApiError::internal(&e))?;
        Ok(Session {
            user_id: user.id.clone(),
            roles: user.roles.clone(),
            access_token,
            token_type: "Bearer".to_owned(),
            expires_in: self.tokens.ttl().as_secs(),
            refresh_token: refresh.expose_secret().to_owned(),
        })
    }

    fn refresh_expiry(&self) -> i64 {
        let ttl = i64::try_from(self.refresh_ttl.as_millis()).unwrap_or(i64::MAX);
        now_ms().saturating_add(ttl)
    }
}

fn store_error(error: StoreError) -> ApiError {
    match error {
        StoreError::Conflict => ApiError::new(
            ErrorCode::AlreadyExists,
            "an account with this email or username exists",
        ),
        StoreError::Database(_) => ApiError::internal(&error),
    }
}
