//! Sign-up, login, refresh and logout over the account store.

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
use crate::clock::now_ms;
use crate::error::ApiError;
use crate::model::auth::{LoginRequest, Session, SignupRequest};

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
    refresh_ttl: Duration,
}

impl Auth {
    /// Sessions over `store`.
    pub fn new(
        store: Arc<dyn AccountStore>,
        passwords: Passwords,
        tokens: AccessTokens,
        refresh_ttl: Duration,
    ) -> Self {
        Self {
            store,
            passwords,
            tokens,
            refresh_ttl,
        }
    }

    /// The access-token verifier.
    pub fn tokens(&self) -> &AccessTokens {
        &self.tokens
    }

    /// Creates an account and signs it in.
    pub async fn signup(&self, request: SignupRequest) -> Result<Session, ApiError> {
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
            user: user.clone(),
            password_hash,
        };
        self.store
            .create_user(&credentials)
            .await
            .map_err(store_error)?;
        tracing::info!(user_id = %user.id, "account created");
        self.start_session(&user).await
    }

    /// Signs in with an email or user name and a password.
    pub async fn login(&self, request: LoginRequest) -> Result<Session, ApiError> {
        let key = validate::login(&request.login);
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
        // Verified even when no account matched (against a decoy), so timing says nothing.
        let matches = self
            .passwords
            .verify(request.password, hash)
            .await
            .map_err(|e| ApiError::internal(&e))?;
        match user {
            Some(user) if matches => self.start_session(&user).await,
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
            Rotation::Rotated(user) => self.session(&user, next),
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
        let revoked = self
            .store
            .revoke_family(&hash, &caller.user_id, now_ms())
            .await
            .map_err(store_error)?;
        if revoked {
            Ok(())
        } else {
            Err(ApiError::unauthenticated(BAD_REFRESH))
        }
    }

    /// Starts a new refresh-token family for `user`.
    async fn start_session(&self, user: &User) -> Result<Session, ApiError> {
        let refresh = tokens::new_refresh_token();
        let record = RefreshToken {
            token_hash: tokens::refresh_token_hash(refresh.expose_secret()),
            user_id: user.id.clone(),
            family_id: uuid::Uuid::new_v4().to_string(),
            expires_at_ms: self.refresh_expiry(),
        };
        self.store
            .insert_refresh(&record)
            .await
            .map_err(store_error)?;
        self.session(user, refresh)
    }

    fn session(&self, user: &User, refresh: SecretString) -> Result<Session, ApiError> {
        let caller = Caller {
            user_id: user.id.clone(),
            roles: user.roles.clone(),
        };
        let access_token = self
            .tokens
            .mint(&caller, now_ms())
            .map_err(|e| ApiError::internal(&e))?;
        Ok(Session {
            user_id: user.id.clone(),
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
