//! A minimal WebM (Matroska) muxer for Media Source Extensions: one init segment, then one
//! Cluster per media segment.
//!
//! Hand-written because the pure-Rust Matroska crates either only read (matroska-demuxer) or
//! build a whole element tree per block (webm-iterable), while MSE needs exactly two shapes:
//! an init segment (EBML header, Segment of unknown size, Info, Tracks) and self-contained
//! Clusters with absolute timestamps. Both are written straight into a buffer sized up front,
//! so each packet is copied once. Layout follows the W3C "WebM Byte Stream Format" and the
//! Matroska Opus mapping (CodecDelay = pre-skip, SeekPreRoll = 80 ms, DiscardPadding on the
//! last block for end trimming).

use std::time::Duration;

/// Element IDs (Matroska spec, RFC 9559), written with their length-marker bits.
mod id {
    pub(crate) const EBML: u32 = 0x1A45_DFA3;
    pub(crate) const EBML_VERSION: u32 = 0x4286;
    pub(crate) const EBML_READ_VERSION: u32 = 0x42F7;
    pub(crate) const EBML_MAX_ID_LENGTH: u32 = 0x42F2;
    pub(crate) const EBML_MAX_SIZE_LENGTH: u32 = 0x42F3;
    pub(crate) const DOC_TYPE: u32 = 0x4282;
    pub(crate) const DOC_TYPE_VERSION: u32 = 0x4287;
    pub(crate) const DOC_TYPE_READ_VERSION: u32 = 0x4285;
    pub(crate) const SEGMENT: u32 = 0x1853_8067;
    pub(crate) const INFO: u32 = 0x1549_A966;
    pub(crate) const TIMESTAMP_SCALE: u32 = 0x2A_D7B1;
    pub(crate) const DURATION: u32 = 0x4489;
    pub(crate) const MUXING_APP: u32 = 0x4D80;
    pub(crate) const WRITING_APP: u32 = 0x5741;
    pub(crate) const TRACKS: u32 = 0x1654_AE6B;
    pub(crate) const TRACK_ENTRY: u32 = 0xAE;
    pub(crate) const TRACK_NUMBER: u32 = 0xD7;
    pub(crate) const TRACK_UID: u32 = 0x73C5;
    pub(crate) const TRACK_TYPE: u32 = 0x83;
    pub(crate) const FLAG_LACING: u32 = 0x9C;
    pub(crate) const CODEC_ID: u32 = 0x86;
    pub(crate) const CODEC_PRIVATE: u32 = 0x63A2;
    pub(crate) const CODEC_DELAY: u32 = 0x56AA;
    pub(crate) const SEEK_PRE_ROLL: u32 = 0x56BB;
    pub(crate) const AUDIO: u32 = 0xE1;
    pub(crate) const SAMPLING_FREQUENCY: u32 = 0xB5;
    pub(crate) const CHANNELS: u32 = 0x9F;
    pub(crate) const CLUSTER: u32 = 0x1F43_B675;
    pub(crate) const TIMESTAMP: u32 = 0xE7;
    pub(crate) const SIMPLE_BLOCK: u32 = 0xA3;
    pub(crate) const BLOCK_GROUP: u32 = 0xA0;
    pub(crate) const BLOCK: u32 = 0xA1;
    pub(crate) const DISCARD_PADDING: u32 = 0x75A2;
}

/// Matroska ticks are 1 ms: Opus packets are 20 ms, so every timestamp is exact.
const TIMESTAMP_SCALE_NS: u64 = 1_000_000;
/// The only track.
const TRACK_NUMBER: u8 = 1;
/// Pre-roll the Opus mapping requires after a seek (80 ms).
const SEEK_PRE_ROLL_NS: u64 = 80_000_000;
/// An 8-byte "unknown size", so the init segment need not know how many Clusters follow.
const UNKNOWN_SIZE: [u8; 8] = [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];

/// What the init segment describes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TrackInfo<'a> {
    /// The OpusHead (CodecPrivate).
    pub(crate) opus_head: &'a [u8],
    /// 1 or 2.
    pub(crate) channels: u8,
    /// Pre-skip as a duration (CodecDelay).
    pub(crate) codec_delay: Duration,
    /// Played duration of the track.
    pub(crate) duration: Duration,
}

/// One block of a Cluster.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Block<'a> {
    /// Milliseconds from the Cluster's timestamp.
    pub(crate) offset_ms: i16,
    /// The Opus packet.
    pub(crate) data: &'a [u8],
    /// Padding to discard at the end of this block (last block only).
    pub(crate) discard_padding: Option<Duration>,
}

