//! Ed25519 keys in the PEM forms OpenSSL writes: the gateway's private key as PKCS#8
//! (`openssl genpkey -algorithm ed25519`), public keys as SPKI (`openssl pkey -pubout`).

use std::path::PathBuf;

use ed25519_dalek::pkcs8::EncodePublicKey as _;
#[cfg(test)]
use ed25519_dalek::pkcs8::SecretDocument;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _, EncodePrivateKey as _};
use ed25519_dalek::{SigningKey, VerifyingKey};
use rand::RngCore as _;
use secrecy::{ExposeSecret as _, SecretString};

const BEGIN_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----";
const END_PUBLIC: &str = "-----END PUBLIC KEY-----";

/// Why a key could not be used; never includes key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The signing key is not an Ed25519 PKCS#8 PEM.
    #[error("gateway.assertion.signing_key is not an Ed25519 private key in PKCS#8 PEM")]
    Private,
    /// A public key is not an Ed25519 SPKI PEM.
    #[error("identity.gateway_public_keys holds a key that is not an Ed25519 public key in PEM")]
    Public,
    /// A public key file could not be read.
    #[error("cannot read identity.gateway_public_keys_files {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A fresh Ed25519 key pair: the private key (PKCS#8 PEM) and its public key (SPKI PEM).
pub fn generate_pair() -> (SecretString, String) {
    let mut seed = [0u8; 32];
    rand::rng().fill_bytes(&mut seed);
    let key = SigningKey::from_bytes(&seed);
    let private = key
        .to_pkcs8_pem(LineEnding::LF)
        .expect("an Ed25519 key encodes");
    let public = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("an Ed25519 key encodes");
    (SecretString::from(private.to_string()), public)
}

/// A fresh Ed25519 private key (PKCS#8 PEM), as `tunemesh up` keeps in its data dir.
pub fn generate_private() -> SecretString {
    generate_pair().0
}

/// The private key in `pem` (PKCS#8), parsed once for the signer.
pub(crate) fn private_key(pem: &SecretString) -> Result<SigningKey, KeyError> {
    SigningKey::from_pkcs8_pem(pem.expose_secret().trim()).map_err(|_| KeyError::Private)
}

/// The private key in `pem`, as PKCS#8 DER (what `jsonwebtoken` takes).
#[cfg(test)]
pub(crate) fn private_der(pem: &SecretString) -> Result<SecretDocument, KeyError> {
    SigningKey::from_pkcs8_pem(pem.expose_secret().trim())
        .map_err(|_| KeyError::Private)?
        .to_pkcs8_der()
        .map_err(|_| KeyError::Private)
}

/// The public key (SPKI PEM) of the private key in `pem`: what `tunemesh up` gives services.
pub fn public_key_of(pem: &SecretString) -> Result<String, KeyError> {
    SigningKey::from_pkcs8_pem(pem.expose_secret().trim())
        .map_err(|_| KeyError::Private)?
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|_| KeyError::Private)
}

/// Every public key in `text` (one or more PEM blocks), as raw 32-byte keys.
pub(crate) fn public_keys_in(text: &str) -> Result<Vec<[u8; 32]>, KeyError> {
    let mut keys = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN_PUBLIC) {
        let end = rest[start..].find(END_PUBLIC).ok_or(KeyError::Public)? + start;
        let block = &rest[start..end + END_PUBLIC.len()];
        let key = VerifyingKey::from_public_key_pem(block).map_err(|_| KeyError::Public)?;
        keys.push(key.to_bytes());
        rest = &rest[end + END_PUBLIC.len()..];
    }
    if keys.is_empty() || !rest.trim().is_empty() {
        return Err(KeyError::Public);
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_pair_matches_and_parses() {
        let (private, public) = generate_pair();
        assert_eq!(public_key_of(&private).expect("private parses"), public);
        assert_eq!(public_keys_in(&public).expect("public parses").len(), 1);
        private_der(&private).expect("der");
    }

    #[test]
    fn several_public_keys_in_one_text_are_all_read() {
        let bundle = format!("{}\n{}", generate_pair().1, generate_pair().1);
        assert_eq!(public_keys_in(&bundle).expect("parses").len(), 2);
    }

    #[test]
    fn anything_else_is_no_public_key() {
        assert!(public_keys_in("").is_err());
        assert!(public_keys_in("not a key").is_err());
        let (private, _) = generate_pair();
        assert!(public_keys_in(private.expose_secret()).is_err());
    }
}
