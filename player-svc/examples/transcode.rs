//! Measures the media pipeline: transcodes real tracks through the whole Opus ladder on one
//! thread and prints speed × real time per core, bitrates and sizes.
//!
//! Speed is audio seconds per CPU second of this thread (from `/proc/thread-self/stat`), so
//! other work on a shared machine does not skew it; wall-clock speed is printed beside it.
//!
//! `cargo run --release -p tunemesh-player --example transcode -- [FILE...]`
//! (defaults to a few of the tracks `scripts/music.sh` installs).

use std::path::{Path, PathBuf};
use std::time::Instant;

use tunemesh_player::media::{MediaBundle, TranscodeOptions, ingest_file};

#[path = "support/cpu.rs"]
mod cpu;

const DEFAULT_TRACKS: [&str; 4] = [
    "/usr/share/games/singularity/music/Nebula.ogg",
    "/usr/share/hyperrogue/music/hr3-caves.ogg",
    "/usr/share/games/asc/music/machine_wars.mp3",
    "/usr/share/games/warzone2100/music/menu.opus",
];

fn main() {
    let mut files: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if files.is_empty() {
        files = DEFAULT_TRACKS.iter().map(PathBuf::from).collect();
    }
    let (mut audio, mut cpu_total) = (0.0, 0.0);
    for file in &files {
        let (started, cpu_started) = (Instant::now(), thread_cpu_secs());
        match ingest_file(file, &TranscodeOptions::default()) {
            Ok(bundle) => {
                let wall = started.elapsed().as_secs_f64();
                let cpu = thread_cpu_secs() - cpu_started;
                report(file, &bundle, wall, cpu);
                audio += bundle.duration.as_secs_f64();
                cpu_total += cpu;
            }
            Err(e) => eprintln!("{}: {e}", file.display()),
        }
    }
    if cpu_total > 0.0 {
        let speed = audio / cpu_total;
        println!(
            "total: {audio:.1} s of audio in {cpu_total:.2} CPU s: {speed:.1}x real time per core"
        );
    }
}

/// CPU time this thread has used, in seconds (0 where /proc is unavailable).
fn thread_cpu_secs() -> f64 {
    cpu::seconds("/proc/thread-self/stat")
}

fn report(file: &Path, bundle: &MediaBundle, wall: f64, cpu: f64) {
    let duration = bundle.duration.as_secs_f64();
    println!(
        "{}: {duration:.3} s, {} Hz, {} ch; whole ladder in {cpu:.2} CPU s = {:.1}x real time \
         per core ({:.1}x by wall clock)",
        file.display(),
        bundle.source_sample_rate,
        bundle.source_channels,
        duration / cpu.max(0.01),
        duration / wall,
    );
    for r in &bundle.renditions {
        let webm: usize = r.init.len() + r.segments.iter().map(|s| s.bytes.len()).sum::<usize>();
        println!(
            "  {:>9}: {:>6} bit/s (target {:>6}), {} segments, webm {} B, ogg {} B",
            r.quality.as_str(),
            r.bitrate,
            r.quality.bitrate(),
            r.segments.len(),
            webm,
            r.ogg.len(),
        );
    }
}