/// The init segment: EBML header, Segment (unknown size), Info and Tracks.
pub(crate) fn init_segment(track: &TrackInfo<'_>) -> Vec<u8> {
    let mut ebml = Vec::new();
    uint_element(&mut ebml, id::EBML_VERSION, 1);
    uint_element(&mut ebml, id::EBML_READ_VERSION, 1);
    uint_element(&mut ebml, id::EBML_MAX_ID_LENGTH, 4);
    uint_element(&mut ebml, id::EBML_MAX_SIZE_LENGTH, 8);
    bytes_element(&mut ebml, id::DOC_TYPE, b"webm");
    uint_element(&mut ebml, id::DOC_TYPE_VERSION, 4);
    uint_element(&mut ebml, id::DOC_TYPE_READ_VERSION, 2);

    let mut info = Vec::new();
    uint_element(&mut info, id::TIMESTAMP_SCALE, TIMESTAMP_SCALE_NS);
    let duration_ms = track.duration.as_secs_f64() * 1e9 / TIMESTAMP_SCALE_NS as f64;
    bytes_element(&mut info, id::DURATION, &duration_ms.to_be_bytes());
    let app = concat!("tunemesh ", env!("CARGO_PKG_VERSION"));
    bytes_element(&mut info, id::MUXING_APP, app.as_bytes());
    bytes_element(&mut info, id::WRITING_APP, app.as_bytes());

    let mut audio = Vec::new();
    bytes_element(&mut audio, id::SAMPLING_FREQUENCY, &48_000f64.to_be_bytes());
    uint_element(&mut audio, id::CHANNELS, u64::from(track.channels));

    let mut entry = Vec::new();
    uint_element(&mut entry, id::TRACK_NUMBER, u64::from(TRACK_NUMBER));
    uint_element(&mut entry, id::TRACK_UID, 1);
    uint_element(&mut entry, id::TRACK_TYPE, 2); // audio
    uint_element(&mut entry, id::FLAG_LACING, 0);
    bytes_element(&mut entry, id::CODEC_ID, b"A_OPUS");
    bytes_element(&mut entry, id::CODEC_PRIVATE, track.opus_head);
    uint_element(&mut entry, id::CODEC_DELAY, nanos(track.codec_delay));
    uint_element(&mut entry, id::SEEK_PRE_ROLL, SEEK_PRE_ROLL_NS);
    bytes_element(&mut entry, id::AUDIO, &audio);
    let mut tracks = Vec::new();
    bytes_element(&mut tracks, id::TRACK_ENTRY, &entry);

    let mut out = Vec::with_capacity(ebml.len() + info.len() + tracks.len() + 64);
    bytes_element(&mut out, id::EBML, &ebml);
    write_id(&mut out, id::SEGMENT);
    out.extend_from_slice(&UNKNOWN_SIZE);
    bytes_element(&mut out, id::INFO, &info);
    bytes_element(&mut out, id::TRACKS, &tracks);
    out
}

