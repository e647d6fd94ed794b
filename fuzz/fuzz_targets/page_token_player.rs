//! player-svc's catalogue page tokens (`player-svc/src/catalog.rs`): URL-safe base64 of JSON.
//! Raw strings exercise the base64 layer; the same bytes encoded first reach the JSON and the
//! listing check, and a token of the right listing must decode.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use tunemesh_player::catalog::decode_token;

fuzz_target!(|input: (&str, &[u8])| {
    let (listing, payload) = input;
    check(listing, listing);
    if let Ok(text) = std::str::from_utf8(payload) {
        check(listing, text);
    }
    check(listing, &URL_SAFE_NO_PAD.encode(payload));
});

/// A key that decodes goes into the catalogue's SQL as parameters: PostgreSQL text cannot hold
/// NUL, so one would fail the query (an internal error for a client's bad token).
fn check(listing: &str, token: &str) {
    if let Ok(Some(key)) = decode_token(listing, token) {
        assert!(!key.1.contains('\0') && !key.4.contains('\0'), "{key:?}");
    }
}
