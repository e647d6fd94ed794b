//! JSON shapes of the caller's Subsonic app passwords (`/v1/me/subsonic-passwords`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::AppPassword;

/// A new app password's name, and whether legacy clients may use it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubsonicPassword {
    /// Which app or device it is for ("Pixel, Symfonium"), 1 to 64 characters.
    pub name: String,
    /// For apps that sign in only with `t`+`s` tokens (older DSub, Feishin's default,
    /// Symfonium…): the secret is then also kept sealed on the server (AES-256-GCM under a key
    /// outside the database), which token checks need. Refused when the server has no seal
    /// keys. Default false.
    #[serde(default)]
    pub legacy_token_auth: bool,
}

/// One app password, without its secret.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubsonicPassword {
    /// Its id, for revocation.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The secret's last 4 characters, to tell two apart.
    pub hint: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When an app last signed in with it (RFC 3339; updated at most once a minute).
    pub last_used_at: Option<String>,
    /// The client name (`c`) that app sent.
    pub last_client: Option<String>,
    /// Whether apps may also sign in with it through `t`+`s` tokens (legacy clients).
    #[serde(default)]
    pub legacy_token_auth: bool,
}

impl From<AppPassword> for SubsonicPassword {
    fn from(password: AppPassword) -> Self {
        let legacy_token_auth = password.legacy_token_auth();
        Self {
            id: password.id,
            name: password.name,
            hint: password.hint,
            created_at: rfc3339_ms(password.created_at_ms),
            last_used_at: password.last_used_at_ms.map(rfc3339_ms),
            legacy_token_auth,
            last_client: password.last_client,
        }
    }
}

/// A created app password: the only time its secret is shown.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedSubsonicPassword {
    /// The secret: the app's password (`p`) or API key (`apiKey`). Never shown again.
    pub password: String,
    /// The app password as listed.
    #[serde(flatten)]
    pub listed: SubsonicPassword,
}

/// The caller's app passwords.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubsonicPasswords {
    /// Live ones, newest first.
    pub passwords: Vec<SubsonicPassword>,
}

fn rfc3339_ms(ms: i64) -> String {
    let time = prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: i32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
    };
    time.to_string()
}
