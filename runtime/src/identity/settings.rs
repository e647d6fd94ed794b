//! The two sides' settings: the services' `[identity]` (the gateway's public keys, nothing
//! secret) and the gateway's `[gateway.assertion]` (its Ed25519 signing key).

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Deserializer};

use super::keys::{self, KeyError};
use crate::secret::{SecretError, SecretSetting};

/// What replaced the shared HS256 mesh key, said by the error an old configuration gets.
const RETIRED: &str = "identity.secret (the shared HS256 mesh key) is retired: the gateway \
     signs caller assertions with gateway.assertion.signing_key (Ed25519) and services verify \
     them with identity.gateway_public_keys; remove the identity.secret settings";

/// Settings of the services' side of caller identity (`[identity]`): public keys only.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentitySettings {
    /// The gateway's Ed25519 public keys (SPKI PEM, `-----BEGIN PUBLIC KEY-----`): an
    /// assertion signed by any of them is accepted. A list (or one text with several PEM
    /// blocks), so a rotation can overlap: add the new key, roll the gateway, drop the old.
    /// There is no default: `tunemesh serve` refuses to start a service without one;
    /// `tunemesh up` passes the key it generated.
    #[serde(deserialize_with = "one_or_many")]
    pub gateway_public_keys: Vec<String>,
    /// Files holding gateway public keys (PEM, one or more each), e.g. a mounted ConfigMap.
    #[serde(deserialize_with = "one_or_many_paths")]
    pub gateway_public_keys_files: Vec<PathBuf>,
    /// Clock skew tolerated on `exp`.
    #[serde(with = "humantime_serde")]
    pub leeway: Duration,
    /// The retired HS256 settings (`secret`, `secret_file`, `previous_secret`, ...): any
    /// value is refused with a message saying what replaced them.
    #[serde(
        rename = "secret",
        alias = "secret_file",
        alias = "previous_secret",
        alias = "previous_secret_file",
        alias = "rotation_overlap",
        alias = "ttl"
    )]
    pub secret: Retired,
}

/// A retired setting: deserializing any value fails with what replaced it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Retired;

impl<'de> Deserialize<'de> for Retired {
    fn deserialize<D: Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom(RETIRED))
    }
}

impl Default for IdentitySettings {
    fn default() -> Self {
        Self {
            gateway_public_keys: Vec::new(),
            gateway_public_keys_files: Vec::new(),
            leeway: Duration::from_secs(5),
            secret: Retired,
        }
    }
}

impl IdentitySettings {
    /// The name of the public keys setting, as errors say it.
    pub const KEYS_SETTING: &'static str = "identity.gateway_public_keys";

    /// Settings trusting the gateway key whose public half is `pem`.
    pub fn with_public_key(pem: String) -> Self {
        Self {
            gateway_public_keys: vec![pem],
            ..Self::default()
        }
    }

    /// Settings trusting the key of [`super::AssertionSigner::for_tests`].
    #[cfg(feature = "testsuite")]
    pub fn for_tests() -> Self {
        Self::with_public_key(super::AssertionSigner::test_public_key())
    }

    /// Whether any public key (value or file) is configured.
    pub fn has_keys(&self) -> bool {
        !self.gateway_public_keys.is_empty() || !self.gateway_public_keys_files.is_empty()
    }

    /// Every configured public key, read and parsed; an error names the bad one.
    pub fn public_keys(&self) -> Result<Vec<[u8; 32]>, KeyError> {
        let mut texts = self.gateway_public_keys.clone();
        for path in &self.gateway_public_keys_files {
            texts.push(
                std::fs::read_to_string(path).map_err(|source| KeyError::Read {
                    path: path.clone(),
                    source,
                })?,
            );
        }
        let mut found = Vec::new();
        for text in &texts {
            found.extend(keys::public_keys_in(text)?);
        }
        Ok(found)
    }
}

