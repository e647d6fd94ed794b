//! The real music the media tests read, and files made from it (cut, re-tagged, re-encoded).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tunemesh_player::media::{MediaBundle, TranscodeOptions, ingest_file, transcode};

/// Ogg Vorbis, 48 kHz stereo, tagged (singularity-music), 42.7 s.
pub const VORBIS_TAGGED: &str = "/usr/share/games/singularity/music/lose/Chimes They Fade.ogg";
/// Ogg Vorbis, 48 kHz stereo, 104.5 s: the one cut in half.
pub const VORBIS_LONG: &str = "/usr/share/games/singularity/music/win/Apex Aleph.ogg";
/// MP3, 22.05 kHz (asc-music).
pub const MP3: &str = "/usr/share/games/asc/music/machine_wars.mp3";
/// Ogg Vorbis at 44.1 kHz with a page whose granule position is -104 (hyperrogue-music).
pub const NEGATIVE_GRANULE: &str = "/usr/share/hyperrogue/music/hr-savino-ocean.ogg";
/// Ogg Opus, 48 kHz (warzone2100-music), 3 min.
pub const OPUS: &str = "/usr/share/games/warzone2100/music/menu.opus";

/// Where singularity-music keeps its tracks (some in subfolders).
pub const SINGULARITY_DIR: &str = "/usr/share/games/singularity/music";
/// Where asc-music keeps its tracks.
pub const ASC_DIR: &str = "/usr/share/games/asc/music";

/// Every audio file of singularity-music and asc-music, plus [`NEGATIVE_GRANULE`], sorted.
pub fn test_library() -> Vec<PathBuf> {
    let mut files = vec![music(NEGATIVE_GRANULE)];
    let mut dirs = vec![music_dir(SINGULARITY_DIR), music_dir(ASC_DIR)];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for entry in entries {
            let path = entry
                .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
                .path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "ogg" || e == "mp3") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn music_dir(dir: &str) -> PathBuf {
    let path = PathBuf::from(dir);
    assert!(
        path.is_dir(),
        "{dir} is missing: run scripts/music.sh to install the Debian music packages the media tests read"
    );
    path
}

/// `check` applied to every item on one thread per core (longest work first is not worth
/// the bother at this size); results in input order. A panic in any check fails the caller.
pub fn in_parallel<T: Sync, R: Send>(items: &[T], check: impl Fn(&T) -> R + Sync) -> Vec<R> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.min(items.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        done.push((i, check(item)));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// The path of a real music file, failing the test with the fix when it is missing.
pub fn music(path: &str) -> PathBuf {
    let path = PathBuf::from(path);
    assert!(
        path.is_file(),
        "{} is missing: run scripts/music.sh to install the Debian music packages the media tests read",
        path.display()
    );
    path
}

/// The bytes of a real music file.
pub fn music_bytes(path: &str) -> Vec<u8> {
    std::fs::read(music(path)).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// A fresh directory for this test's files, under the system temp dir.
pub fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tunemesh-media-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// Transcodes a real file once per test binary, whichever test asks first.
pub fn bundle_of(path: &'static str) -> &'static MediaBundle {
    static CACHE: OnceLock<std::sync::Mutex<Vec<(&'static str, &'static MediaBundle)>>> =
        OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    // Holding the lock while transcoding keeps two tests from doing the same work twice; the
    // suite's parallelism comes from tests on different files waiting on each other only briefly.
    let mut entries = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, bundle)) = entries.iter().find(|(p, _)| *p == path) {
        return bundle;
    }
    let bundle = ingest_file(&music(path), &TranscodeOptions::default())
        .unwrap_or_else(|e| panic!("{path} should transcode: {e}"));
    let bundle: &'static MediaBundle = Box::leak(Box::new(bundle));
    entries.push((path, bundle));
    bundle
}

/// A 16-bit WAV of real music (the first 30 s of a 44.1 kHz Vorbis track, decoded), made
/// once: its bytes, frames and rate.
pub fn real_music_wav() -> &'static (Vec<u8>, u64, u32) {
    static WAV: OnceLock<(Vec<u8>, u64, u32)> = OnceLock::new();
    WAV.get_or_init(|| {
        let (samples, rate, channels) = decode_with_symphonia(NEGATIVE_GRANULE, 30);
        let frames = (samples.len() / usize::from(channels)) as u64;
        let wav = write_wav(&temp_dir("wav"), &samples, rate, channels);
        let bytes = std::fs::read(&wav).unwrap_or_else(|e| panic!("cannot read the WAV: {e}"));
        (bytes, frames, rate)
    })
}

/// [`real_music_wav`] transcoded, once.
pub fn wav_bundle() -> &'static MediaBundle {
    static BUNDLE: OnceLock<MediaBundle> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        transcode(
            &real_music_wav().0,
            "music.wav",
            &TranscodeOptions::default(),
        )
        .unwrap_or_else(|e| panic!("the WAV should transcode: {e}"))
    })
}

