//! JSON shapes of the media routes: the MSE manifest and signed audio links.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::catalog::Quality;

/// Everything a Media Source Extensions player needs to play a track adaptively.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Manifest {
    /// The track.
    pub track_id: String,
    /// Playing time in milliseconds.
    pub duration_ms: u64,
    /// One entry per available quality, lowest bitrate first. Segment `i` covers the same
    /// time in every quality, so a player may switch at any segment boundary.
    pub qualities: Vec<ManifestQuality>,
}

/// One quality of a track.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ManifestQuality {
    /// The quality.
    pub quality: Quality,
    /// Nominal bitrate in bits per second.
    pub bitrate_bps: u32,
    /// For `MediaSource.addSourceBuffer`, e.g. `audio/webm; codecs="opus"`.
    pub codecs: String,
    /// Output sample rate in hertz.
    pub sample_rate_hz: u32,
    /// Audio channels.
    pub channels: u32,
    /// The init segment: append it before any media segment of this quality.
    pub init_url: String,
    /// The media segments in playing order.
    pub segments: Vec<ManifestSegment>,
    /// The progressive Ogg Opus file for `<audio>`, with a signed link that needs no header.
    pub progressive: Progressive,
}

/// One media segment.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ManifestSegment {
    /// 0-based index.
    pub index: u32,
    /// Where to fetch it (send the bearer token, or append a media token's `token=`).
    pub url: String,
    /// Where its audio starts in the track, in milliseconds.
    pub start_ms: u64,
    /// Duration of its audio in milliseconds.
    pub duration_ms: u64,
    /// Size in bytes.
    pub size_bytes: u64,
}

/// The progressive file of one quality.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Progressive {
    /// MIME type, e.g. `audio/ogg; codecs=opus`.
    pub mime_type: String,
    /// Size in bytes.
    pub size_bytes: u64,
    /// A signed link usable as `<audio src>` until `expires_at`.
    pub url: String,
}

/// A signed audio link.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MediaLink {
    /// Relative URL of the progressive file with its `token`; also accepted by the segment
    /// routes of the same track and quality (append `?token=...`).
    pub url: String,
    /// The token alone.
    pub token: String,
    /// When the link stops working (seconds since the Unix epoch).
    pub expires_at: u64,
}
