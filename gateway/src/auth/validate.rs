//! Shape checks of sign-up and login input. Messages say what is expected, never echo the
//! value (a password typed into the wrong field must not come back in a response or a log).

use crate::error::ApiError;

/// Password length bounds, in characters. The upper bound caps the work one argon2 call is
/// handed; the lower one is NIST SP 800-63B's minimum.
pub const PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 8..=128;
/// User name length bounds.
pub const USERNAME_CHARS: std::ops::RangeInclusive<usize> = 3..=32;
/// RFC 5321 limits an address (path) to 254 octets and a local part to 64.
const EMAIL_MAX: usize = 254;
const LOCAL_PART_MAX: usize = 64;

/// The lowercased email, if it has the shape `local@domain.tld`.
pub fn email(raw: &str) -> Result<String, ApiError> {
    let invalid = || ApiError::invalid("email must look like name@example.com");
    if raw.is_empty() || raw.len() > EMAIL_MAX {
        return Err(invalid());
    }
    let (local, domain) = raw.split_once('@').ok_or_else(invalid)?;
    let printable = |s: &str| s.chars().all(|c| c.is_ascii_graphic() && c != '@');
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if local.is_empty() || local.len() > LOCAL_PART_MAX || !printable(local) || !domain_ok {
        return Err(invalid());
    }
    Ok(raw.to_ascii_lowercase())
}

/// The lowercased user name: letters, digits, `_`, `-`, `.`, starting with a letter or digit.
pub fn username(raw: &str) -> Result<String, ApiError> {
    let count = raw.chars().count();
    let allowed = raw
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    let starts_well = raw
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if !USERNAME_CHARS.contains(&count) || !allowed || !starts_well {
        return Err(ApiError::invalid(format!(
            "username must be {} to {} letters, digits, '_', '-' or '.', starting with a letter or digit",
            USERNAME_CHARS.start(),
            USERNAME_CHARS.end()
        )));
    }
    Ok(raw.to_ascii_lowercase())
}

/// Checks a new password's length.
pub fn new_password(raw: &str) -> Result<(), ApiError> {
    if PASSWORD_CHARS.contains(&raw.chars().count()) {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "password must be {} to {} characters",
            PASSWORD_CHARS.start(),
            PASSWORD_CHARS.end()
        )))
    }
}

/// A login name (email or user name) in the form the store keys by, or `None` when it cannot
/// name any account; the caller then answers like a wrong password.
pub fn login(raw: &str) -> Option<String> {
    if raw.contains('@') {
        email(raw).ok()
    } else {
        username(raw).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_and_lowercased() {
        assert_eq!(
            email("Ann@Example.COM").ok().as_deref(),
            Some("ann@example.com")
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@x.io",
            "ann@localhost",
            "a n@x.io",
            "a@b@c.io",
            "a@x..io",
        ] {
            assert!(email(bad).is_err(), "{bad:?}");
        }
        assert!(email(&format!("{}@x.io", "a".repeat(65))).is_err());
    }

    #[test]
    fn usernames_are_bounded_and_plain() {
        assert_eq!(username("Ann_1").ok().as_deref(), Some("ann_1"));
        for bad in ["ab", "_ann", "ann smith", "ännchen", &"a".repeat(33)] {
            assert!(username(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_are_bounded_in_characters() {
        assert!(new_password("1234567").is_err());
        assert!(new_password("12345678").is_ok());
        assert!(new_password(&"é".repeat(128)).is_ok());
        assert!(new_password(&"x".repeat(129)).is_err());
    }

    #[test]
    fn password_errors_do_not_echo_the_value() {
        let error = new_password("hunter2").expect_err("too short");
        assert!(!error.message().contains("hunter2"));
    }
}