/// Settings of the gateway's signing key (`[gateway.assertion]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AssertionSettings {
    /// The gateway's Ed25519 private key, PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`,
    /// `openssl genpkey -algorithm ed25519`). Only the gateway holds it; services get the
    /// public half (`identity.gateway_public_keys`). There is no default: `tunemesh serve
    /// gateway` refuses to start without it; `tunemesh up` generates one in its data dir.
    pub signing_key: Option<SecretString>,
    /// A file holding `signing_key` instead (a mounted Kubernetes or Docker secret).
    pub signing_key_file: Option<PathBuf>,
    /// How long an assertion stays valid: one call's start, so short.
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
}

impl Default for AssertionSettings {
    fn default() -> Self {
        Self {
            signing_key: None,
            signing_key_file: None,
            ttl: Duration::from_secs(30),
        }
    }
}

impl AssertionSettings {
    /// The name of the signing key setting, as errors say it.
    pub const KEY_SETTING: &'static str = "gateway.assertion.signing_key";

    /// Settings with `pem` as the signing key.
    pub fn with_key(pem: SecretString) -> Self {
        Self {
            signing_key: Some(pem),
            ..Self::default()
        }
    }

    /// Settings with the key of [`super::AssertionSigner::for_tests`] (one per test process).
    #[cfg(feature = "testsuite")]
    pub fn for_tests() -> Self {
        Self::with_key(super::signer::test_private_key())
    }

    /// Whether a signing key (value or file) is configured.
    pub fn has_key(&self) -> bool {
        self.signing_key.is_some() || self.signing_key_file.is_some()
    }

    /// The configured signing key's PEM, read; [`SecretError::Missing`] without one.
    pub fn key_pem(&self) -> Result<SecretString, SecretError> {
        SecretSetting {
            name: Self::KEY_SETTING,
            env: "TUNEMESH_GATEWAY__ASSERTION__SIGNING_KEY",
            value: self.signing_key.as_ref(),
            file: self.signing_key_file.as_deref(),
        }
        .require()
    }
}

/// A list, or one string (an environment variable) taken as one entry.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Ok(match OneOrMany::<String>::deserialize(deserializer)? {
        OneOrMany::One(one) if one.trim().is_empty() => Vec::new(),
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

/// Paths: a list, or one string of comma-separated paths.
fn one_or_many_paths<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<PathBuf>, D::Error> {
    Ok(match OneOrMany::<String>::deserialize(deserializer)? {
        OneOrMany::One(one) => one
            .split(',')
            .map(str::trim)
            .filter(|path| !path.is_empty())
            .map(PathBuf::from)
            .collect(),
        OneOrMany::Many(many) => many.into_iter().map(PathBuf::from).collect(),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Root {
        #[allow(dead_code)]
        identity: IdentitySettings,
    }

    #[test]
    fn the_retired_shared_secret_is_refused_with_what_replaced_it() {
        for setting in ["secret", "secret_file", "previous_secret"] {
            let toml = format!("[identity]\n{setting} = \"x\"\n");
            let error = crate::settings::load_from_str::<Root>(&toml, &HashMap::new())
                .expect_err("retired");
            let message = error.to_string();
            assert!(
                message.contains("gateway.assertion.signing_key")
                    && message.contains("identity.gateway_public_keys"),
                "{message}"
            );
        }
    }

    #[test]
    fn public_keys_come_from_a_list_or_one_variable() {
        let (_, public) = keys::generate_pair();
        let env = HashMap::from([(
            "TUNEMESH_IDENTITY__GATEWAY_PUBLIC_KEYS".to_owned(),
            public.clone(),
        )]);
        let root: Root = crate::settings::load_from_str("", &env).expect("loads");
        assert_eq!(root.identity.public_keys().expect("parses").len(), 1);
        let toml = format!("[identity]\ngateway_public_keys = [\"\"\"{public}\"\"\"]\n");
        let root: Root = crate::settings::load_from_str(&toml, &HashMap::new()).expect("loads");
        assert_eq!(root.identity.public_keys().expect("parses").len(), 1);
    }
}
