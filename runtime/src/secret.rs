//! Signing secrets: where they come from (the value, or a `*_file` as Kubernetes and Docker
//! secrets mount them), how strong they must be, the previous key a rotation still accepts,
//! and the files `tunemesh up` generates on its first start.
//!
//! There is no built-in secret: a compiled-in default is public, so anyone could sign with it.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::RngCore as _;
use secrecy::{ExposeSecret as _, SecretString};

/// Shortest accepted secret: HS256 is only as strong as its key.
pub const MIN_SECRET_BYTES: usize = 32;

/// The compiled-in defaults of earlier versions: long enough, but published, so refused.
const PUBLISHED: &[&str] = &[
    "tunemesh-dev-mesh-secret-change-me",
    "tunemesh-dev-access-token-secret-change-me",
];

/// Why a secret setting is unusable; the message names the setting.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Neither the value nor a file is configured.
    #[error(
        "{setting} is not set: give at least {MIN_SECRET_BYTES} random bytes in {env} or a file in {env}_FILE"
    )]
    Missing {
        /// The setting, e.g. `gateway.auth.jwt_secret`.
        setting: &'static str,
        /// Its environment variable, e.g. `TUNEMESH_GATEWAY__AUTH__JWT_SECRET`.
        env: &'static str,
    },
    /// Both the value and a file are configured.
    #[error("{setting} and {setting}_file are both set: give one")]
    Ambiguous {
        /// The setting.
        setting: &'static str,
    },
    /// Shorter than [`MIN_SECRET_BYTES`].
    #[error("{setting} is shorter than {MIN_SECRET_BYTES} bytes")]
    Weak {
        /// The setting.
        setting: &'static str,
    },
    /// A default published by an earlier version.
    #[error("{setting} is a published default secret: generate your own")]
    Published {
        /// The setting.
        setting: &'static str,
    },
    /// Two secrets that must differ are the same.
    #[error("{setting} must differ from {other}")]
    Shared {
        /// The setting.
        setting: &'static str,
        /// The one it repeats.
        other: &'static str,
    },
    /// The file could not be read.
    #[error("cannot read {setting}_file {}", path.display())]
    Read {
        /// The setting.
        setting: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// One secret setting: its name, its variable, and what the settings hold for it.
#[derive(Debug, Clone, Copy)]
pub struct SecretSetting<'a> {
    /// The setting, e.g. `gateway.auth.jwt_secret`.
    pub name: &'static str,
    /// Its environment variable, e.g. `TUNEMESH_GATEWAY__AUTH__JWT_SECRET`.
    pub env: &'static str,
    /// The value, if given inline.
    pub value: Option<&'a SecretString>,
    /// A file holding the value, if given.
    pub file: Option<&'a Path>,
}

impl SecretSetting<'_> {
    /// The configured secret, or `None` when neither value nor file is set; checked for length
    /// and against published defaults. A file's trailing newline is not part of the secret.
    pub fn resolve(&self) -> Result<Option<SecretString>, SecretError> {
        let setting = self.name;
        let secret = match (self.value, self.file) {
            (Some(_), Some(_)) => return Err(SecretError::Ambiguous { setting }),
            (None, None) => return Ok(None),
            (Some(value), None) => value.clone(),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|source| SecretError::Read {
                    setting,
                    path: path.to_owned(),
                    source,
                })?;
                SecretString::from(text.trim_end_matches(['\r', '\n']).to_owned())
            }
        };
        let text = secret.expose_secret();
        if PUBLISHED.contains(&text) {
            return Err(SecretError::Published { setting });
        }
        if text.len() < MIN_SECRET_BYTES {
            return Err(SecretError::Weak { setting });
        }
        Ok(Some(secret))
    }

    /// The configured secret; [`SecretError::Missing`] when there is none.
    pub fn require(&self) -> Result<SecretString, SecretError> {
        self.resolve()?.ok_or(SecretError::Missing {
            setting: self.name,
            env: self.env,
        })
    }
}

