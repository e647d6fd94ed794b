//! Sealed app-password secrets, for legacy token auth (`u`+`t`+`s`, `t = md5(secret + salt)`):
//! the server needs the secret itself to check a token, so an app password the user marked
//! for legacy clients also keeps its secret sealed with AES-256-GCM.
//!
//! - The keys come from settings (`gateway.subsonic.seal_keys`, `VERSION:BASE64` entries of 32
//!   bytes each), never from the database: a copy of the database opens nothing.
//! - Each sealed blob names its key version; one version seals (the highest, or
//!   `gateway.subsonic.seal_version`), all the others still open, so keys rotate: add a new
//!   version, and blobs sealed under an old one are resealed when they are next used.
//! - The nonce is random per seal (96 bits; a key seals one blob per legacy app password, far
//!   below the 2^32 bound of random GCM nonces), stored in front of the ciphertext.
//! - The associated data binds the blob to its app password id and user id: a blob copied to
//!   another row (or another user's) does not open.

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead as _, KeyInit as _, OsRng, Payload};
use aes_gcm::{AeadCore as _, Aes256Gcm, Nonce};
use base64::Engine as _;
use md5::{Digest as _, Md5};
use secrecy::SecretString;
use subtle::ConstantTimeEq as _;

use crate::accounts::SealedSecret;

/// The nonce in front of each blob.
const NONCE_BYTES: usize = 12;
/// Tells these blobs from any other use of the same key.
const AAD_DOMAIN: &[u8] = b"tunemesh subsonic app password v1";

/// Why `gateway.subsonic.seal_keys` is unusable (the message never holds key material).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SealKeysError {
    /// An entry is not `VERSION:BASE64`.
    #[error("gateway.subsonic.seal_keys: entry {0} is not VERSION:BASE64 (a version 1 to 65535)")]
    Malformed(usize),
    /// A key is not 32 bytes of standard base64.
    #[error("gateway.subsonic.seal_keys: key version {0} is not 32 bytes in base64")]
    BadKey(u16),
    /// A version is given twice.
    #[error("gateway.subsonic.seal_keys: key version {0} is given twice")]
    Duplicate(u16),
    /// The sealing version has no key.
    #[error("gateway.subsonic.seal_version {0} has no key in gateway.subsonic.seal_keys")]
    NoCurrent(u16),
    /// No entry at all.
    #[error("gateway.subsonic.seal_keys holds no key")]
    Empty,
}

/// Why a sealed secret did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum OpenError {
    /// Its key version is not configured (removed too early from the settings).
    #[error("no seal key of version {0}")]
    UnknownVersion(u16),
    /// Tampered with, moved to another row, or sealed under another key of that version.
    #[error("the sealed secret does not open")]
    Corrupt,
}

/// The configured seal keys.
#[derive(Clone)]
pub(crate) struct SealKeys {
    current: u16,
    keys: BTreeMap<u16, Aes256Gcm>,
}

