//! Audio delivery: streams from a position, manifests, segments and byte ranges.
//!
//! Every read goes to the blob store in ranges of at most [`CHUNK`] bytes, fed through a
//! bounded channel of a few chunks: the reader runs ahead of its consumer by at most that
//! much, so a listener who stops reading (or a slow network) stops the reads instead of
//! growing memory.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::blobs::Blobs;
use crate::error::PlayerError;
use crate::media::Quality;
use crate::seek;
use crate::starts::{FIRST_BYTES, Starting, Starts};
use crate::store::{RenditionManifest, TrackRecord};
use crate::track_cache::TrackCache;

/// Largest piece of audio in one message (the contract's limit).
pub(crate) const CHUNK: u64 = 64 * 1024;
/// `audio/ogg; codecs=opus`.
pub(crate) const OGG_MIME: &str = "audio/ogg; codecs=opus";
/// `audio/webm; codecs="opus"`.
pub(crate) const WEBM_MIME: &str = "audio/webm; codecs=\"opus\"";

/// Which stored form to stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Container {
    /// The progressive Ogg file.
    Ogg,
    /// The WebM init segment and media segments.
    Webm,
}

/// What a stream carries, sent before any audio.
#[derive(Debug, Clone)]
pub(crate) struct StreamHeader {
    /// The track.
    pub(crate) track: Arc<TrackRecord>,
    /// The quality served.
    pub(crate) quality: Quality,
    /// The stored form.
    pub(crate) container: Container,
    /// Measured bitrate.
    pub(crate) bitrate_bps: u32,
    /// Where the audio starts, µs (the seek point at or before the request).
    pub(crate) start_us: u64,
    /// Sum of all chunk sizes.
    pub(crate) total_bytes: u64,
}

/// A piece of a stream.
#[derive(Debug, Clone)]
pub(crate) struct Chunk {
    /// Offset within the stream (or the file, for ranges).
    pub(crate) offset: u64,
    /// The bytes: a slice of what the blob store returned, never copied.
    pub(crate) data: Bytes,
    /// Media time of the first frame beginning in it, µs.
    pub(crate) media_us: u64,
}

/// Chunks as they are read; an `Err` ends the stream.
pub(crate) type Chunks = mpsc::Receiver<Result<Chunk, PlayerError>>;

/// A byte range of a progressive file being read.
#[derive(Debug)]
pub(crate) struct FileRange {
    /// Size of the whole file.
    pub(crate) size: u64,
    /// The version of the track's audio (`TrackManifest::version`).
    pub(crate) version: String,
    /// The range's chunks, offsets in the file.
    pub(crate) chunks: Chunks,
}

/// Audio delivery over the catalogue and the blob store.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    tracks: TrackCache,
    blobs: Blobs,
    /// Chunks read ahead of the consumer, at most.
    buffer: usize,
    /// Streams still to send their first audio, which read-ahead gives way to.
    starts: Starts,
}

/// Key of the progressive Ogg file of a rendition in the blob store: where `ReadAudioRange`
/// reads, and what the manifest gives edges that read the store directly.
pub(crate) fn progressive_blob(blob_prefix: &str, quality: &str) -> String {
    format!("{blob_prefix}/{quality}/audio.ogg")
}

/// A track's rendition of one quality, found for a read.
struct Rendition {
    track: Arc<TrackRecord>,
    /// Of the rendition in `track.manifest.renditions`.
    index: usize,
    /// Blob directory of the rendition.
    dir: String,
    /// Key of its progressive file.
    ogg: String,
}

impl Rendition {
    fn manifest(&self) -> &RenditionManifest {
        &self.track.manifest.renditions[self.index]
    }
}

/// One blob range to send, in order.
#[derive(Debug, Clone)]
struct Part {
    path: String,
    range: Range<u64>,
}

impl Delivery {
    /// Delivery of `tracks` from `blobs`, reading at most `buffer` chunks ahead, a stream's
    /// read-ahead giving way to the `starts` of others.
    pub(crate) fn new(tracks: TrackCache, blobs: Blobs, buffer: usize, starts: Starts) -> Self {
        Self {
            tracks,
            blobs,
            buffer: buffer.max(1),
            starts,
        }
    }

    /// Counts a stream as starting until it has handed out its first audio: to be taken
    /// before [`Delivery::stream`], and ended by whoever hands the chunks out.
    pub(crate) fn starting(&self) -> Starting {
        self.starts.begin()
    }