/// One Cluster starting at `timestamp_ms` (absolute, in the stream's raw timeline).
///
/// Every Opus packet decodes on its own, so each SimpleBlock is flagged a keyframe; the last
/// block carries DiscardPadding, which needs a BlockGroup.
pub(crate) fn cluster(timestamp_ms: u64, blocks: &[Block<'_>]) -> Vec<u8> {
    let body_len = uint_element_len(id::TIMESTAMP, timestamp_ms)
        + blocks.iter().map(block_element_len).sum::<usize>();
    let mut out = Vec::with_capacity(body_len + 12);
    write_id(&mut out, id::CLUSTER);
    write_size(&mut out, body_len as u64);
    uint_element(&mut out, id::TIMESTAMP, timestamp_ms);
    for block in blocks {
        write_block(&mut out, block);
    }
    out
}

fn write_block(out: &mut Vec<u8>, block: &Block<'_>) {
    let payload = 4 + block.data.len();
    match block.discard_padding {
        None => {
            write_id(out, id::SIMPLE_BLOCK);
            write_size(out, payload as u64);
            write_block_payload(out, block, 0x80); // keyframe
        }
        Some(padding) => {
            let padding = i64::try_from(nanos(padding)).unwrap_or(i64::MAX);
            write_id(out, id::BLOCK_GROUP);
            write_size(
                out,
                (element_header_len(id::BLOCK, payload)
                    + payload
                    + sint_element_len(id::DISCARD_PADDING, padding)) as u64,
            );
            write_id(out, id::BLOCK);
            write_size(out, payload as u64);
            write_block_payload(out, block, 0);
            sint_element(out, id::DISCARD_PADDING, padding);
        }
    }
}

fn write_block_payload(out: &mut Vec<u8>, block: &Block<'_>, flags: u8) {
    out.push(0x80 | TRACK_NUMBER); // track number as a 1-byte vint
    out.extend_from_slice(&block.offset_ms.to_be_bytes());
    out.push(flags);
    out.extend_from_slice(block.data);
}

fn block_element_len(block: &Block<'_>) -> usize {
    let payload = 4 + block.data.len();
    match block.discard_padding {
        None => element_header_len(id::SIMPLE_BLOCK, payload) + payload,
        Some(padding) => {
            let padding = i64::try_from(nanos(padding)).unwrap_or(i64::MAX);
            let inner = element_header_len(id::BLOCK, payload)
                + payload
                + sint_element_len(id::DISCARD_PADDING, padding);
            element_header_len(id::BLOCK_GROUP, inner) + inner
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn bytes_element(out: &mut Vec<u8>, id: u32, data: &[u8]) {
    write_id(out, id);
    write_size(out, data.len() as u64);
    out.extend_from_slice(data);
}

fn uint_element(out: &mut Vec<u8>, id: u32, value: u64) {
    let bytes = value.to_be_bytes();
    let skip = (value.leading_zeros() / 8).min(7) as usize;
    bytes_element(out, id, &bytes[skip..]);
}

fn uint_element_len(id: u32, value: u64) -> usize {
    let len = 8 - (value.leading_zeros() / 8).min(7) as usize;
    element_header_len(id, len) + len
}

fn sint_element(out: &mut Vec<u8>, id: u32, value: i64) {
    let len = sint_len(value);
    bytes_element(out, id, &value.to_be_bytes()[8 - len..]);
}

fn sint_element_len(id: u32, value: i64) -> usize {
    let len = sint_len(value);
    element_header_len(id, len) + len
}

/// Fewest bytes that hold `value` in two's complement.
fn sint_len(value: i64) -> usize {
    (1..8)
        .find(|&n| {
            let bits = 8 * n as u32;
            value >= -(1i64 << (bits - 1)) && value < (1i64 << (bits - 1))
        })
        .unwrap_or(8)
}

fn write_id(out: &mut Vec<u8>, id: u32) {
    let bytes = id.to_be_bytes();
    let skip = (id.leading_zeros() / 8).min(3) as usize;
    out.extend_from_slice(&bytes[skip..]);
}

fn id_len(id: u32) -> usize {
    4 - (id.leading_zeros() / 8).min(3) as usize
}

/// Bytes the EBML variable-length integer for `size` needs (7 value bits per byte).
fn size_len(size: u64) -> usize {
    // All-ones values are reserved for "unknown", hence the + 1.
    (1..8).find(|&n| size + 1 < (1u64 << (7 * n))).unwrap_or(8)
}

fn write_size(out: &mut Vec<u8>, size: u64) {
    let len = size_len(size);
    let marked = size | (1u64 << (7 * len));
    out.extend_from_slice(&marked.to_be_bytes()[8 - len..]);
}

fn element_header_len(id: u32, size: usize) -> usize {
    id_len(id) + size_len(size as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_use_the_shortest_vint_but_never_all_ones() {
        let mut out = Vec::new();
        write_size(&mut out, 5);
        assert_eq!(out, [0x85]);
        out.clear();
        write_size(&mut out, 127); // 0xFF would mean "unknown"
        assert_eq!(out, [0x40, 0x7F]);
        out.clear();
        write_size(&mut out, 300);
        assert_eq!(out, [0x41, 0x2C]);
    }

    #[test]
    fn signed_integers_use_the_fewest_bytes() {
        assert_eq!(sint_len(0), 1);
        assert_eq!(sint_len(127), 1);
        assert_eq!(sint_len(128), 2);
        assert_eq!(sint_len(-128), 1);
        assert_eq!(sint_len(13_500_000), 4);
    }

    #[test]
    fn cluster_length_matches_the_header() {
        let data = [0xFCu8; 200];
        let blocks = [
            Block {
                offset_ms: 0,
                data: &data,
                discard_padding: None,
            },
            Block {
                offset_ms: 20,
                data: &data,
                discard_padding: Some(Duration::from_micros(4500)),
            },
        ];
        let bytes = cluster(4000, &blocks);
        // ID (4) + 2-byte size, then exactly the body the size announces.
        let size = usize::from(u16::from_be_bytes([bytes[4], bytes[5]]) & 0x3FFF);
        assert_eq!(bytes.len(), 6 + size);
    }
}
