//! The media pipeline on real music: every rendition plays back (decoded by independent code),
//! matches the source's duration, tiles into aligned segments and hits its bitrate; tags and
//! cover art come through; broken files get clear errors.
//!
//! Needs the Debian music packages: run `scripts/music.sh` first.

use crate::support::media_check as check;
use crate::support::media_music as music;

use std::path::Path;
use std::time::Duration;

use check::{assert_close, assert_playable, decode_ogg, secs};
use music::*;
use tunemesh_player::media::{
    Limits, MediaError, Quality, TranscodeOptions, ingest_file, transcode,
};

/// The duration an Ogg file declares: (last granule - pre-skip) / rate, read with the ogg crate.
fn ogg_declared_duration(path: &str, rate: u64, pre_skip: u64) -> Duration {
    let mut reader = ogg::PacketReader::new(std::io::Cursor::new(music_bytes(path)));
    let mut last = 0u64;
    while let Ok(Some(packet)) = reader.read_packet() {
        // Pages with no packet end carry -1; negative granules (hyperrogue) are not the last.
        if packet.last_in_page() && (packet.absgp_page() as i64) >= 0 {
            last = packet.absgp_page();
        }
    }
    Duration::from_secs_f64((last - pre_skip) as f64 / rate as f64)
}

/// The duration the source itself declares or decodes to, measured without our pipeline: the
/// last granule for Ogg Vorbis, a plain symphonia decode for MP3.
fn source_duration(path: &Path, rate: u32) -> Duration {
    let name = path.to_string_lossy();
    if name.ends_with(".ogg") {
        return ogg_declared_duration(&name, u64::from(rate), 0);
    }
    let (samples, rate, channels) = decode_with_symphonia(&name, u64::MAX / 1_000_000);
    let frames = samples.len() as u64 / u64::from(channels);
    Duration::from_secs_f64(frames as f64 / f64::from(rate))
}

/// Every file the issue names: all of singularity-music and asc-music, and the hyperrogue
/// track whose pages carry negative granule positions. Transcoded in parallel (one thread
/// per core) because the whole set is about an hour of music.
#[test]
fn every_track_of_the_music_packages_becomes_every_playable_rendition() {
    let files = test_library();
    let counts = |dir: &str| files.iter().filter(|f| f.starts_with(dir)).count();
    assert_eq!(
        counts(SINGULARITY_DIR),
        16,
        "singularity-music ships 16 tracks"
    );
    assert_eq!(counts(ASC_DIR), 3, "asc-music ships 3 tracks");
    let checked = in_parallel(&files, |path| {
        let bundle = ingest_file(path, &TranscodeOptions::default())
            .unwrap_or_else(|e| panic!("{} should transcode: {e}", path.display()));
        let name = path.display().to_string();
        let expected = source_duration(path, bundle.source_sample_rate);
        assert_close(
            &format!("{name}: duration vs source"),
            bundle.duration,
            expected,
        );
        assert_playable(&name, &bundle);
        (
            bundle.source_sample_rate,
            bundle.source_channels,
            bundle.duration,
        )
    });
    let by_path = |p: &str| {
        let at = files.iter().position(|f| f == Path::new(p));
        checked[at.unwrap_or_else(|| panic!("{p} is not in the test library"))]
    };
    assert_eq!(by_path(VORBIS_TAGGED).0, 48_000);
    assert_eq!(by_path(VORBIS_TAGGED).1, 2);
    assert_eq!(
        by_path(NEGATIVE_GRANULE).0,
        44_100,
        "this file also exercises resampling"
    );
    assert_eq!(by_path(MP3).0, 22_050, "resampled from 22.05 kHz");
    let total: Duration = checked.iter().map(|c| c.2).sum();
    assert!(
        total > Duration::from_secs(30 * 60),
        "{total:?} of music checked"
    );
}

#[test]
fn wav_made_from_real_music_becomes_every_playable_rendition() {
    let (_, frames, rate) = real_music_wav();
    let bundle = wav_bundle();
    let expected = Duration::from_secs_f64(*frames as f64 / f64::from(*rate));
    assert_close("duration vs frames written", bundle.duration, expected);
    assert_eq!(bundle.source_sample_rate, 44_100);
    assert_playable("wav", bundle);
}

#[test]
fn opus_track_is_decoded_with_libopus_and_reencoded() {
    let bundle = bundle_of(OPUS);
    let source = decode_ogg(&music_bytes(OPUS));
    let declared = secs(source.last_granule - source.pre_skip);
    assert_close(
        "duration vs the source's granule",
        bundle.duration,
        declared,
    );
    assert_playable("opus", bundle);
}

