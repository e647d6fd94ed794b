//! Settings of the Subsonic API (`[gateway.subsonic]`, `TUNEMESH_GATEWAY__SUBSONIC__*`).

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use tunemesh_runtime::secret::{SecretError, SecretSetting};

use crate::settings::Quota;

/// The `/rest` API that Subsonic and OpenSubsonic apps speak (`crate::subsonic`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SubsonicSettings {
    /// HMAC-SHA-256 key of app-password lookups: the store holds only HMAC(pepper, secret), so
    /// a copy of the database alone verifies nothing. At least 32 random bytes, different
    /// from the other secrets. No default: `tunemesh serve gateway` refuses to start without
    /// it; `tunemesh up` generates one in its data dir.
    pub lookup_pepper: Option<SecretString>,
    /// A file holding `lookup_pepper` instead (a mounted Kubernetes or Docker secret).
    pub lookup_pepper_file: Option<PathBuf>,
    /// AES-256-GCM keys sealing the secrets of app passwords marked for legacy clients
    /// (token auth, `t`+`s`): `VERSION:BASE64` entries of 32 random bytes each, separated by
    /// commas or white space (`1:$(openssl rand -base64 32)`). Optional: without it legacy
    /// token auth is off (`t`+`s` answers 41, which DSub and Sublime Music follow by sending
    /// `p`; creating a legacy app password is refused). `tunemesh up` generates one. To
    /// rotate, add a higher version: it seals from then on, older versions still open (and
    /// what they sealed is resealed when next used); remove an old version only when no app
    /// password sealed under it is left, or those stop working with `t`+`s`.
    pub seal_keys: Option<SecretString>,
    /// A file holding `seal_keys` instead (a mounted Kubernetes or Docker secret).
    pub seal_keys_file: Option<PathBuf>,
    /// The version in `seal_keys` that seals; the highest when unset.
    pub seal_version: Option<u16>,
    /// Failed sign-ins per user name on `/rest` from addresses that have not signed in as that
    /// user before, besides the per-address `rate_limits.auth_per_ip`: a botnet guessing one
    /// user's password from many addresses shares this bucket. While it is empty, sign-ins as
    /// that user from new addresses are refused; addresses that signed in before are not
    /// (so an attacker cannot lock the owner out). 0 per minute turns it off.
    pub failures_per_user: Quota,
    /// Largest `/rest` request body (form POST): a 2,000-song `createPlaylist` is ~80 KB.
    pub max_body_bytes: usize,
    /// How long a verified credential is trusted without asking the store again: bounds how
    /// long a revoked app password still works on this replica.
    #[serde(with = "humantime_serde")]
    pub auth_cache_ttl: Duration,
    /// Verified credentials remembered at most.
    pub auth_cache_capacity: u64,
}

impl Default for SubsonicSettings {
    fn default() -> Self {
        Self {
            lookup_pepper: None,
            lookup_pepper_file: None,
            seal_keys: None,
            seal_keys_file: None,
            seal_version: None,
            failures_per_user: Quota {
                per_minute: 5,
                burst: 20,
            },
            max_body_bytes: 4 << 20,
            auth_cache_ttl: Duration::from_secs(60),
            auth_cache_capacity: 10_000,
        }
    }
}

impl SubsonicSettings {
    /// The name of the secret setting, as errors say it.
    pub const PEPPER_SETTING: &'static str = "gateway.subsonic.lookup_pepper";

    /// The name of the seal keys setting, as errors say it.
    pub const SEAL_KEYS_SETTING: &'static str = "gateway.subsonic.seal_keys";

    /// Whether seal keys (value or file) are configured.
    pub fn has_seal_keys(&self) -> bool {
        self.seal_keys.is_some() || self.seal_keys_file.is_some()
    }

    /// The seal keys as configured (read, at least 32 bytes), or `None`: legacy token auth off.
    pub fn seal_keys(&self) -> Result<Option<SecretString>, SecretError> {
        SecretSetting {
            name: Self::SEAL_KEYS_SETTING,
            env: "TUNEMESH_GATEWAY__SUBSONIC__SEAL_KEYS",
            value: self.seal_keys.as_ref(),
            file: self.seal_keys_file.as_deref(),
        }
        .resolve()
    }

    /// Fresh seal keys: version 1, 32 random bytes (what `tunemesh up` and test clusters use).
    pub fn generate_seal_keys() -> SecretString {
        use base64::Engine as _;
        use rand::RngCore as _;
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        SecretString::from(format!(
            "1:{}",
            base64::engine::general_purpose::STANDARD.encode(key)
        ))
    }

    /// Whether a pepper (value or file) is configured.
    pub fn has_pepper(&self) -> bool {
        self.lookup_pepper.is_some() || self.lookup_pepper_file.is_some()
    }

    /// The pepper, read and checked; missing is an error.
    pub fn pepper(&self) -> Result<SecretString, SecretError> {
        SecretSetting {
            name: Self::PEPPER_SETTING,
            env: "TUNEMESH_GATEWAY__SUBSONIC__LOOKUP_PEPPER",
            value: self.lookup_pepper.as_ref(),
            file: self.lookup_pepper_file.as_deref(),
        }
        .require()
    }
}
