//! search-svc's page tokens (`search-svc/src/page_token.rs`): base64url of
//! `p1:<offset>:<fingerprint>`, bound to the request's fingerprint.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use tunemesh_search::page_token::{decode, encode};

fuzz_target!(|input: (&[u8], u64)| {
    let (payload, fingerprint) = input;
    let raw = std::str::from_utf8(payload).unwrap_or_default();
    let _ = decode(raw, fingerprint);
    if let Some(offset) = decode(&URL_SAFE_NO_PAD.encode(payload), fingerprint) {
        assert_eq!(
            decode(&encode(offset, fingerprint), fingerprint),
            Some(offset)
        );
    }
});