impl std::fmt::Debug for SealKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Versions only, never keys.
        f.debug_struct("SealKeys")
            .field("current", &self.current)
            .field("versions", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl SealKeys {
    /// Parses `text` (`1:BASE64,2:BASE64`, separated by commas or white space); seals with
    /// `current`, or the highest version when it is `None`.
    pub(crate) fn parse(text: &str, current: Option<u16>) -> Result<Self, SealKeysError> {
        let mut keys = BTreeMap::new();
        let entries = text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|entry| !entry.is_empty());
        for (index, entry) in entries.enumerate() {
            let (version, key) = entry
                .split_once(':')
                .ok_or(SealKeysError::Malformed(index + 1))?;
            let version: u16 = version
                .parse()
                .ok()
                .filter(|v| *v > 0)
                .ok_or(SealKeysError::Malformed(index + 1))?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(key)
                .ok()
                .filter(|bytes| bytes.len() == 32)
                .ok_or(SealKeysError::BadKey(version))?;
            let cipher =
                Aes256Gcm::new_from_slice(&bytes).map_err(|_| SealKeysError::BadKey(version))?;
            if keys.insert(version, cipher).is_some() {
                return Err(SealKeysError::Duplicate(version));
            }
        }
        let highest = *keys.keys().next_back().ok_or(SealKeysError::Empty)?;
        let current = current.unwrap_or(highest);
        if !keys.contains_key(&current) {
            return Err(SealKeysError::NoCurrent(current));
        }
        Ok(Self { current, keys })
    }

    /// The version new seals use.
    pub(crate) fn current(&self) -> u16 {
        self.current
    }

    /// `secret` sealed under the current key for app password `key_id` of `user_id`.
    pub(crate) fn seal(&self, secret: &str, key_id: &str, user_id: &str) -> SealedSecret {
        let cipher = &self.keys[&self.current];
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = aad(key_id, user_id);
        let sealed = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: secret.as_bytes(),
                    aad: &aad,
                },
            )
            .expect("AES-GCM seals any secret shorter than 64 GiB");
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&sealed);
        SealedSecret {
            version: self.current,
            blob,
        }
    }

    /// The secret in `sealed`, if it was sealed for `key_id` of `user_id` under a key here.
    pub(crate) fn open(
        &self,
        sealed: &SealedSecret,
        key_id: &str,
        user_id: &str,
    ) -> Result<SecretString, OpenError> {
        let cipher = self
            .keys
            .get(&sealed.version)
            .ok_or(OpenError::UnknownVersion(sealed.version))?;
        if sealed.blob.len() < NONCE_BYTES {
            return Err(OpenError::Corrupt);
        }
        let (nonce, ciphertext) = sealed.blob.split_at(NONCE_BYTES);
        let aad = aad(key_id, user_id);
        let plain = cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| OpenError::Corrupt)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| OpenError::Corrupt)
    }
}

