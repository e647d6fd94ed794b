//! The media pipeline: one source file in, everything the catalogue and streaming need out.
//!
//! Synchronous and CPU-bound: call it from a blocking thread pool. Audio streams through
//! decode → downmix → resample to 48 kHz → one Opus encoder per quality, so memory is bounded
//! by the encoded output, never by the decoded PCM.
//!
//! # Layout
//! - [`options`]: the quality ladder, segment length and input limits.
//! - [`bundle`]: the output types ([`MediaBundle`], [`Rendition`], [`Segment`]).
//! - [`tags`]: tags and cover art.
//! - [`error`]: [`MediaError`], one variant per reason a file is refused.
//! - `source`, `opus_decode`, `downmix`, `completeness`: probing and decoding (symphonia, libopus).
//! - `resample`: streaming conversion to 48 kHz (rubato).
//! - `encode`: the Opus ladder (libopus).
//! - `package`, `webm`, `ogg_opus`, `opus_head`: WebM for MSE and Ogg Opus for Range.
//!
//! Its own crate (player-svc re-exports it as `tunemesh_player::media`) so that test builds
//! optimise the sample loops alone (the root `Cargo.toml`'s dev profile), and so the fuzz
//! and ingest benchmarks name what they drive.

#![warn(missing_docs, unreachable_pub)]

pub mod bundle;
mod completeness;
mod downmix;
mod encode;
pub mod error;
mod ogg_opus;
pub mod options;
mod opus_decode;
mod opus_head;
mod package;
mod resample;
mod source;
pub mod tags;
mod webm;

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

pub use bundle::{MediaBundle, Rendition, Segment};
pub use error::MediaError;
pub use options::{Limits, Quality, TranscodeOptions};
pub use tags::{CoverArt, TrackMetadata};

use encode::Ladder;
use resample::Resampling;
use source::Source;

/// Reads the file at `path` and [`transcode`]s it; its name is the format hint.
pub fn ingest_file(path: &Path, options: &TranscodeOptions) -> Result<MediaBundle, MediaError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    transcode_file(path, name, options)
}

/// Reads the file at `path` (at most `options.limits.max_file_bytes`) and [`transcode`]s it
/// with `name_hint` as the format hint: for spooled uploads, whose own name says nothing.
pub fn transcode_file(
    path: &Path,
    name_hint: &str,
    options: &TranscodeOptions,
) -> Result<MediaBundle, MediaError> {
    let io = |source| MediaError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let max = options.limits.max_file_bytes;
    let len = file.metadata().map_err(io)?.len();
    if len > max {
        return Err(MediaError::FileTooLarge { bytes: len, max });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    // `take` guards against a file that grows while we read it.
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    transcode(&bytes, name_hint, options)
}

/// Decodes `bytes` (a whole audio file; `name_hint` is its file name, used only as a format
/// hint) and produces every rendition in `options.qualities`.
///
/// Errors name the reason a person can act on: empty, not audio, unsupported codec,
/// truncated, corrupt, or over a limit. Never panics on any input.
pub fn transcode(
    bytes: &[u8],
    name_hint: &str,
    options: &TranscodeOptions,
) -> Result<MediaBundle, MediaError> {
    let limits = &options.limits;
    if bytes.is_empty() {
        return Err(MediaError::Empty);
    }
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(MediaError::FileTooLarge {
            bytes: bytes.len() as u64,
            max: limits.max_file_bytes,
        });
    }
    let content_hash: [u8; 32] = Sha256::digest(bytes).into();
    let source = Source::open(bytes, name_hint, limits)?;
    let (source_sample_rate, channels) = (source.rate(), source.output_channels());
    let source_channels = source.input_channels();
    let ladder = Ladder::new(&unique(&options.qualities), channels)?;
    let mut pipeline = Resampling::new(ladder, source_sample_rate, channels)?;
    let decoded = source.decode_into(&mut pipeline, limits)?;
    let (ladder, _) = pipeline.finish()?;
    let track = ladder.finish()?;
    let serial = u32::from_le_bytes([
        content_hash[0],
        content_hash[1],
        content_hash[2],
        content_hash[3],
    ]);
    let segment_packets = package::packets_per_segment(options.segment_duration);
    let renditions = package::package(&track, &decoded.tags, segment_packets, serial)?;
    Ok(MediaBundle {
        content_hash,
        duration: exact_duration(decoded.frames, source_sample_rate),
        metadata: decoded.tags,
        cover: decoded.cover,
        source_sample_rate,
        source_channels,
        renditions,
    })
}

/// `frames` at `rate` Hz as a duration, to the nanosecond.
fn exact_duration(frames: u64, rate: u32) -> std::time::Duration {
    let nanos = u128::from(frames) * 1_000_000_000 / u128::from(rate.max(1));
    std::time::Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// The requested qualities without repeats, in request order.
fn unique(qualities: &[Quality]) -> Vec<Quality> {
    let mut seen = Vec::with_capacity(qualities.len());
    for &q in qualities {
        if !seen.contains(&q) {
            seen.push(q);
        }
    }
    seen
}