    /// The track and its rendition of `quality`, or NOT_FOUND.
    async fn rendition(&self, track_id: &str, quality: Quality) -> Result<Rendition, PlayerError> {
        let track = self.tracks.get(track_id).await?;
        let index = track
            .manifest
            .renditions
            .iter()
            .position(|r| r.quality == quality.as_str())
            .ok_or_else(|| PlayerError::not_found("quality", quality.as_str()))?;
        let dir = format!("{}/{}", track.manifest.blob_prefix, quality.as_str());
        let ogg = progressive_blob(&track.manifest.blob_prefix, quality.as_str());
        Ok(Rendition {
            track,
            index,
            dir,
            ogg,
        })
    }

    /// Streams `track_id` at `quality` from `start_us`: the header, and the chunks as the
    /// consumer takes them.
    pub(crate) async fn stream(
        &self,
        track_id: &str,
        quality: Quality,
        container: Container,
        start_us: u64,
    ) -> Result<(StreamHeader, Chunks), PlayerError> {
        let rendition = self.rendition(track_id, quality).await?;
        let (track, r, dir) = (&rendition.track, rendition.manifest(), &rendition.dir);
        let duration = u64::try_from(track.duration_us).unwrap_or(0);
        if start_us >= duration {
            return Err(PlayerError::OutOfRange {
                what: "start_position",
                limit: format!("track lasts {duration} µs"),
            });
        }
        // Seek points in the stream's own offsets, for each chunk's media time.
        let (parts, points, start) = match container {
            Container::Ogg => {
                let path = rendition.ogg.clone();
                let [offset, at] =
                    seek::at_or_before(&r.ogg_pages, start_us).unwrap_or([r.ogg_header_size, 0]);
                let header = r.ogg_header_size;
                let points: Vec<[u64; 2]> = r
                    .ogg_pages
                    .iter()
                    .filter(|p| p[0] >= offset)
                    .map(|p| [header + p[0] - offset, p[1]])
                    .collect();
                let parts = vec![
                    Part {
                        path: path.clone(),
                        range: 0..header,
                    },
                    Part {
                        path,
                        range: offset..r.ogg_size,
                    },
                ];
                (parts, points, at)
            }
            Container::Webm => {
                let path = format!("{dir}/audio.webm");
                let i = r
                    .webm_segments
                    .partition_point(|s| s.start_us <= start_us)
                    .saturating_sub(1);
                let first = r.webm_segments.get(i).ok_or_else(|| {
                    PlayerError::Unexpected(anyhow::anyhow!("rendition without segments"))
                })?;
                let init = r.webm_init_size;
                let points = r.webm_segments[i..]
                    .iter()
                    .map(|s| [init + s.offset - first.offset, s.start_us])
                    .collect();
                let parts = vec![
                    Part {
                        path: path.clone(),
                        range: 0..init,
                    },
                    Part {
                        path,
                        range: first.offset..r.webm_size(),
                    },
                ];
                (parts, points, first.start_us)
            }
        };
        let parts = coalesce(parts);
        let total_bytes = parts.iter().map(|p| p.range.end - p.range.start).sum();
        let header = StreamHeader {
            track: Arc::clone(track),
            quality,
            container,
            bitrate_bps: r.bitrate_bps,
            start_us: start,
            total_bytes,
        };
        let chunks = self.spawn_reader(parts, Some((points, start)), Some(self.starts.clone()));
        Ok((header, chunks))
    }

    /// Reads `length` bytes (0: to the end) of the progressive file from `offset`.
    pub(crate) async fn read_range(
        &self,
        track_id: &str,
        quality: Quality,
        offset: u64,
        length: u64,
    ) -> Result<FileRange, PlayerError> {
        let rendition = self.rendition(track_id, quality).await?;
        let r = rendition.manifest();
        if offset >= r.ogg_size {
            return Err(PlayerError::OutOfRange {
                what: "offset",
                limit: format!("file has {} bytes", r.ogg_size),
            });
        }
        let end = match length {
            0 => r.ogg_size,
            n => offset.saturating_add(n).min(r.ogg_size),
        };
        let part = Part {
            path: rendition.ogg.clone(),
            range: offset..end,
        };
        Ok(FileRange {
            size: r.ogg_size,
            version: rendition.track.manifest.version().to_owned(),
            chunks: self.spawn_reader(vec![part], None, None),
        })
    }

