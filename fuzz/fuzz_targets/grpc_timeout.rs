//! The `grpc-timeout` header (`discovery/src/deadline.rs`) that every call through the mesh
//! reads: arbitrary text, and arbitrary header bytes the way the mesh layers read them.
#![no_main]

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use tunemesh_discovery::deadline::{Deadline, encode_grpc_timeout, parse_grpc_timeout};

fuzz_target!(|input: (&str, &[u8])| {
    let (text, bytes) = input;
    if let Some(timeout) = parse_grpc_timeout(text) {
        // What we send, we read back no longer than it was.
        let sent = encode_grpc_timeout(timeout);
        let back = sent.to_str().ok().and_then(parse_grpc_timeout);
        assert!(
            back.is_some_and(|back| back <= timeout),
            "{text:?} -> {sent:?}"
        );
    }
    if let Ok(value) = HeaderValue::from_bytes(bytes) {
        let mut headers = HeaderMap::new();
        headers.insert("grpc-timeout", value);
        let _ = Deadline::from_headers(&headers);
    }
});
