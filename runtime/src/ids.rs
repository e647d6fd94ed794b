//! The one shape check for ids that arrive from outside (path segments, request fields), so
//! the gateway and every service agree on what can never be an id.
//!
//! Ids travel into store keys, blob paths and URLs. Whatever else a caller's id looks like,
//! it must never be able to climb a path: no `/` or `\`, no `..`, no leading `.`, no `%`
//! (so `%2e%2e` cannot turn into `..` after a later decode) and nothing outside printable
//! ASCII (NUL, control characters, spaces).

/// Longest id any contract accepts.
pub const MAX_LEN: usize = 64;

/// True when `id` is 1 to [`MAX_LEN`] printable ASCII characters that cannot name a path
/// (see the module's rules).
pub fn is_valid(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'/' | b'\\' | b'%'))
        && !id.starts_with('.')
        && !id.contains("..")
}

/// What [`is_valid`] requires, for error messages.
pub const RULE: &str =
    "must be 1 to 64 printable ascii characters without '/', '\\', '%', '..' or a leading '.'";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_of_every_service_pass() {
        for id in [
            "tr_0123456789abcdef01234567",
            "0b0c3f8e-4c47-4a39-9f57-4a5f1c0f1a77",
            "al1",
            "user:42",
            "a.b",
        ] {
            assert!(is_valid(id), "{id}");
        }
    }

    #[test]
    fn nothing_that_could_climb_a_path_passes() {
        for id in [
            "",
            ".",
            "..",
            "../etc",
            "a/../b",
            "a..b",
            ".hidden",
            "a/b",
            "a\\b",
            "%2e%2e",
            "%2E%2E%2F",
            "a\0b",
            "a b",
            "é",
            &"x".repeat(65),
        ] {
            assert!(!is_valid(id), "{id:?}");
        }
    }
}