#[test]
fn our_own_ogg_and_webm_renditions_ingest_back_to_the_same_duration() {
    let bundle = bundle_of(VORBIS_TAGGED);
    let rendition = &bundle.renditions[1];
    let options = TranscodeOptions {
        qualities: vec![Quality::Low],
        ..Default::default()
    };
    let ogg = transcode(&rendition.ogg, "again.opus", &options)
        .unwrap_or_else(|e| panic!("our Ogg Opus should ingest: {e}"));
    assert_close("ogg round trip", ogg.duration, bundle.duration);
    assert_eq!(
        ogg.metadata.title, bundle.metadata.title,
        "OpusTags carry the title"
    );
    // An MSE stream as a browser would have it: init, then every Cluster (Segment size unknown).
    let mut webm = rendition.init.to_vec();
    rendition
        .segments
        .iter()
        .for_each(|s| webm.extend_from_slice(&s.bytes));
    let webm = transcode(&webm, "again.webm", &options)
        .unwrap_or_else(|e| panic!("our WebM should ingest: {e}"));
    assert_close("webm round trip", webm.duration, bundle.duration);
}

#[test]
fn tags_are_read_from_a_tagged_real_file() {
    let tags = &bundle_of(VORBIS_TAGGED).metadata;
    assert_eq!(tags.title.as_deref(), Some("Chimes They Fade"));
    assert_eq!(tags.artist.as_deref(), Some("Maxstack"));
    assert_eq!(
        tags.album.as_deref(),
        Some("Endgame: Singularity Original Soundtrack")
    );
    assert_eq!(tags.date.as_deref(), Some("2012-12-15"));
    assert_eq!(tags.year, Some(2012));
    let ogg_tags =
        String::from_utf8_lossy(&bundle_of(VORBIS_TAGGED).renditions[0].ogg[..4096]).into_owned();
    assert!(
        ogg_tags.contains("TITLE=Chimes They Fade"),
        "the Ogg rendition carries the title"
    );
}

#[test]
fn cover_art_and_numbering_written_by_another_tagger_are_read() {
    let dir = temp_dir("cover");
    let cover = tiny_png();
    let file = copy_with_cover(VORBIS_TAGGED, &dir, &cover);
    let bundle = ingest_file(
        &file,
        &TranscodeOptions {
            qualities: vec![Quality::Low],
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("tagged copy should transcode: {e}"));
    let art = bundle
        .cover
        .as_ref()
        .unwrap_or_else(|| panic!("cover art not found"));
    assert_eq!(art.mime_type, "image/png");
    assert_eq!(&art.data[..], &cover[..]);
    let tags = &bundle.metadata;
    assert_eq!(
        (tags.track_number, tags.track_total, tags.disc_number),
        (Some(7), Some(12), Some(1))
    );
    assert_eq!(tags.genre.as_deref(), Some("Electronic"));
    assert_eq!(tags.album_artist.as_deref(), Some("Various Artists"));
    assert_eq!(
        tags.title.as_deref(),
        Some("Chimes They Fade"),
        "existing tags survive"
    );
}

#[test]
fn cover_art_over_the_limit_is_refused() {
    let dir = temp_dir("big-cover");
    let file = copy_with_cover(VORBIS_TAGGED, &dir, &tiny_png());
    let limits = Limits {
        max_cover_bytes: 16,
        ..Limits::default()
    };
    let err = ingest_file(
        &file,
        &TranscodeOptions {
            qualities: vec![Quality::Low],
            limits,
            ..Default::default()
        },
    )
    .err();
    assert!(
        matches!(err, Some(MediaError::CoverTooLarge { max: 16, .. })),
        "got {err:?}"
    );
}

#[test]
fn a_file_cut_in_half_is_reported_truncated() {
    let bytes = music_bytes(VORBIS_LONG);
    let dir = temp_dir("truncated");
    let half = dir.join("half.ogg");
    std::fs::write(&half, &bytes[..bytes.len() / 2]).unwrap_or_else(|e| panic!("write: {e}"));
    let err = ingest_file(&half, &TranscodeOptions::default()).err();
    let Some(MediaError::Truncated { decoded }) = err else {
        panic!("expected truncated, got {err:?}")
    };
    // 104.5 s of VBR Vorbis: half the bytes is roughly half the music.
    assert!(
        decoded > Duration::from_secs(30) && decoded < Duration::from_secs(75),
        "decoded {decoded:?}"
    );
    let message = MediaError::Truncated { decoded }.to_string();
    assert!(
        message.starts_with("truncated: decoded ") && message.ends_with(" s then hit end of data"),
        "{message}"
    );
}

#[test]
fn a_wav_cut_in_half_is_reported_truncated() {
    let bytes = &real_music_wav().0;
    let err = transcode(
        &bytes[..bytes.len() / 2],
        "half.wav",
        &TranscodeOptions::default(),
    )
    .err();
    let Some(MediaError::Truncated { decoded }) = err else {
        panic!("expected truncated, got {err:?}")
    };
    assert_close("half of 30 s", decoded, Duration::from_secs(15));
}

#[test]
fn an_ogg_file_with_damaged_pages_in_the_middle_is_refused() {
    let mut bytes = music_bytes(VORBIS_TAGGED);
    // One flipped byte per page fails that page's CRC; four pages are well over a second.
    for percent in [30, 40, 50, 60] {
        let at = bytes.len() * percent / 100;
        bytes[at] ^= 0x55;
    }
    let err = transcode(&bytes, "damaged.ogg", &TranscodeOptions::default()).err();
    let Some(MediaError::Damaged { lost }) = err else {
        panic!("expected damaged, got {err:?}")
    };
    assert!(lost > Duration::from_millis(500), "lost {lost:?}");
}

#[test]
fn a_file_that_is_not_audio_is_refused() {
    let text = include_bytes!("media.rs");
    let err = transcode(text, "song.mp3", &TranscodeOptions::default()).err();
    assert!(matches!(err, Some(MediaError::NotAudio)), "got {err:?}");
    assert_eq!(MediaError::NotAudio.to_string(), "not an audio file");
    let png = transcode(&tiny_png(), "cover.ogg", &TranscodeOptions::default()).err();
    assert!(matches!(png, Some(MediaError::NotAudio)), "got {png:?}");
}

#[test]
fn an_empty_file_is_refused() {
    let dir = temp_dir("empty");
    let empty = dir.join("empty.ogg");
    std::fs::write(&empty, b"").unwrap_or_else(|e| panic!("write: {e}"));
    let err = ingest_file(&empty, &TranscodeOptions::default()).err();
    assert!(matches!(err, Some(MediaError::Empty)), "got {err:?}");
    assert_eq!(MediaError::Empty.to_string(), "file is empty");
}

#[test]
fn audio_longer_than_the_limit_is_refused() {
    let limits = Limits {
        max_duration: Duration::from_secs(10),
        ..Limits::default()
    };
    let err = transcode(
        &music_bytes(VORBIS_TAGGED),
        "x.ogg",
        &TranscodeOptions {
            limits,
            ..Default::default()
        },
    )
    .err();
    assert!(
        matches!(err, Some(MediaError::TooLong { .. })),
        "got {err:?}"
    );
}

#[test]
fn a_missing_file_names_the_path() {
    let err = ingest_file(
        std::path::Path::new("/nonexistent/song.ogg"),
        &TranscodeOptions::default(),
    )
    .err();
    let message = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.starts_with("cannot read /nonexistent/song.ogg"),
        "{message}"
    );
}

