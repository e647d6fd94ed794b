//! Why an ingest failed, worded for the person who uploaded the file.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Everything that can stop a file from becoming a [`MediaBundle`](super::MediaBundle).
///
/// Each variant is a distinct, user-facing reason; callers map the input variants (everything
/// but [`MediaError::Encoder`] and [`MediaError::Io`]) to "invalid argument".
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The source file could not be read from disk.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file that was read.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// Zero bytes.
    #[error("file is empty")]
    Empty,
    /// No known container or no audio track in it.
    #[error("not an audio file")]
    NotAudio,
    /// A container we read, holding audio in a codec we do not decode.
    #[error("unsupported codec: {codec}")]
    UnsupportedCodec {
        /// Short codec name, e.g. `aac`.
        codec: String,
    },
    /// The data stops before the file says it ends.
    #[error("truncated: decoded {} then hit end of data", Secs(*.decoded))]
    Truncated {
        /// How much audio was decoded before the end of the data.
        decoded: Duration,
    },
    /// Too many undecodable packets, or a demuxer that gave up.
    #[error("corrupt audio after {}: {reason}", Secs(*.decoded))]
    Corrupt {
        /// How much audio was decoded before the damage.
        decoded: Duration,
        /// The decoder's words.
        reason: String,
    },
    /// Pages missing from the middle of a stream that otherwise ends properly (bad checksums).
    #[error("damaged: {} of audio lost to unreadable pages", Secs(*.lost))]
    Damaged {
        /// Audio the container declares but that could not be read.
        lost: Duration,
    },
    /// The file is bigger than we are willing to hold in memory.
    #[error("file too large: {bytes} bytes (at most {max})")]
    FileTooLarge {
        /// Size of the input.
        bytes: u64,
        /// The configured limit.
        max: u64,
    },
    /// More audio than the configured limit.
    #[error("audio too long: more than {}", Secs(*.max))]
    TooLong {
        /// The configured limit.
        max: Duration,
    },
    /// No channels, or more than the configured limit.
    #[error("unsupported channel count: {channels} (1 to {max})")]
    Channels {
        /// Channels the file declares.
        channels: usize,
        /// The configured limit.
        max: usize,
    },
    /// A sample rate outside what real audio uses.
    #[error("unsupported sample rate: {rate} Hz ({min} to {max} Hz)")]
    SampleRate {
        /// The file's rate.
        rate: u32,
        /// Lowest accepted rate.
        min: u32,
        /// Highest accepted rate.
        max: u32,
    },
    /// The stream changes its sample rate or channel layout part way.
    #[error("audio format changes mid-stream after {}", Secs(*.decoded))]
    FormatChange {
        /// How much audio was decoded before the change.
        decoded: Duration,
    },
    /// The file decodes to nothing.
    #[error("no audio: the file decodes to zero samples")]
    NoAudio,
    /// Embedded cover art over the configured limit.
    #[error("cover art too large: {bytes} bytes (at most {max})")]
    CoverTooLarge {
        /// Size of the picture.
        bytes: usize,
        /// The configured limit.
        max: usize,
    },
    /// libopus or the resampler refused input we built; a bug, not the user's file.
    #[error("encoder failed: {0}")]
    Encoder(String),
}

/// Seconds with one decimal, the way people read durations in error messages ("12.3 s").
#[derive(Debug, Clone, Copy)]
pub(crate) struct Secs(pub Duration);

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.1} s", self.0.as_secs_f64())
    }
}

impl MediaError {
    /// Wraps a libopus failure; only our own misuse can trigger one.
    pub(crate) fn opus(context: &str, err: opus::Error) -> Self {
        MediaError::Encoder(format!("{context}: {err}"))
    }
}
