//! What to produce (the quality ladder, segment length) and what to refuse (limits).

use std::time::Duration;

/// One rung of the Opus ladder: the contracts' ladder, which the gateway names to clients.
pub use tunemesh_proto::quality::Quality;

/// Inputs we refuse, so a hostile file cannot make us allocate without bound.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest source file accepted.
    pub max_file_bytes: u64,
    /// Longest audio accepted; also bounds the encoded output held in memory.
    pub max_duration: Duration,
    /// Most channels accepted (more than two are downmixed to stereo).
    pub max_channels: usize,
    /// Lowest and highest source sample rate accepted, in Hz.
    pub sample_rates: (u32, u32),
    /// Largest embedded cover art accepted.
    pub max_cover_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 1 << 30,
            max_duration: Duration::from_secs(2 * 60 * 60),
            max_channels: 8,
            sample_rates: (8_000, 384_000),
            max_cover_bytes: 10 << 20,
        }
    }
}

/// How to transcode.
#[derive(Debug, Clone)]
pub struct TranscodeOptions {
    /// The renditions to produce (default: [`Quality::ALL`]).
    pub qualities: Vec<Quality>,
    /// Length of a WebM media segment; rounded down to whole 20 ms Opus frames (default 4 s).
    pub segment_duration: Duration,
    /// Inputs to refuse.
    pub limits: Limits,
}

impl Default for TranscodeOptions {
    fn default() -> Self {
        TranscodeOptions {
            qualities: Quality::ALL.to_vec(),
            segment_duration: Duration::from_secs(4),
            limits: Limits::default(),
        }
    }
}