#[test]
fn segment_lookup_and_ogg_ranges_serve_the_lead_s_streaming() {
    let bundle = bundle_of(VORBIS_TAGGED);
    let rendition = &bundle.renditions[1];
    // Lookups follow the timeline MSE buffers on: segment k covers [timestamp_k, timestamp_k+1).
    for (k, segment) in rendition.segments.iter().enumerate() {
        assert_eq!(bundle.segment_index_at(segment.timestamp), Some(k));
        if let Some(next) = rendition.segments.get(k + 1) {
            let last_ns = next.timestamp - Duration::from_nanos(1);
            assert_eq!(bundle.segment_index_at(last_ns), Some(k));
        }
    }
    let last_ns = bundle.duration - Duration::from_nanos(1);
    assert_eq!(
        bundle.segment_index_at(last_ns),
        Some(rendition.segments.len() - 1)
    );
    assert_eq!(bundle.segment_index_at(bundle.duration), None);
    let ogg = &rendition.ogg;
    let pieces = [
        rendition.ogg_range(0, Some(999)),
        rendition.ogg_range(1000, None),
    ];
    let joined: Vec<u8> = pieces
        .iter()
        .flatten()
        .flat_map(|b| b.iter().copied())
        .collect();
    assert_eq!(&joined[..], &ogg[..]);
    assert_eq!(rendition.ogg_range(ogg.len() as u64, None), None);
}

#[test]
fn identical_input_gives_identical_output() {
    let bytes = music_bytes(VORBIS_TAGGED);
    let options = TranscodeOptions {
        qualities: vec![Quality::Low],
        ..Default::default()
    };
    let a = transcode(&bytes, "a.ogg", &options).unwrap_or_else(|e| panic!("{e}"));
    let b = transcode(&bytes, "b.ogg", &options).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.content_hash, b.content_hash);
    assert_eq!(a.content_hash_hex().len(), 64);
    assert_eq!(
        a.renditions[0].ogg, b.renditions[0].ogg,
        "re-ingest must not change stored bytes"
    );
}

/// A valid 1×1 PNG.
pub fn tiny_png() -> Vec<u8> {
    vec![
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F,
        0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00,
        0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49,
        0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ]
}
