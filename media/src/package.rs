//! Packaging encoded packets into renditions: WebM init + Clusters, and an Ogg Opus file.

use std::time::Duration;

use bytes::Bytes;

use super::bundle::{Rendition, Segment};
use super::encode::{EncodedTrack, FRAME_SAMPLES, PacketStream, frames_to_duration};
use super::opus_head::{opus_head, opus_tags};
use super::resample::OUTPUT_RATE;
use super::tags::TrackMetadata;
use super::webm::{self, Block, TrackInfo};
use super::{MediaError, ogg_opus};

/// Milliseconds in one Opus packet.
const PACKET_MS: u64 = (FRAME_SAMPLES as u64 * 1000) / OUTPUT_RATE as u64;

/// Longest segment: keeps Cluster-relative block timestamps far inside an `i16` of ms.
const MAX_SEGMENT_PACKETS: usize = 1500;

/// Packets per segment for a requested segment length (whole packets, at least one).
pub(crate) fn packets_per_segment(segment: Duration) -> usize {
    let packets = segment.as_millis() / u128::from(PACKET_MS);
    usize::try_from(packets)
        .unwrap_or(MAX_SEGMENT_PACKETS)
        .clamp(1, MAX_SEGMENT_PACKETS)
}

/// Every rendition of `track`, with segments of `segment_packets` packets.
pub(crate) fn package(
    track: &EncodedTrack,
    tags: &TrackMetadata,
    segment_packets: usize,
    ogg_serial: u32,
) -> Result<Vec<Rendition>, MediaError> {
    let head = opus_head(track.channels, track.pre_skip, OUTPUT_RATE);
    let init = Bytes::from(webm::init_segment(&TrackInfo {
        opus_head: &head,
        channels: track.channels,
        codec_delay: frames_to_duration(u64::from(track.pre_skip)),
        duration: track.duration(),
    }));
    let tags_packet = opus_tags(tags);
    track
        .streams
        .iter()
        .map(|stream| {
            Ok(Rendition {
                quality: stream.quality,
                init: init.clone(),
                segments: segments(track, stream, segment_packets)?,
                ogg: Bytes::from(ogg_opus::write_ogg(
                    track,
                    stream,
                    &head,
                    &tags_packet,
                    ogg_serial,
                )?),
                bitrate: bitrate(stream, track.duration()),
            })
        })
        .collect()
}

fn segments(
    track: &EncodedTrack,
    stream: &PacketStream,
    per_segment: usize,
) -> Result<Vec<Segment>, MediaError> {
    let packets = stream.len();
    let padding = (packets as u64 * FRAME_SAMPLES as u64)
        .saturating_sub(u64::from(track.pre_skip) + track.frames);
    let mut blocks = Vec::with_capacity(per_segment);
    (0..packets.div_ceil(per_segment))
        .map(|index| {
            let first = index * per_segment;
            let last = (first + per_segment).min(packets);
            blocks.clear();
            for packet in first..last {
                let data = stream
                    .packet(packet)
                    .ok_or_else(|| MediaError::Encoder("missing packet".into()))?;
                let is_final = packet + 1 == packets && padding > 0;
                blocks.push(Block {
                    offset_ms: i16::try_from((packet - first) as u64 * PACKET_MS)
                        .unwrap_or(i16::MAX),
                    data,
                    discard_padding: is_final.then(|| frames_to_duration(padding)),
                });
            }
            // Differences of rounded instants, so consecutive segments meet exactly and their
            // durations add up to the track's to the nanosecond.
            let start = frames_to_duration(media_time(track, first));
            let end = frames_to_duration(media_time(track, last));
            Ok(Segment {
                index: u32::try_from(index).unwrap_or(u32::MAX),
                start,
                duration: end - start,
                timestamp: Duration::from_millis(first as u64 * PACKET_MS),
                bytes: Bytes::from(webm::cluster(first as u64 * PACKET_MS, &blocks)),
            })
        })
        .collect()
}

/// Media time (48 kHz samples after pre-skip, capped at the track end) where packet `index`
/// starts.
fn media_time(track: &EncodedTrack, index: usize) -> u64 {
    (index as u64 * FRAME_SAMPLES as u64)
        .saturating_sub(u64::from(track.pre_skip))
        .min(track.frames)
}

fn bitrate(stream: &PacketStream, duration: Duration) -> u32 {
    let secs = duration.as_secs_f64();
    if secs <= 0.0 {
        return 0;
    }
    (stream.payload_bytes() as f64 * 8.0 / secs).round() as u32
}
