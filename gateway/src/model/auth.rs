//! JSON shapes of `/v1/auth/*`.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /v1/auth/signup`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    /// An email address; unique, case-insensitive.
    #[schema(example = "ann@example.com")]
    pub email: String,
    /// 3 to 32 letters, digits, `_`, `-`, `.`; unique, case-insensitive.
    #[schema(example = "ann")]
    pub username: String,
    /// 8 to 128 characters.
    #[schema(value_type = String, format = Password, min_length = 8, max_length = 128)]
    pub password: SecretString,
}

/// What `POST /v1/auth/signup` answers, whether or not it created an account: a taken email
/// or user name is not revealed. Log in next with the user name (or email) and password.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SignupAccepted {
    /// What happened and what to do next, for a person.
    #[schema(
        example = "if the email and user name were free, the account exists now: log in with them"
    )]
    pub message: String,
}

impl SignupAccepted {
    /// The one answer.
    pub fn new() -> Self {
        Self {
            message: "if the email and user name were free, the account exists now: log in \
                      with them"
                .to_owned(),
        }
    }
}

impl Default for SignupAccepted {
    fn default() -> Self {
        Self::new()
    }
}

/// `POST /v1/auth/login`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The email address or the user name.
    #[schema(example = "ann@example.com")]
    pub login: String,
    /// The password.
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

/// `POST /v1/auth/refresh` and `POST /v1/auth/logout`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token of the session.
    #[schema(value_type = String)]
    pub refresh_token: SecretString,
}

/// A signed-in session: what sign-up, login and refresh answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Session {
    /// The user's id.
    pub user_id: String,
    /// The user's roles, e.g. `admin` (the first account created: it may add music), so a
    /// client can show what the user may do; the services check them on every call anyway.
    #[schema(example = json!(["admin"]))]
    pub roles: Vec<String>,
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    pub expires_in: u64,
    /// Exchange at `/v1/auth/refresh` for a new session; single use.
    pub refresh_token: String,
}
