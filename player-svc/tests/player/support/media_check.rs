//! Reading our output back with independent code (matroska-demuxer, the ogg crate, libopus)
//! and asserting what a player relies on.

use std::io::Cursor;
use std::time::Duration;

use matroska_demuxer::{Frame, MatroskaFile};
use tunemesh_player::media::{MediaBundle, Quality, Rendition};

/// Allowed difference between any two durations of the same track.
pub const TOLERANCE: Duration = Duration::from_millis(50);

/// What demuxing WebM and decoding every packet found.
#[derive(Debug)]
pub struct WebmDecoded {
    /// CodecDelay in ns.
    pub codec_delay_ns: u64,
    /// Channels from the Tracks element.
    pub channels: u64,
    /// Timestamp (ms) of each frame, in order.
    pub timestamps: Vec<u64>,
    /// Samples per channel libopus produced, before any trimming.
    pub samples: u64,
}

/// Demuxes `init` followed by `clusters` and decodes every frame with libopus.
pub fn decode_webm(init: &[u8], clusters: &[&[u8]]) -> WebmDecoded {
    let mut file = init.to_vec();
    clusters.iter().for_each(|c| file.extend_from_slice(c));
    let mut mkv = MatroskaFile::open(Cursor::new(file))
        .unwrap_or_else(|e| panic!("webm does not parse: {e}"));
    assert_eq!(mkv.ebml_header().doc_type(), "webm");
    let track = mkv
        .tracks()
        .first()
        .unwrap_or_else(|| panic!("no track"))
        .clone();
    assert_eq!(track.codec_id(), "A_OPUS");
    assert_eq!(track.seek_pre_roll(), Some(80_000_000));
    let head = track
        .codec_private()
        .unwrap_or_else(|| panic!("no CodecPrivate"));
    assert!(
        head.starts_with(b"OpusHead"),
        "CodecPrivate must be the OpusHead"
    );
    let channels = track.audio().map_or(0, |a| a.channels().get());
    let mut decoder = opus_decoder(channels);
    let mut out = vec![0f32; 5760 * 2];
    let (mut frame, mut timestamps, mut samples) = (Frame::default(), Vec::new(), 0u64);
    while mkv
        .next_frame(&mut frame)
        .unwrap_or_else(|e| panic!("bad frame: {e}"))
    {
        let n = decoder
            .decode_float(&frame.data, &mut out, false)
            .unwrap_or_else(|e| panic!("libopus rejects a packet: {e}"));
        samples += n as u64;
        timestamps.push(frame.timestamp);
    }
    WebmDecoded {
        codec_delay_ns: track.codec_delay().unwrap_or(0),
        channels,
        timestamps,
        samples,
    }
}

/// What parsing the Ogg file and decoding every audio packet found.
#[derive(Debug)]
pub struct OggDecoded {
    /// OpusHead pre-skip.
    pub pre_skip: u64,
    /// Granule position of the last page.
    pub last_granule: u64,
    /// Samples per channel libopus produced, before trimming.
    pub samples: u64,
}

/// Parses an Ogg Opus file with the ogg crate and decodes it with libopus.
pub fn decode_ogg(bytes: &[u8]) -> OggDecoded {
    let mut reader = ogg::PacketReader::new(Cursor::new(bytes));
    let head = reader
        .read_packet_expected()
        .unwrap_or_else(|e| panic!("no OpusHead: {e}"));
    assert!(
        head.data.starts_with(b"OpusHead") && head.last_in_page(),
        "OpusHead alone on the first page"
    );
    let tags = reader
        .read_packet_expected()
        .unwrap_or_else(|e| panic!("no OpusTags: {e}"));
    assert!(
        tags.data.starts_with(b"OpusTags") && tags.last_in_page(),
        "OpusTags ends the second page"
    );
    let pre_skip = u64::from(u16::from_le_bytes([head.data[10], head.data[11]]));
    let mut decoder = opus_decoder(u64::from(head.data[9]));
    let mut out = vec![0f32; 5760 * 2];
    let (mut samples, mut last_granule, mut previous) = (0u64, 0u64, 0u64);
    let mut ended = false;
    while let Some(packet) = reader
        .read_packet()
        .unwrap_or_else(|e| panic!("ogg does not parse: {e}"))
    {
        samples += decoder
            .decode_float(&packet.data, &mut out, false)
            .unwrap_or_else(|e| panic!("libopus: {e}")) as u64;
        if packet.last_in_page() {
            let granule = packet.absgp_page();
            assert!(granule >= previous, "granules must not go backwards");
            assert!(
                granule <= samples,
                "a page's granule cannot exceed the samples decoded so far"
            );
            previous = granule;
            last_granule = granule;
        }
        ended |= packet.last_in_stream();
    }
    assert!(ended, "the last page must be flagged end-of-stream");
    OggDecoded {
        pre_skip,
        last_granule,
        samples,
    }
}

fn opus_decoder(channels: u64) -> opus::Decoder {
    let layout = if channels == 1 {
        opus::Channels::Mono
    } else {
        opus::Channels::Stereo
    };
    opus::Decoder::new(48_000, layout).unwrap_or_else(|e| panic!("libopus decoder: {e}"))
}

/// Seconds of 48 kHz samples.
pub fn secs(samples: u64) -> Duration {
    Duration::from_secs_f64(samples as f64 / 48_000.0)
}

