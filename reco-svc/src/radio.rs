//! The radio's page token: the seed and the station's last tracks, so any replica can
//! continue a station and never repeat a track within its last [`WINDOW`].
//!
//! Opaque to clients (URL-safe base64 of JSON), checked on the way in: a token from another
//! station, a tampered one or an oversized one is INVALID_ARGUMENT, never a panic.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::error::RecoError;
use crate::service::check_track_id;

/// Tracks a station remembers, and so never repeats within.
pub const WINDOW: usize = 50;

/// Longest token accepted, in bytes (50 ids of 64 characters, quoted, fit easily).
const MAX_TOKEN: usize = 8 * 1024;

/// A station's state between pages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Station {
    /// The seed track.
    #[serde(rename = "s")]
    pub seed: String,
    /// The last tracks played, oldest first, at most [`WINDOW`].
    #[serde(rename = "r")]
    pub recent: Vec<String>,
}

impl Station {
    /// A new station on `seed`.
    pub fn new(seed: &str) -> Self {
        Self {
            seed: seed.to_owned(),
            recent: Vec::new(),
        }
    }

    /// Reads a token for the station on `seed`.
    pub fn from_token(token: &str, seed: &str) -> Result<Self, RecoError> {
        let invalid = || RecoError::invalid("page_token is not a token of this station");
        if token.len() > MAX_TOKEN {
            return Err(invalid());
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
        let station: Self = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        if station.seed != seed || station.recent.len() > WINDOW {
            return Err(invalid());
        }
        for id in &station.recent {
            check_track_id(id).map_err(|_| invalid())?;
        }
        Ok(station)
    }

    /// Records that `track` was played next, forgetting beyond the window.
    pub fn push(&mut self, track: &str) {
        self.recent.push(track.to_owned());
        if self.recent.len() > WINDOW {
            let excess = self.recent.len() - WINDOW;
            self.recent.drain(..excess);
        }
    }

    /// The token carrying this state.
    pub fn token(&self) -> String {
        // Serialising plain strings cannot fail; an empty object would still be a valid token.
        let json = serde_json::to_vec(self).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_and_keeps_only_the_window() {
        let mut station = Station::new("seed");
        for i in 0..60 {
            station.push(&format!("t{i}"));
        }
        assert_eq!(station.recent.len(), WINDOW);
        assert_eq!(station.recent[0], "t10");
        let back = Station::from_token(&station.token(), "seed").expect("valid");
        assert_eq!(back, station);
    }

    #[test]
    fn foreign_tampered_and_oversized_tokens_are_invalid() {
        let token = Station::new("seed").token();
        assert!(Station::from_token(&token, "other").is_err());
        assert!(Station::from_token("not base64!", "seed").is_err());
        assert!(Station::from_token(&URL_SAFE_NO_PAD.encode("[1,2]"), "seed").is_err());
        assert!(Station::from_token(&"A".repeat(MAX_TOKEN + 1), "seed").is_err());
        let bad_id = Station {
            seed: "seed".into(),
            recent: vec!["bad id\n".into()],
        };
        assert!(Station::from_token(&bad_id.token(), "seed").is_err());
    }
}
