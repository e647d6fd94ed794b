//! Settings of the Subsonic API (`[gateway.subsonic]`, `TUNEMESH_GATEWAY__SUBSONIC__*`).

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use tunemesh_runtime::secret::{SecretError, SecretSetting};

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
            max_body_bytes: 4 << 20,
            auth_cache_ttl: Duration::from_secs(60),
            auth_cache_capacity: 10_000,
        }
    }
}

impl SubsonicSettings {
    /// The name of the secret setting, as errors say it.
    pub const PEPPER_SETTING: &'static str = "gateway.subsonic.lookup_pepper";

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
