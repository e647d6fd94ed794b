//! Ingest speed: our transcoder (symphonia decode, resample, the libopus ladder, WebM segments
//! and Ogg Opus) against the ffmpeg command line encoding the same ladder to the same two
//! containers, file by file, interleaved in one run on the same real music.
//!
//! Speed is × real time per core: seconds of audio per CPU second (ours: the transcoding
//! thread's CPU; ffmpeg: the child's, both from the kernel's accounting), so other work on a
//! shared machine does not skew it. ffmpeg runs with `-threads 1` and the tee muxer: one
//! decode, one encoder per quality, each writing WebM and Ogg, as ours does.
//!
//! ```sh
//! apt-get install -y ffmpeg    # Debian's ffmpeg (libopus); the benchmark says so if missing
//! bash scripts/music.sh        # the real music
//! cargo run --release -p tunemesh-bench --bin ingest -- [FILE...]
//! ```
//! Without FILEs: every track of singularity-music and asc-music.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use tunemesh_player::media::{Quality, TranscodeOptions, ingest_file};

use tunemesh_bench::cpu;

const LIBRARY: [&str; 2] = [
    "/usr/share/games/singularity/music",
    "/usr/share/games/asc/music",
];

/// One side's totals.
#[derive(Debug, Default)]
struct Side {
    audio: f64,
    cpu: f64,
    wall: f64,
    failed: Vec<String>,
}

impl Side {
    fn speed(&self) -> f64 {
        self.audio / self.cpu.max(1e-9)
    }
}

fn main() -> anyhow::Result<()> {
    let mut files: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if files.is_empty() {
        for dir in LIBRARY {
            anyhow::ensure!(
                Path::new(dir).is_dir(),
                "{dir} is missing: run scripts/music.sh"
            );
            files.extend(audio_files(Path::new(dir))?);
        }
        files.sort();
    }
    let ffmpeg = Command::new("ffmpeg").arg("-version").output();
    let version = match ffmpeg {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned(),
        _ => anyhow::bail!("ffmpeg is missing: apt-get install -y ffmpeg"),
    };
    println!("{version}");
    println!("load before: {}", cpu::load());
    let out = tempfile::tempdir()?;
    let (mut ours, mut theirs) = (Side::default(), Side::default());
    for file in &files {
        // Ours on its own thread so that thread's CPU is exactly the transcode's.
        let path = file.clone();
        let (result, cpu, wall) = std::thread::spawn(move || {
            let (started, cpu_started) = (Instant::now(), cpu::thread());
            let result = ingest_file(&path, &TranscodeOptions::default());
            (result, cpu::thread() - cpu_started, started.elapsed())
        })
        .join()
        .map_err(|_| anyhow::anyhow!("transcoder thread panicked"))?;
        let audio = match result {
            Ok(bundle) => bundle.duration.as_secs_f64(),
            Err(error) => {
                ours.failed.push(format!("{}: {error}", file.display()));
                continue;
            }
        };
        ours.audio += audio;
        ours.cpu += cpu;
        ours.wall += wall.as_secs_f64();
        let (ff_cpu, ff_wall) = match run_ffmpeg(file, out.path()) {
            Ok(measured) => measured,
            Err(error) => {
                theirs.failed.push(format!("{}: {error:#}", file.display()));
                (0.0, 0.0)
            }
        };
        if ff_cpu > 0.0 {
            theirs.audio += audio;
            theirs.cpu += ff_cpu;
            theirs.wall += ff_wall;
        }
        println!(
            "{}: {audio:.1} s audio; ours {:.1}x per core, ffmpeg {:.1}x per core",
            file.file_name().unwrap_or_default().to_string_lossy(),
            audio / cpu.max(1e-9),
            if ff_cpu > 0.0 { audio / ff_cpu } else { 0.0 },
        );
    }
    println!("load after: {}", cpu::load());
    for (name, side) in [("tunemesh", &ours), ("ffmpeg", &theirs)] {
        println!(
            "{name}: {:.1} s of audio in {:.2} CPU s ({:.2} s wall): {:.1}x real time per core",
            side.audio,
            side.cpu,
            side.wall,
            side.speed()
        );
        for failure in &side.failed {
            println!("  {name} failed: {failure}");
        }
    }
    println!(
        "ratio tunemesh / ffmpeg (x real time per core, same files): {:.2}",
        ours.speed() / theirs.speed().max(1e-9)
    );
    Ok(())
}

fn audio_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            found.extend(audio_files(&path)?);
        } else if path.extension().is_some_and(|e| e == "ogg" || e == "mp3") {
            found.push(path);
        }
    }
    Ok(found)
}

/// The same ladder through ffmpeg: returns (child CPU seconds, wall seconds).
fn run_ffmpeg(file: &Path, out: &Path) -> anyhow::Result<(f64, f64)> {
    let mut command = Command::new("ffmpeg");
    command
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"])
        .args(["-threads", "1", "-i"])
        .arg(file);
    for quality in Quality::ALL {
        let kbps = quality.bitrate() / 1000;
        let webm = out.join(format!("{kbps}.webm"));
        let ogg = out.join(format!("{kbps}.ogg"));
        command
            .args(["-map", "0:a", "-vn", "-c:a", "libopus", "-ar", "48000"])
            .args(["-b:a", &format!("{kbps}k"), "-frame_duration", "20"])
            .args(["-f", "tee"])
            .arg(format!(
                "[f=webm:cluster_time_limit=5000]{}|[f=ogg]{}",
                webm.display(),
                ogg.display()
            ));
    }
    let (started, cpu_started) = (Instant::now(), cpu::children());
    let output = command
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .output()?;
    let (cpu, wall) = (
        cpu::children() - cpu_started,
        started.elapsed().as_secs_f64(),
    );
    anyhow::ensure!(
        output.status.success(),
        "ffmpeg failed: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok((cpu, wall))
}