/// Asserts |a - b| <= TOLERANCE.
pub fn assert_close(what: &str, a: Duration, b: Duration) {
    let diff = a.abs_diff(b);
    assert!(
        diff <= TOLERANCE,
        "{what}: {a:?} vs {b:?} differ by {diff:?} (> {TOLERANCE:?})"
    );
}

/// The DiscardPadding (ns) of the last block in a Cluster, found by its element ID.
pub fn discard_padding_ns(cluster: &[u8]) -> Option<u64> {
    let at = cluster.windows(2).rposition(|w| w == [0x75, 0xA2])?;
    let len = usize::from(cluster.get(at + 2)? & 0x7F);
    let value = cluster.get(at + 3..at + 3 + len)?;
    Some(value.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// Every check a player relies on, for every rendition of `bundle`.
pub fn assert_playable(name: &str, bundle: &MediaBundle) {
    assert_eq!(
        bundle.renditions.len(),
        Quality::ALL.len(),
        "{name}: one rendition per quality"
    );
    let reference = &bundle.renditions[0];
    for rendition in &bundle.renditions {
        assert_same_boundaries(name, reference, rendition);
        assert_segments_tile_the_track(name, bundle, rendition);
        assert_webm_plays(name, bundle, rendition);
        assert_ogg_plays(name, bundle, rendition);
        assert_bitrate(name, rendition);
    }
}

fn assert_same_boundaries(name: &str, a: &Rendition, b: &Rendition) {
    let bounds = |r: &Rendition| {
        r.segments
            .iter()
            .map(|s| (s.index, s.start, s.duration, s.timestamp))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        bounds(a),
        bounds(b),
        "{name}: {} and {} segment boundaries differ",
        a.quality,
        b.quality
    );
    assert_eq!(
        a.init, b.init,
        "{name}: init segments should be identical across qualities"
    );
}

fn assert_segments_tile_the_track(name: &str, bundle: &MediaBundle, r: &Rendition) {
    let mut expected_start = Duration::ZERO;
    for (i, segment) in r.segments.iter().enumerate() {
        assert_eq!(segment.index as usize, i);
        assert_eq!(
            segment.start, expected_start,
            "{name} {}: segment {i} leaves a gap",
            r.quality
        );
        assert!(segment.duration > Duration::ZERO);
        expected_start = segment.end();
    }
    assert_close(
        &format!("{name} {}: segments sum", r.quality),
        expected_start,
        bundle.duration,
    );
}

fn assert_webm_plays(name: &str, bundle: &MediaBundle, r: &Rendition) {
    // Each segment alone after the init segment: what MSE gets after a quality switch.
    let mut total = 0u64;
    let mut first_ts = Vec::new();
    let mut first_index = vec![0usize];
    for segment in &r.segments {
        let decoded = decode_webm(&r.init, &[&segment.bytes]);
        assert!(
            !decoded.timestamps.is_empty(),
            "{name} {}: empty segment {}",
            r.quality,
            segment.index
        );
        assert!(
            decoded.timestamps.windows(2).all(|w| w[1] == w[0] + 20),
            "20 ms packets, absolute timestamps"
        );
        assert_eq!(
            Duration::from_millis(decoded.timestamps[0]),
            segment.timestamp,
            "{name}: segment {} Cluster timestamp",
            segment.index
        );
        first_ts.push(decoded.timestamps[0]);
        first_index.push(first_index[first_index.len() - 1] + decoded.timestamps.len());
        total += decoded.samples;
    }
    let whole: Vec<&[u8]> = r.segments.iter().map(|s| &s.bytes[..]).collect();
    let decoded = decode_webm(&r.init, &whole);
    assert_eq!(decoded.samples, total);
    assert_eq!(
        decoded.channels,
        bundle.source_channels.min(2) as u64,
        "{name}: mono stays mono, more becomes stereo"
    );
    let pre_skip = decoded.codec_delay_ns * 48 / 1_000_000;
    let padding = r
        .segments
        .last()
        .and_then(|s| discard_padding_ns(&s.bytes))
        .unwrap_or(0)
        * 48
        / 1_000_000;
    let played = secs(decoded.samples - pre_skip - padding);
    assert_close(
        &format!("{name} {}: webm duration", r.quality),
        played,
        bundle.duration,
    );
    // Segment timestamps are absolute: segment k starts where the previous one ended.
    for (k, ts) in first_ts.iter().enumerate() {
        assert_eq!(
            *ts, decoded.timestamps[first_index[k]],
            "{name}: segment {k} timestamp is not absolute"
        );
    }
}

fn assert_ogg_plays(name: &str, bundle: &MediaBundle, r: &Rendition) {
    let ogg = decode_ogg(&r.ogg);
    let played = secs(ogg.last_granule - ogg.pre_skip);
    assert_close(
        &format!("{name} {}: ogg duration (granule)", r.quality),
        played,
        bundle.duration,
    );
    assert!(
        ogg.samples >= ogg.last_granule,
        "{name}: fewer samples than the final granule claims"
    );
    assert!(
        ogg.samples - ogg.last_granule < 960,
        "{name}: end padding is at most one packet"
    );
}

fn assert_bitrate(name: &str, r: &Rendition) {
    let target = f64::from(r.quality.bitrate());
    let ratio = f64::from(r.bitrate) / target;
    assert!(
        (0.85..=1.15).contains(&ratio),
        "{name} {}: {} bit/s is not within 15 % of {target}",
        r.quality,
        r.bitrate
    );
}
