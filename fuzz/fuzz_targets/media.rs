//! The media path of an upload (`tunemesh-media`, which player-svc re-exports as `media`):
//! `transcode`, the function the ingest command and the upload route hand a file to.
//! Probing and demuxing (Ogg, Matroska/WebM, FLAC, MP3, WAV, MP4), tags and cover art, decoding (Vorbis, Opus, FLAC, MP3, PCM),
//! downmix, resampling and one Opus rendition, packaged as Ogg and WebM. Seeds are the
//! heads of real music files (`scripts/fuzz.sh` copies them); the input is capped by
//! `-max_len`, so the audio is seconds long and a run stays fast.
#![no_main]

use std::sync::LazyLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tunemesh_player::media::{Limits, Quality, TranscodeOptions, transcode};
use tunemesh_player::{ids, seek};

/// File names as an upload would carry them (only a hint: the probe reads the bytes).
const HINTS: &[&str] = &[
    "", "a.ogg", "a.opus", "a.flac", "a.mp3", "a.wav", "a.webm", "a.mka", "a.m4a",
];

static OPTIONS: LazyLock<TranscodeOptions> = LazyLock::new(|| TranscodeOptions {
    // One rendition: the ladder repeats the same encoder per quality.
    qualities: vec![Quality::Low],
    segment_duration: Duration::from_secs(4),
    limits: Limits {
        // Inputs are capped at a few hundred KB; longer audio than this is refused early.
        max_duration: Duration::from_secs(60),
        max_cover_bytes: 256 << 10,
        ..Limits::default()
    },
});

static VERBOSE: LazyLock<bool> =
    LazyLock::new(|| std::env::var_os("TUNEMESH_FUZZ_VERBOSE").is_some());

fuzz_target!(|data: &[u8]| {
    let hint = HINTS[data.len() % HINTS.len()];
    let result = transcode(data, hint, &OPTIONS);
    if *VERBOSE {
        // `TUNEMESH_FUZZ_VERBOSE=1 <target> seed...` shows what each seed gets to.
        match &result {
            Ok(b) => eprintln!(
                "ok: {:?} {:?} cover={}",
                b.duration,
                b.metadata,
                b.cover.is_some()
            ),
            Err(e) => eprintln!("refused: {e}"),
        }
    }
    let Ok(bundle) = result else {
        return;
    };
    assert!(!bundle.renditions.is_empty());
    // What the ingest does next with it (`player-svc/src/ingest`): the seek index of each Ogg
    // file (a missing one fails the whole ingest), and ids and sort names from the tags.
    for rendition in &bundle.renditions {
        assert!(
            seek::index(&rendition.ogg).is_some(),
            "our own ogg output is malformed"
        );
    }
    let tags = &bundle.metadata;
    // Tags become PostgreSQL text, which cannot hold NUL: one would fail the whole ingest.
    let texts = [
        &tags.title,
        &tags.artist,
        &tags.album,
        &tags.album_artist,
        &tags.genre,
        &tags.date,
    ];
    for text in texts
        .into_iter()
        .flatten()
        .chain(bundle.cover.as_ref().map(|c| &c.mime_type))
    {
        assert!(
            !text.contains('\0'),
            "a tag PostgreSQL cannot store: {text:?}"
        );
    }
    for name in [&tags.artist, &tags.album_artist, &tags.title, &tags.album]
        .into_iter()
        .flatten()
    {
        assert!(ids::valid(&ids::artist_id(name)));
        assert!(ids::valid(&ids::album_id(name, name)));
        let _ = ids::sort_name(name);
    }
});
