//! reco-svc's radio page tokens (`reco-svc/src/radio.rs`): URL-safe base64 of JSON, checked
//! against the station's seed, the window and the track ids.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use tunemesh_reco::radio::{Station, WINDOW};

fuzz_target!(|input: (&str, &[u8])| {
    let (seed, payload) = input;
    let encoded = URL_SAFE_NO_PAD.encode(payload);
    let raw = std::str::from_utf8(payload).unwrap_or_default();
    for token in [raw, encoded.as_str()] {
        if let Ok(mut station) = Station::from_token(token, seed) {
            assert_eq!(station.seed, seed);
            assert!(station.recent.len() <= WINDOW);
            // A decoded station re-encodes to a token of the same station.
            assert_eq!(
                Station::from_token(&station.token(), seed).ok(),
                Some(station.clone())
            );
            station.push(seed);
            assert!(station.recent.len() <= WINDOW);
        }
    }
});
