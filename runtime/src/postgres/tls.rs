//! libpq's `sslmode` and `sslrootcert` on top of tokio-postgres, which knows only `disable`,
//! `prefer` and `require` and never checks a certificate by itself.
//!
//! The two options are taken out of the URL (or `key=value` string) and the driver gets the
//! mode it understands; what the certificate must prove is decided here and built into the
//! rustls configuration of the connector.

use std::path::PathBuf;

use serde::Deserialize;

use crate::tls::Verify;

/// libpq's `sslmode` values that tunemesh honours (`allow` is not one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SslMode {
    /// Never TLS.
    Disable,
    /// TLS when the server offers it, unverified (libpq's default).
    Prefer,
    /// TLS or no connection; verified as `verify-ca` when a CA file is given.
    Require,
    /// TLS, and the chain must lead to the CA.
    VerifyCa,
    /// TLS, the chain and the host name.
    VerifyFull,
}

/// A connection string with the TLS options taken out.
#[derive(Debug)]
pub(super) struct Split {
    /// What the driver parses: `sslmode` rewritten to a value it knows, `sslrootcert` removed.
    pub(super) rest: String,
    /// The mode the string asks for, if it names one.
    pub(super) mode: Option<SslMode>,
    /// `sslrootcert`, if the string names one.
    pub(super) root_cert: Option<PathBuf>,
}

/// Why the TLS options of a connection string were refused. Never echoes the string.
#[derive(Debug, thiserror::Error)]
pub enum SslOptionError {
    /// `sslmode` has a value libpq has but tokio-postgres cannot do, or no libpq value at all.
    #[error("unsupported sslmode {0:?}: use disable, prefer, require, verify-ca or verify-full")]
    Mode(String),
    /// `postgres.sslmode` and the URL's `sslmode` disagree.
    #[error("postgres.sslmode and sslmode in the url differ: give one")]
    Conflict,
}

impl SslMode {
    fn parse(value: &str) -> Result<Self, SslOptionError> {
        Ok(match value {
            "disable" => Self::Disable,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            other => return Err(SslOptionError::Mode(other.to_owned())),
        })
    }

    /// The value tokio-postgres gets: it only decides whether to ask for TLS.
    pub(super) fn driver_value(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require | Self::VerifyCa | Self::VerifyFull => "require",
        }
    }

    /// What the certificate must prove. As in libpq, `require` with a CA file is `verify-ca`.
    pub(super) fn verify(self, has_ca: bool) -> Verify {
        match self {
            Self::Disable | Self::Prefer => Verify::Nothing,
            Self::Require if has_ca => Verify::Chain,
            Self::Require => Verify::Nothing,
            Self::VerifyCa => Verify::Chain,
            Self::VerifyFull => Verify::Full,
        }
    }
}

/// Takes `sslmode` and `sslrootcert` out of a URL's query or a `key=value` string and gives
/// the driver the `sslmode` it understands for the mode `setting` or the string asks for
/// (`prefer` when neither does, as in libpq).
pub(super) fn split(text: &str, setting: Option<SslMode>) -> Result<Split, SslOptionError> {
    let mut mode = None;
    let mut root_cert = None;
    let mut take = |key: &str, value: &str| -> Result<bool, SslOptionError> {
        match key {
            "sslmode" => mode = Some(SslMode::parse(value)?),
            "sslrootcert" => root_cert = Some(PathBuf::from(percent_decode(value))),
            _ => return Ok(false),
        }
        Ok(true)
    };
    let is_url = text.starts_with("postgres://") || text.starts_with("postgresql://");
    let rest = if is_url {
        match text.split_once('?') {
            None => text.to_owned(),
            Some((base, query)) => {
                let mut kept = Vec::new();
                for pair in query.split('&').filter(|p| !p.is_empty()) {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    if !take(key, value)? {
                        kept.push(pair);
                    }
                }
                if kept.is_empty() {
                    base.to_owned()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
        }
    } else {
        let mut kept = Vec::new();
        for token in text.split_whitespace() {
            let (key, value) = token.split_once('=').unwrap_or((token, ""));
            if !take(key.trim(), value.trim())? {
                kept.push(token);
            }
        }
        kept.join(" ")
    };
    let mode = match (setting, mode) {
        (Some(setting), Some(url)) if setting != url => return Err(SslOptionError::Conflict),
        (setting, url) => setting.or(url),
    };
    let driver = mode.unwrap_or(SslMode::Prefer).driver_value();
    let rest = with_mode(rest, is_url, driver);
    Ok(Split {
        rest,
        mode,
        root_cert,
    })
}

/// Appends the driver's `sslmode` to what is left of the string.
fn with_mode(rest: String, is_url: bool, value: &str) -> String {
    if is_url {
        let separator = if rest.contains('?') { '&' } else { '?' };
        format!("{rest}{separator}sslmode={value}")
    } else if rest.is_empty() {
        format!("sslmode={value}")
    } else {
        format!("{rest} sslmode={value}")
    }
}

/// `%2F` and friends in a URL's query value (a path may hold any byte).
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .filter(|_| bytes[i] == b'%');
        match hex {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_options_are_taken_out_and_the_driver_gets_require() -> Result<(), SslOptionError> {
        let split = split(
            "postgres://app:pw@db:5432/music?application_name=x&sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem",
            None,
        )?;
        assert_eq!(split.mode, Some(SslMode::VerifyFull));
        assert_eq!(split.root_cert, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(
            split.rest,
            "postgres://app:pw@db:5432/music?application_name=x&sslmode=require"
        );
        let plain = super::split("postgres://db/music", None)?;
        assert_eq!(plain.mode, None);
        assert_eq!(plain.rest, "postgres://db/music?sslmode=prefer");
        let forced = super::split("postgres://db/music", Some(SslMode::VerifyFull))?;
        assert_eq!(forced.mode, Some(SslMode::VerifyFull));
        assert_eq!(forced.rest, "postgres://db/music?sslmode=require");
        assert!(matches!(
            super::split("postgres://db/m?sslmode=disable", Some(SslMode::VerifyFull)),
            Err(SslOptionError::Conflict)
        ));
        Ok(())
    }

    #[test]
    fn key_value_strings_work_too() -> Result<(), SslOptionError> {
        let split = split("host=db user=app sslmode=verify-ca", None)?;
        assert_eq!(split.mode, Some(SslMode::VerifyCa));
        assert_eq!(split.rest, "host=db user=app sslmode=require");
        Ok(())
    }

    #[test]
    fn unknown_modes_are_refused_and_require_with_a_ca_checks_the_chain() {
        assert!(matches!(
            split("postgres://db/m?sslmode=allow", None),
            Err(SslOptionError::Mode(m)) if m == "allow"
        ));
        assert_eq!(SslMode::Require.verify(true), Verify::Chain);
        assert_eq!(SslMode::Require.verify(false), Verify::Nothing);
        assert_eq!(SslMode::Disable.verify(true), Verify::Nothing);
    }
}