/// The associated data: the domain, then each id with its length, so no two (key, user)
/// pairs share one.
fn aad(key_id: &str, user_id: &str) -> Vec<u8> {
    let mut aad = AAD_DOMAIN.to_vec();
    for part in [key_id, user_id] {
        let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
        aad.extend_from_slice(&len.to_be_bytes());
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}

/// Whether `token` is md5(`secret` + `salt`) in hex, either case; compared in constant time.
pub(crate) fn token_matches(secret: &str, salt: &str, token: &str) -> bool {
    let mut md5 = Md5::new();
    md5.update(secret.as_bytes());
    md5.update(salt.as_bytes());
    let expected = hex::encode(md5.finalize());
    let given = token.to_ascii_lowercase();
    expected.as_bytes().ct_eq(given.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret as _;

    use super::*;

    fn key(byte: u8) -> String {
        base64::engine::general_purpose::STANDARD.encode([byte; 32])
    }

    fn keys(text: &str) -> SealKeys {
        SealKeys::parse(text, None).expect("valid keys")
    }

    #[test]
    fn a_sealed_secret_opens_for_its_row_only() {
        let keys = keys(&format!("1:{}", key(1)));
        let sealed = keys.seal("tm_SECRET", "k1", "u1");
        assert_eq!(sealed.version, 1);
        assert_eq!(
            keys.open(&sealed, "k1", "u1")
                .expect("opens")
                .expose_secret(),
            "tm_SECRET"
        );
        assert_eq!(
            keys.open(&sealed, "k2", "u1").err(),
            Some(OpenError::Corrupt)
        );
        assert_eq!(
            keys.open(&sealed, "k1", "u2").err(),
            Some(OpenError::Corrupt)
        );
        // The length prefixes keep ("k1u", "1") apart from ("k1", "u1").
        assert_eq!(
            keys.open(&sealed, "k1u", "1").err(),
            Some(OpenError::Corrupt)
        );
        assert_ne!(
            keys.seal("tm_SECRET", "k1", "u1").blob,
            sealed.blob,
            "a fresh nonce per seal"
        );
    }

    #[test]
    fn a_tampered_or_truncated_blob_does_not_open() {
        let keys = keys(&format!("1:{}", key(1)));
        let sealed = keys.seal("tm_SECRET", "k1", "u1");
        for at in [0, NONCE_BYTES, sealed.blob.len() - 1] {
            let mut tampered = sealed.clone();
            tampered.blob[at] ^= 1;
            assert_eq!(
                keys.open(&tampered, "k1", "u1").err(),
                Some(OpenError::Corrupt)
            );
        }
        let short = SealedSecret {
            version: 1,
            blob: vec![0; 5],
        };
        assert_eq!(
            keys.open(&short, "k1", "u1").err(),
            Some(OpenError::Corrupt)
        );
    }

    #[test]
    fn keys_rotate_old_versions_open_and_unknown_or_wrong_ones_do_not() {
        let old = keys(&format!("1:{}", key(1)));
        let sealed = old.seal("tm_SECRET", "k1", "u1");
        let rotated = keys(&format!("1:{}, 2:{}", key(1), key(2)));
        assert_eq!(rotated.current(), 2, "the highest version seals");
        assert!(rotated.open(&sealed, "k1", "u1").is_ok(), "old still opens");
        assert_eq!(rotated.seal("x", "k1", "u1").version, 2);
        let pinned =
            SealKeys::parse(&format!("1:{}\n2:{}", key(1), key(2)), Some(1)).expect("valid keys");
        assert_eq!(pinned.seal("x", "k1", "u1").version, 1);

        let dropped = keys(&format!("2:{}", key(2)));
        assert_eq!(
            dropped.open(&sealed, "k1", "u1").err(),
            Some(OpenError::UnknownVersion(1))
        );
        // Version 1 now names another key: the blob does not open under it.
        let replaced = keys(&format!("1:{}", key(3)));
        assert_eq!(
            replaced.open(&sealed, "k1", "u1").err(),
            Some(OpenError::Corrupt)
        );
    }

    #[test]
    fn malformed_key_settings_are_refused_without_echoing_keys() {
        let k = key(1);
        let cases = [
            ("", SealKeysError::Empty),
            (" , ", SealKeysError::Empty),
            (&*k, SealKeysError::Malformed(1)),
            (&*format!("0:{k}"), SealKeysError::Malformed(1)),
            (&*format!("x:{k}"), SealKeysError::Malformed(1)),
            ("1:c2hvcnQ=", SealKeysError::BadKey(1)),
            ("1:***", SealKeysError::BadKey(1)),
            (&*format!("1:{k},1:{k}"), SealKeysError::Duplicate(1)),
        ];
        for (text, expected) in cases {
            let error = SealKeys::parse(text, None).expect_err(text);
            assert_eq!(error, expected, "{text}");
            assert!(!error.to_string().contains(&k));
        }
        assert_eq!(
            SealKeys::parse(&format!("1:{k}"), Some(2)).expect_err("no key 2"),
            SealKeysError::NoCurrent(2)
        );
        assert!(!format!("{:?}", keys(&format!("1:{k}"))).contains(&k));
    }

    #[test]
    fn tokens_are_md5_of_secret_and_salt_in_either_case() {
        // md5("sesame" + "c19b2d") from the Subsonic API documentation.
        assert!(token_matches(
            "sesame",
            "c19b2d",
            "26719a1196d2a940705a59634eb18eab"
        ));
        assert!(token_matches(
            "sesame",
            "c19b2d",
            "26719A1196D2A940705A59634EB18EAB"
        ));
        assert!(!token_matches(
            "sesame",
            "c19b2e",
            "26719a1196d2a940705a59634eb18eab"
        ));
        assert!(!token_matches("sesame", "c19b2d", "26719a"));
        assert!(!token_matches("sesame", "c19b2d", ""));
    }
}
