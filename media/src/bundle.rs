//! What ingest produces: the track's facts and every rendition, ready to store and serve.

use std::time::Duration;

use bytes::Bytes;

use super::Quality;
use super::tags::{CoverArt, TrackMetadata};

/// Everything the catalogue and streaming need from one source file.
#[derive(Debug, Clone)]
pub struct MediaBundle {
    /// SHA-256 of the source file's bytes: the key for idempotent ingest.
    pub content_hash: [u8; 32],
    /// Tags read from the file.
    pub metadata: TrackMetadata,
    /// Embedded cover art, if any.
    pub cover: Option<CoverArt>,
    /// Exact duration, from the decoded sample count.
    pub duration: Duration,
    /// The source's sample rate in Hz (before resampling to 48 kHz).
    pub source_sample_rate: u32,
    /// The source's channel count (before any downmix to stereo).
    pub source_channels: usize,
    /// One rendition per requested quality, in request order; all share segment boundaries.
    pub renditions: Vec<Rendition>,
}

/// One quality of the track, packaged for MSE (WebM) and for progressive download (Ogg).
#[derive(Debug, Clone)]
pub struct Rendition {
    /// The ladder rung.
    pub quality: Quality,
    /// WebM init segment (EBML header, Segment, Info, Tracks); `audio/webm; codecs="opus"`.
    /// Identical for every quality of a track, so switching needs no re-initialisation.
    pub init: Bytes,
    /// WebM media segments (one Cluster each), in order, tiling the whole track.
    pub segments: Vec<Segment>,
    /// The whole track as one Ogg Opus file; `audio/ogg; codecs="opus"`.
    pub ogg: Bytes,
    /// Measured average bitrate of the Opus packets, in bits per second.
    pub bitrate: u32,
}

/// A WebM media segment: one Cluster.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Position in the rendition, from 0.
    pub index: u32,
    /// Track time of the segment's first audible sample (0 for the first segment).
    pub start: Duration,
    /// Track time covered; the durations of a rendition's segments add up to the track's.
    pub duration: Duration,
    /// The Cluster's absolute timestamp: where Media Source Extensions buffer it.
    ///
    /// Segment `k` starts at `k ×` the segment length. Block timestamps include the Opus
    /// pre-skip (signalled as CodecDelay), so `start` is `timestamp` minus the pre-skip
    /// (6.5 ms), floored at zero; Chromium's buffered ranges follow `timestamp`.
    pub timestamp: Duration,
    /// The Cluster, with absolute timestamps.
    pub bytes: Bytes,
}

impl Segment {
    /// Media time just past this segment.
    pub fn end(&self) -> Duration {
        self.start + self.duration
    }
}

impl MediaBundle {
    /// The content hash as 64 lowercase hex digits.
    pub fn content_hash_hex(&self) -> String {
        hex::encode(self.content_hash)
    }

    /// The rendition of `quality`, if it was produced.
    pub fn rendition(&self, quality: Quality) -> Option<&Rendition> {
        self.renditions.iter().find(|r| r.quality == quality)
    }

    /// The segment a player appends to play from `at` (the same index in every rendition),
    /// or `None` at or past the end of the track. See [`Rendition::segment_index_at`].
    pub fn segment_index_at(&self, at: Duration) -> Option<usize> {
        self.renditions.first()?.segment_index_at(at)
    }
}

impl Rendition {
    /// The segment a player appends to play from `at`, or `None` at or past the end.
    ///
    /// Looks `at` up on the Cluster timestamps, the timeline MSE buffers on, so a seek never
    /// lands in the 6.5 ms between a segment's track `start` and its buffered range.
    pub fn segment_index_at(&self, at: Duration) -> Option<usize> {
        let end = self.segments.last()?.end();
        let after = self.segments.partition_point(|s| s.timestamp <= at);
        (at < end).then(|| after.saturating_sub(1))
    }

    /// Bytes `start..=end_inclusive` of the Ogg file, as in an HTTP `Range: bytes=start-end`
    /// (an open end means to the end of the file; an end past the file is clamped). `None`
    /// when `start` is past the end (HTTP 416). Shares the buffer; copies nothing.
    pub fn ogg_range(&self, start: u64, end_inclusive: Option<u64>) -> Option<Bytes> {
        let len = self.ogg.len() as u64;
        if start >= len || end_inclusive.is_some_and(|end| end < start) {
            return None;
        }
        let end = end_inclusive.map_or(len, |end| end.saturating_add(1).min(len));
        let (start, end) = (usize::try_from(start).ok()?, usize::try_from(end).ok()?);
        Some(self.ogg.slice(start..end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendition(starts_ms: &[u64], total_ms: u64) -> Rendition {
        let segments = starts_ms
            .iter()
            .enumerate()
            .map(|(i, &start)| {
                let end = starts_ms.get(i + 1).copied().unwrap_or(total_ms);
                Segment {
                    index: i as u32,
                    start: Duration::from_millis(start.saturating_sub(7)),
                    duration: Duration::from_millis(end - start),
                    timestamp: Duration::from_millis(start),
                    bytes: Bytes::new(),
                }
            })
            .collect();
        Rendition {
            quality: Quality::Low,
            init: Bytes::new(),
            segments,
            ogg: Bytes::from_static(b"0123456789"),
            bitrate: 0,
        }
    }

    #[test]
    fn segment_lookup_follows_cluster_timestamps() {
        let r = rendition(&[0, 4000, 8000], 9000);
        assert_eq!(r.segment_index_at(Duration::ZERO), Some(0));
        assert_eq!(r.segment_index_at(Duration::from_millis(3999)), Some(0));
        assert_eq!(r.segment_index_at(Duration::from_millis(4000)), Some(1));
        assert_eq!(r.segment_index_at(Duration::from_millis(8990)), Some(2));
        assert_eq!(r.segment_index_at(Duration::from_millis(9000)), None);
    }

    #[test]
    fn ogg_ranges_follow_http_semantics() {
        let r = rendition(&[0], 1);
        assert_eq!(r.ogg_range(2, Some(4)).as_deref(), Some(&b"234"[..]));
        assert_eq!(r.ogg_range(7, None).as_deref(), Some(&b"789"[..]));
        assert_eq!(r.ogg_range(8, Some(100)).as_deref(), Some(&b"89"[..]));
        assert_eq!(r.ogg_range(10, None), None);
        assert_eq!(r.ogg_range(5, Some(4)), None);
    }
}