    /// The init segment (`None`) or media segment `index` of a rendition, with its
    /// `(start µs, duration µs)` for a media segment.
    pub(crate) async fn segment(
        &self,
        track_id: &str,
        quality: Quality,
        index: Option<u32>,
    ) -> Result<(Bytes, Option<(u64, u64)>), PlayerError> {
        let rendition = self.rendition(track_id, quality).await?;
        let (r, dir) = (rendition.manifest(), &rendition.dir);
        let (range, times) = match index {
            None => (0..r.webm_init_size, None),
            Some(i) => {
                let s = r
                    .webm_segments
                    .get(usize::try_from(i).unwrap_or(usize::MAX))
                    .ok_or_else(|| PlayerError::OutOfRange {
                        what: "media_segment_index",
                        limit: format!("{} segments", r.webm_segments.len()),
                    })?;
                (
                    s.offset..s.offset + s.size,
                    Some((s.start_us, s.duration_us)),
                )
            }
        };
        let bytes = self
            .blobs
            .get_range(&format!("{dir}/audio.webm"), range)
            .await
            .map_err(|e| PlayerError::Unavailable(e.into()))?;
        Ok((bytes, times))
    }

    /// The track and, per stored quality, its rendition and init segment, lowest first.
    pub(crate) async fn manifest(
        &self,
        track_id: &str,
    ) -> Result<(Arc<TrackRecord>, Vec<(RenditionManifest, Bytes)>), PlayerError> {
        let track = self.tracks.get(track_id).await?;
        let mut out = Vec::with_capacity(track.manifest.renditions.len());
        for r in &track.manifest.renditions {
            let path = format!("{}/{}/audio.webm", track.manifest.blob_prefix, r.quality);
            let init = self
                .blobs
                .get_range(&path, 0..r.webm_init_size)
                .await
                .map_err(|e| PlayerError::Unavailable(e.into()))?;
            out.push((r.clone(), init));
        }
        Ok((track, out))
    }

    /// Reads `parts` in chunks into a bounded channel from a task that stops when the
    /// consumer goes away; the channel's capacity is the whole read-ahead. Past its first
    /// audio, a stream's reader gives way to the `starts` of others before each read.
    fn spawn_reader(
        &self,
        parts: Vec<Part>,
        times: Option<(Vec<[u64; 2]>, u64)>,
        starts: Option<Starts>,
    ) -> Chunks {
        let (tx, rx) = mpsc::channel(self.buffer);
        let blobs = self.blobs.clone();
        let times = times.map(Arc::new);
        tokio::spawn(async move {
            let mut offset = 0u64;
            for part in parts {
                let mut at = part.range.start;
                while at < part.range.end {
                    let end = (at + CHUNK).min(part.range.end);
                    if let Some(starts) = starts.as_ref().filter(|_| offset >= FIRST_BYTES) {
                        starts.give_way().await;
                    }
                    // Wait for room before reading, so nothing is read that cannot be queued.
                    let Ok(permit) = tx.reserve().await else {
                        return;
                    };
                    let chunk = match blobs.get_range(&part.path, at..end).await {
                        Ok(data) => {
                            let media_us = times.as_ref().map_or(0, |t| {
                                let (points, start) = &**t;
                                seek::time_at_offset(points, offset).max(*start)
                            });
                            let stream_offset = if times.is_some() { offset } else { at };
                            Ok(Chunk {
                                offset: stream_offset,
                                data,
                                media_us,
                            })
                        }
                        Err(error) => Err(PlayerError::Unavailable(error.into())),
                    };
                    let failed = chunk.is_err();
                    permit.send(chunk);
                    if failed {
                        return;
                    }
                    offset += end - at;
                    at = end;
                }
            }
        });
        rx
    }
}

/// `parts` with each one that goes on where the one before it ends (the same file) joined to
/// it: a stream from the start is then one read, whose first chunk carries audio and not
/// only the container's headers.
fn coalesce(parts: Vec<Part>) -> Vec<Part> {
    let mut joined: Vec<Part> = Vec::with_capacity(parts.len());
    for part in parts {
        match joined.last_mut() {
            Some(last) if last.path == part.path && last.range.end == part.range.start => {
                last.range.end = part.range.end;
            }
            _ => joined.push(part),
        }
    }
    joined
}
