//! playlist-svc's page tokens (`playlist-svc/src/validate.rs`): hex of newline-separated
//! fields, then numbers parsed out of them, as `service/reads.rs` does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tunemesh_playlist::validate::{decode_token, encode_token, token_number};

fuzz_target!(|input: (&str, &str, u8)| {
    let (kind, token, n) = input;
    let n = usize::from(n % 5);
    for token in [token.to_owned(), hex(token)] {
        if let Ok(fields) = decode_token(kind, &token, n) {
            assert_eq!(fields.len(), n);
            // Fields go into SQL as parameters; PostgreSQL text cannot hold NUL.
            assert!(fields.iter().all(|f| !f.contains('\0')), "{fields:?}");
            for field in &fields {
                let _ = token_number::<u32>(field);
                let _ = token_number::<u64>(field);
                let _ = token_number::<i64>(field);
            }
            // What decodes re-encodes to the same token (hex is canonical lowercase).
            let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
            assert_eq!(encode_token(kind, &fields), token.to_ascii_lowercase());
        }
    }
});

/// The bytes of `text` as the hex a token is made of, to get past the hex layer.
fn hex(text: &str) -> String {
    hex::encode(text)
}