/// The signing secret and, during a rotation, the previous one, which still verifies (never
/// signs) until its overlap ends.
#[derive(Clone)]
pub struct KeyRing {
    /// Signs and verifies.
    pub current: SecretString,
    /// Verifies until the instant given.
    pub previous: Option<(SecretString, Instant)>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys.
        f.debug_struct("KeyRing")
            .field("rotating", &self.previous.is_some())
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    /// The current secret of `current` and the previous secret of `previous`, accepted for
    /// `overlap` from now.
    pub fn new(
        current: SecretSetting<'_>,
        previous: SecretSetting<'_>,
        overlap: Duration,
    ) -> Result<Self, SecretError> {
        let current = current.require()?;
        let previous = previous
            .resolve()?
            .map(|secret| (secret, Instant::now() + overlap));
        Ok(Self { current, previous })
    }

    /// Only `current`, no rotation.
    pub fn single(current: SecretString) -> Self {
        Self {
            current,
            previous: None,
        }
    }
}

/// A fresh secret: 32 random bytes from the operating system's generator, hex (64 bytes).
pub fn generate() -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    SecretString::from(hex::encode(bytes))
}

/// The secret kept at `path`, created with a fresh [`generate`]d one (mode 0600, its folder
/// 0700) when missing; a file others can read is narrowed to 0600. What `tunemesh up` keeps
/// in its data dir, so a restart keeps sessions valid.
pub fn load_or_create(path: &Path) -> std::io::Result<()> {
    load_or_create_with(path, generate)
}

/// [`load_or_create`] with secrets of another form, made by `make` (called only when the
/// file is missing).
pub fn load_or_create_with(
    path: &Path,
    make: impl FnOnce() -> SecretString,
) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    // create_new: of two processes starting together, one writes and the other reads its file.
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    match created {
        Ok(mut file) => {
            file.write_all(make().expose_secret().as_bytes())?;
            file.sync_all()
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            let mode = std::fs::metadata(path)?.permissions().mode();
            if mode & 0o077 != 0 {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
            }
            Ok(())
        }
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting<'a>(value: Option<&'a SecretString>, file: Option<&'a Path>) -> SecretSetting<'a> {
        SecretSetting {
            name: "gateway.auth.jwt_secret",
            env: "TUNEMESH_GATEWAY__AUTH__JWT_SECRET",
            value,
            file,
        }
    }

    #[test]
    fn a_missing_secret_names_its_setting_and_variable() {
        let error = setting(None, None).require().expect_err("missing");
        let message = error.to_string();
        assert!(message.contains("gateway.auth.jwt_secret"), "{message}");
        assert!(
            message.contains("TUNEMESH_GATEWAY__AUTH__JWT_SECRET_FILE"),
            "{message}"
        );
        assert!(!message.contains('\n'));
    }

    #[test]
    fn short_and_published_secrets_are_refused() {
        let short = SecretString::from("short");
        assert!(matches!(
            setting(Some(&short), None).require(),
            Err(SecretError::Weak { .. })
        ));
        let published = SecretString::from("tunemesh-dev-mesh-secret-change-me");
        assert!(matches!(
            setting(Some(&published), None).require(),
            Err(SecretError::Published { .. })
        ));
    }

    #[test]
    fn a_file_secret_loses_its_trailing_newline() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secret");
        std::fs::write(&path, "0123456789abcdef0123456789abcdef\n").expect("write");
        let secret = setting(None, Some(&path)).require().expect("secret");
        assert_eq!(secret.expose_secret(), "0123456789abcdef0123456789abcdef");
        let value = generate();
        assert!(matches!(
            setting(Some(&value), Some(&path)).require(),
            Err(SecretError::Ambiguous { .. })
        ));
    }

    #[test]
    fn a_generated_file_is_private_and_kept() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secrets").join("jwt");
        load_or_create(&path).expect("created");
        let first = std::fs::read_to_string(&path).expect("read");
        assert_eq!(first.len(), 64);
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        load_or_create(&path).expect("kept");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), first);
        assert_ne!(generate().expose_secret(), generate().expose_secret());
    }
}