/// Decodes up to `max_secs` of a real file with symphonia directly (16-bit, interleaved).
pub fn decode_with_symphonia(path: &str, max_secs: u64) -> (Vec<i16>, u32, u16) {
    use symphonia::core::codecs::audio::AudioDecoderOptions;
    use symphonia::core::formats::probe::Hint;
    use symphonia::core::formats::{FormatOptions, TrackType};
    use symphonia::core::io::MediaSourceStream;

    let file = std::fs::File::open(music(path)).unwrap_or_else(|e| panic!("open {path}: {e}"));
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut format = symphonia::default::get_probe()
        .probe(
            &Hint::new(),
            mss,
            FormatOptions::default(),
            Default::default(),
        )
        .unwrap_or_else(|e| panic!("probe {path}: {e}"));
    let track = format
        .default_track(TrackType::Audio)
        .unwrap_or_else(|| panic!("no audio in {path}"));
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .unwrap_or_else(|| panic!("no params"));
    let rate = params.sample_rate.unwrap_or_else(|| panic!("no rate"));
    let channels = params.channels.as_ref().map_or(2, |c| c.count()) as u16;
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(params, &AudioDecoderOptions::default())
        .unwrap_or_else(|e| panic!("decoder: {e}"));
    let limit = max_secs as usize * rate as usize * usize::from(channels);
    let (mut samples, mut chunk) = (Vec::new(), Vec::<i16>::new());
    while let Ok(Some(packet)) = format.next_packet() {
        if let Ok(buf) = decoder.decode(&packet) {
            buf.copy_to_vec_interleaved(&mut chunk);
            samples.extend_from_slice(&chunk);
        }
        if samples.len() >= limit {
            samples.truncate(limit);
            break;
        }
    }
    (samples, rate, channels)
}

fn write_wav(dir: &Path, samples: &[i16], rate: u32, channels: u16) -> PathBuf {
    let path = dir.join("music.wav");
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&path, spec).unwrap_or_else(|e| panic!("wav: {e}"));
    for &s in samples {
        writer
            .write_sample(s)
            .unwrap_or_else(|e| panic!("wav: {e}"));
    }
    writer.finalize().unwrap_or_else(|e| panic!("wav: {e}"));
    path
}

/// A copy of a real file with extra tags and a front cover written by lofty.
pub fn copy_with_cover(path: &str, dir: &Path, cover: &[u8]) -> PathBuf {
    use lofty::config::WriteOptions;
    use lofty::picture::{MimeType, Picture, PictureType};
    use lofty::prelude::*;

    let copy = dir.join(Path::new(path).file_name().unwrap_or_default());
    std::fs::copy(music(path), &copy).unwrap_or_else(|e| panic!("copy {path}: {e}"));
    let mut tagged = lofty::read_from_path(&copy).unwrap_or_else(|e| panic!("lofty read: {e}"));
    let tag = tagged
        .primary_tag_mut()
        .unwrap_or_else(|| panic!("no primary tag in {path}"));
    tag.set_track(7);
    tag.set_track_total(12);
    tag.set_disk(1);
    tag.set_genre("Electronic".into());
    tag.insert_text(ItemKey::AlbumArtist, "Various Artists".into());
    tag.push_picture(
        Picture::unchecked(cover.to_vec())
            .pic_type(PictureType::CoverFront)
            .mime_type(MimeType::Png)
            .build(),
    );
    tagged
        .save_to_path(&copy, WriteOptions::default())
        .unwrap_or_else(|e| panic!("lofty write: {e}"));
    copy
}
