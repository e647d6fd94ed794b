//! Opaque page tokens: where the next page starts, bound to the request that asked for it.
//!
//! A token is the offset of the next page plus a fingerprint of the request (query, types,
//! page size), base64url-encoded. A token replayed with another request fails the
//! fingerprint check and is INVALID_ARGUMENT, as the contract asks.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Format version, so the encoding can change without misreading old tokens.
const VERSION: &str = "p1";

/// The token for the page starting at `offset` of the request with `fingerprint`.
pub fn encode(offset: usize, fingerprint: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{VERSION}:{offset}:{fingerprint:016x}"))
}

/// The offset a token points to, if it was issued for a request with `fingerprint`.
pub fn decode(token: &str, fingerprint: u64) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let mut parts = text.split(':');
    let (version, offset, issued_for) = (parts.next()?, parts.next()?, parts.next()?);
    if version != VERSION || parts.next().is_some() {
        return None;
    }
    let issued_for = u64::from_str_radix(issued_for, 16).ok()?;
    (issued_for == fingerprint)
        .then(|| offset.parse().ok())
        .flatten()
}

/// A stable fingerprint of a request (FNV-1a: the same on every replica and release,
/// unlike std's hasher).
pub fn fingerprint(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.iter().chain(std::iter::once(&0xff)) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_for_its_own_request_only() {
        let mine = fingerprint(&[b"abba", b"1"]);
        let other = fingerprint(&[b"abba", b"2"]);
        let token = encode(40, mine);
        assert_eq!(decode(&token, mine), Some(40));
        assert_eq!(decode(&token, other), None);
    }

    #[test]
    fn garbage_tokens_are_refused() {
        let fp = fingerprint(&[b"x"]);
        for token in ["", "!!!", "cDE6NDA", &URL_SAFE_NO_PAD.encode("p1:-1:00")] {
            assert_eq!(decode(token, fp), None, "{token}");
        }
    }
}
