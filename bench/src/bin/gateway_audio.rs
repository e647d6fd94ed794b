//! Audio delivery: simulated listeners at real-time pace through the gateway's
//! `GET /v1/tracks/{id}/audio` with `Range`, and in the same run against nginx serving the very
//! same stored Ogg Opus files from the data dir (sendfile, 2 workers). Steps N up; for each N,
//! the gateway step then the nginx step, so both see the same machine.
//!
//! It starts the real release binary (`tunemesh up --library` on a copy of the first
//! `--tracks` files of singularity-music, a fresh data dir, free ports), waits until every track
//! is listed with its qualities, finds the stored `<quality>/audio.ogg` files on disk and starts
//! `nginx -g 'daemon off;'` on them. Per-address and per-user rate limits are off for the run
//! (every listener comes from 127.0.0.1 as one user; nginx has none either), and so are the
//! per-address connection cap and the per-account stream cap.
//!
//! A listener has its own HTTP/1.1 connection and plays one track at its real byte rate
//! (file size / duration): it fetches `--chunk` bytes with `Range` whenever less than
//! `--ahead` seconds are buffered ahead of its playhead. Playback starts with the first byte.
//! A stutter is the playhead catching up with the downloaded bytes (it then waits, and the
//! wait is not counted as played). Listeners start evenly over `--ramp` seconds and each
//! plays `--seconds`. Reported per target and N: time to first audio byte p50/p99 (the first
//! request, connection set-up included), stutters, failed listeners (an HTTP error or no audio),
//! and the server's CPU (utime + stime of the process and its children from `/proc`, over the
//! step). Capacity is the largest N of the contiguous clean steps (0 stutter, 0 failure).
//!
//! At library scale (issue 17): `--clip-seconds` ingests the first seconds of each file (short
//! real-music clips keep ingest quick), `--copies` makes the catalogue that many times larger
//! (`tunemesh_bench::copies`: rows of their own playing the originals' files, so the edge cache
//! sees distinct tracks while the disk holds the music once, for nginx too), `--zipf` draws
//! tracks from a play-count curve, `--seconds` longer than a clip makes every play whole, and
//! `--seek-share` / `--switch-share` of the listeners seek once to a random point or switch
//! once to `--switch-to` quality mid-play (seek latency is reported apart from first bytes).
//!
//! ```sh
//! cargo build --release --bin tunemesh
//! cargo run --release -p tunemesh-bench --bin gateway_audio -- [--steps 25,50,100,200,400,800]
//! ```

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use clap::Parser;
use serde_json::Value;
use tunemesh_testkit::accounts;

const MUSIC: &str = "/usr/share/games/singularity/music";

use tunemesh_bench::copies::{copy_id, copy_tracks};
use tunemesh_bench::playback::{self, File, Listened, Plan};
use tunemesh_bench::popularity::{Popularity, unit};
use tunemesh_bench::up;
use tunemesh_bench::{cpu, nginx};

#[derive(Debug, Parser)]
struct Args {
    /// Directory of music to ingest (its first `--tracks` files, by name).
    #[arg(long, default_value = MUSIC)]
    library: PathBuf,
    /// Tracks ingested and played; listener i plays track i mod this.
    #[arg(long, default_value_t = 4)]
    tracks: usize,
    /// The `tunemesh` binary; `target/release/tunemesh` of this workspace by default.
    #[arg(long)]
    tunemesh: Option<PathBuf>,
    /// The nginx binary.
    #[arg(long, default_value = "nginx")]
    nginx: PathBuf,
    /// Listener counts tried, in order; a target stops at its first unclean step.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "25,50,100,200,400,800,1600"
    )]
    steps: Vec<usize>,
    /// Wall-clock seconds each listener plays.
    #[arg(long, default_value_t = 12.0)]
    seconds: f64,
    /// Listeners start evenly over this many seconds.
    #[arg(long, default_value_t = 2.0)]
    ramp: f64,
    /// Seconds of audio a listener keeps buffered ahead of its playhead.
    #[arg(long, default_value_t = 4.0)]
    ahead: f64,
    /// Bytes per Range request.
    #[arg(long, default_value_t = 65536)]
    chunk: u64,
    /// Listener i plays track i mod `--tracks` unless this is set: then tracks are drawn from
    /// a Zipf curve with this exponent (1.0 is typical of play counts), so the gateway's edge
    /// cache meets hits and misses (make it smaller than the library with
    /// `TUNEMESH_GATEWAY__AUDIO_CACHE_BYTES`); its hit ratio per step is printed.
    #[arg(long)]
    zipf: Option<f64>,
    /// Quality played (`low`, `normal`, `high`, `very_high`).
    #[arg(long, default_value = "normal")]
    quality: String,
    /// Seconds to wait for the library to be ingested.
    #[arg(long, default_value_t = 900)]
    ingest_timeout: u64,
    /// Ingest only the first this many seconds of each file (ffmpeg, stream copy).
    #[arg(long)]
    clip_seconds: Option<f64>,
    /// Copies of every ingested track added to the catalogue.
    #[arg(long, default_value_t = 0)]
    copies: usize,
    /// Share of listeners that seek once, to a random point, a random time into their play.
    #[arg(long, default_value_t = 0.0)]
    seek_share: f64,
    /// Share of listeners that switch once to `--switch-to` quality mid-play.
    #[arg(long, default_value_t = 0.0)]
    switch_share: f64,
    /// The quality switched to.
    #[arg(long, default_value = "high")]
    switch_to: String,
}

/// One playable file, as each target names it.
#[derive(Debug, Clone)]
struct Rendition {
    gateway_path: String,
    nginx_path: String,
    size: u64,
    /// Bytes per second of audio.
    rate: f64,
}

/// A track: the rendition played, and the one a switch goes to.
#[derive(Debug, Clone)]
struct Track {
    played: Rendition,
    switch: Option<Rendition>,
}

/// Where listeners fetch from.
#[derive(Debug, Clone)]
struct Target {
    name: &'static str,
    base: String,
    bearer: Option<String>,
    pid: u32,
    gateway: bool,
    /// Its `/metrics`, for the gateway's edge cache counters.
    metrics: Option<String>,
}

impl Target {
    fn url(&self, rendition: &Rendition) -> String {
        let path = if self.gateway {
            &rendition.gateway_path
        } else {
            &rendition.nginx_path
        };
        format!("{}{path}", self.base)
    }

    fn file(&self, rendition: &Rendition) -> File {
        File {
            url: self.url(rendition),
            size: rendition.size,
            rate: rendition.rate,
        }
    }
}

/// One target at one N.
#[derive(Debug)]
struct Step {
    listeners: usize,
    p50_ms: f64,
    p99_ms: f64,
    /// Seek to first byte there, p99, when listeners seek.
    seek_p99_ms: f64,
    /// Listeners that heard their track to the end.
    whole: usize,
    stutters: u32,
    stuttering: usize,
    failed: usize,
    first_error: Option<String>,
    requests: u32,
    server_cpu: f64,
    client_cpu: f64,
    wall: f64,
}

impl Step {
    fn clean(&self) -> bool {
        self.stutters == 0 && self.failed == 0
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(args.tracks > 0 && args.chunk > 0 && !args.steps.is_empty());
    let work = tempfile::tempdir()?;
    let library = link_library(&args, &work.path().join("library"))?;
    let data_dir = work.path().join("data");

    let binary = up::release_binary(args.tunemesh.clone())?;
    let (gateway, base, metrics) = up::start_with_metrics(
        &binary,
        work.path(),
        &data_dir,
        &library,
        "tunemesh.log",
        &[],
    )?;
    eprintln!(
        "tunemesh is up at {base}; waiting for {library_len} tracks",
        library_len = args.tracks
    );
    let http = reqwest::Client::new();
    let token = sign_up(&http, &base).await?;
    let originals = wait_for_tracks(&http, &base, &token, &args, &data_dir).await?;
    for track in &originals {
        let played = &track.played;
        eprintln!(
            "track {} -> {} ({} bytes, {:.0} B/s)",
            played.gateway_path, played.nginx_path, played.size, played.rate
        );
    }
    let tracks = with_copies(&originals, args.copies, &data_dir)?;
    let bytes: u64 = tracks.iter().map(|t| t.played.size).sum();
    eprintln!(
        "{} tracks, {:.0} MiB at {}",
        tracks.len(),
        bytes as f64 / f64::from(1 << 20),
        args.quality
    );

    let nginx_port = nginx::free_port()?;
    let nginx = nginx::start(&args.nginx, work.path(), &data_dir, nginx_port)?;
    let targets = [
        Target {
            name: "gateway",
            base: base.clone(),
            bearer: Some(token),
            pid: gateway.0.id(),
            gateway: true,
            metrics: Some(metrics),
        },
        Target {
            name: "nginx",
            base: format!("http://127.0.0.1:{nginx_port}"),
            bearer: None,
            pid: nginx.0.id(),
            gateway: false,
            metrics: None,
        },
    ];
    // Both answer every track (the originals, and a copy of each), and the page cache holds
    // every file before the first step.
    let probes: Vec<Track> = originals
        .iter()
        .chain(tracks.iter().rev().take(originals.len()))
        .cloned()
        .collect();
    for target in &targets {
        wait_for_target(&http, target, &probes).await?;
    }

    println!(
        "tracks {}, quality {}, {:.0} s per listener, ramp {:.0} s, {} s ahead, {} KiB chunks; load before: {}",
        tracks.len(),
        args.quality,
        args.seconds,
        args.ramp,
        args.ahead,
        args.chunk / 1024,
        cpu::load()
    );
    println!(
        "| target | listeners | first byte p50 ms | p99 ms | seek p99 ms | whole plays | stutters | stuttering listeners | failed | requests | server CPU s | CPU ms per listener | server CPU % of a core | bench CPU s | load |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut results: Vec<Vec<Step>> = vec![Vec::new(), Vec::new()];
    let mut alive = [true, true];
    for &n in &args.steps {
        if !alive.iter().any(|a| *a) {
            break;
        }
        for (i, target) in targets.iter().enumerate() {
            if !alive[i] {
                continue;
            }
            let hits_before = edge_cache(&http, target).await;
            let step = run_step(target, &tracks, n, &args).await;
            let hits_after = edge_cache(&http, target).await;
            println!(
                "| {} | {} | {:.1} | {:.1} | {:.1} | {} | {} | {} | {} | {} | {:.2} | {:.2} | {:.0} | {:.2} | {} |",
                target.name,
                n,
                step.p50_ms,
                step.p99_ms,
                step.seek_p99_ms,
                step.whole,
                step.stutters,
                step.stuttering,
                step.failed,
                step.requests,
                step.server_cpu,
                step.server_cpu * 1000.0 / n as f64,
                step.server_cpu * 100.0 / step.wall,
                step.client_cpu,
                cpu::load()
            );
            if let Some(error) = &step.first_error {
                println!("  {} at {n}: first failure: {error}", target.name);
            }
            if let (Some((h0, m0)), Some((h1, m1))) = (hits_before, hits_after) {
                let (hits, misses) = (h1 - h0, m1 - m0);
                if hits + misses > 0.0 {
                    println!(
                        "  {} at {n}: edge cache hit ratio {:.1} % ({hits:.0} hits, {misses:.0} misses)",
                        target.name,
                        100.0 * hits / (hits + misses)
                    );
                }
            }
            std::io::stdout().flush()?;
            alive[i] = step.clean();
            results[i].push(step);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    let (gw, ngx) = (capacity(&results[0]), capacity(&results[1]));
    let tried_all = |i: usize| alive[i] && results[i].len() == args.steps.len();
    for (i, (target, best)) in targets.iter().zip([gw, ngx]).enumerate() {
        match best {
            Some(step) => println!(
                "{}: most listeners with 0 stutter {}{} (first byte p50 {:.1} ms, p99 {:.1} ms, {:.2} CPU ms per listener)",
                target.name,
                step.listeners,
                if tried_all(i) {
                    " or more (largest step tried)"
                } else {
                    ""
                },
                step.p50_ms,
                step.p99_ms,
                step.server_cpu * 1000.0 / step.listeners as f64,
            ),
            None => println!("{}: no clean step", target.name),
        }
    }
    if let (Some(gw), Some(ngx)) = (gw, ngx) {
        let ratio = gw.listeners as f64 / ngx.listeners as f64;
        let verdict = if tried_all(1) {
            "not measured: nginx never stuttered, add larger --steps"
        } else if ratio >= 0.8 {
            "met"
        } else {
            "NOT met"
        };
        println!(
            "gateway / nginx capacity {ratio:.2}x (goal >= 0.8x): {verdict}; gateway first byte p99 at capacity {:.1} ms (goal < 50 ms): {}",
            gw.p99_ms,
            if gw.p99_ms < 50.0 { "met" } else { "NOT met" },
        );
    }
    for (target, steps) in targets.iter().zip(&results) {
        let fast = steps
            .iter()
            .take_while(|s| s.clean() && s.p99_ms < 50.0)
            .last();
        println!(
            "{}: most listeners with 0 stutter and first byte p99 < 50 ms: {}",
            target.name,
            fast.map_or("none".to_owned(), |s| s.listeners.to_string())
        );
    }
    println!("load after: {}", cpu::load());
    drop(nginx);
    drop(gateway);
    Ok(())
}

/// A library of copies of the first `--tracks` audio files of `--library`, by name; with
/// `--clip-seconds`, of their first seconds only (ffmpeg, stream copy).
fn link_library(args: &Args, to: &Path) -> anyhow::Result<PathBuf> {
    let (from, count) = (&args.library, args.tracks);
    let mut files: Vec<PathBuf> = std::fs::read_dir(from)
        .with_context(|| format!("cannot read {}", from.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "ogg" || e == "flac" || e == "mp3")
        })
        .collect();
    files.sort();
    ensure!(
        files.len() >= count,
        "{} has {} audio files, fewer than --tracks {count}",
        from.display(),
        files.len()
    );
    std::fs::create_dir_all(to)?;
    for file in files.iter().take(count) {
        let name = file.file_name().context("file name")?;
        let Some(seconds) = args.clip_seconds else {
            // Copies: the library scan does not follow symbolic links.
            std::fs::copy(file, to.join(name))?;
            continue;
        };
        let status = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-i"])
            .arg(file)
            .args(["-t", &seconds.to_string(), "-c", "copy"])
            .arg(to.join(name))
            .status()
            .context("cannot run ffmpeg (apt-get install ffmpeg)")?;
        ensure!(status.success(), "ffmpeg could not clip {}", file.display());
    }
    Ok(to.to_path_buf())
}

/// `originals` and `copies` copies of each (added to player-svc's catalogue in `data_dir`),
/// the copies served by nginx at `/c/<n>/...` from the originals' files.
fn with_copies(originals: &[Track], copies: usize, data_dir: &Path) -> anyhow::Result<Vec<Track>> {
    if copies == 0 {
        return Ok(originals.to_vec());
    }
    let db = data_dir.join("player").join("catalog.sqlite");
    copy_tracks(&db, copies)?;
    let copy = |r: &Rendition, n: usize| {
        let (path, query) = r
            .gateway_path
            .split_once('?')
            .unwrap_or((&r.gateway_path, ""));
        let id = path
            .trim_start_matches("/v1/tracks/")
            .trim_end_matches("/audio");
        Rendition {
            gateway_path: format!("/v1/tracks/{}/audio?{query}", copy_id(id, n)),
            nginx_path: format!("/c/{n}{}", r.nginx_path),
            ..r.clone()
        }
    };
    let mut tracks = originals.to_vec();
    for n in 1..=copies {
        tracks.extend(originals.iter().map(|t| Track {
            played: copy(&t.played, n),
            switch: t.switch.as_ref().map(|r| copy(r, n)),
        }));
    }
    Ok(tracks)
}

async fn sign_up(http: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let session = accounts::sign_up(http, base, "bench", "bench-password-1").await?;
    accounts::access_token(&session)
}

async fn get_json(http: &reqwest::Client, url: &str, token: &str) -> anyhow::Result<Value> {
    let response = http.get(url).bearer_auth(token).send().await?;
    let status = response.status();
    let body: Value = response.json().await?;
    ensure!(status.is_success(), "{url} answered {status}: {body}");
    Ok(body)
}

/// Waits until every track is listed with the quality, then pairs each with its stored file.
async fn wait_for_tracks(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    args: &Args,
    data_dir: &Path,
) -> anyhow::Result<Vec<Track>> {
    let started = Instant::now();
    let ids = loop {
        let page = get_json(http, &format!("{base}/v1/tracks?page_size=500"), token).await?;
        let tracks = page["tracks"].as_array().cloned().unwrap_or_default();
        let ready: Vec<String> = tracks
            .iter()
            .filter(|t| {
                t["available_qualities"]
                    .as_array()
                    .is_some_and(|q| q.iter().any(|q| q == args.quality.as_str()))
            })
            .filter_map(|t| t["id"].as_str().map(str::to_owned))
            .collect();
        if ready.len() >= args.tracks {
            break ready;
        }
        ensure!(
            started.elapsed() < Duration::from_secs(args.ingest_timeout),
            "only {} of {} tracks ingested after {} s",
            ready.len(),
            args.tracks,
            args.ingest_timeout
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    eprintln!("ingested in {:.0} s", started.elapsed().as_secs_f64());

    // Stored files by quality and size: a track's file is the one of its size.
    let mut on_disk: HashMap<(String, u64), Vec<String>> = HashMap::new();
    for path in files_under(data_dir)? {
        let quality = path.parent().and_then(Path::file_name);
        if let (Some(quality), Some("audio.ogg")) =
            (quality, path.file_name().and_then(|n| n.to_str()))
        {
            let size = std::fs::metadata(&path)?.len();
            let relative = path.strip_prefix(data_dir)?.to_string_lossy().into_owned();
            let key = (quality.to_string_lossy().into_owned(), size);
            on_disk.entry(key).or_default().push(relative);
        }
    }
    let mut tracks = Vec::new();
    for id in ids {
        let manifest = get_json(http, &format!("{base}/v1/tracks/{id}/manifest"), token).await?;
        let rendition = |quality: &str| rendition(&id, &manifest, quality, &on_disk);
        let switch = (args.switch_share > 0.0)
            .then(|| rendition(&args.switch_to))
            .transpose()?;
        tracks.push(Track {
            played: rendition(&args.quality)?,
            switch,
        });
    }
    Ok(tracks)
}

/// Track `id`'s file of `quality`, from its manifest and the stored files.
fn rendition(
    id: &str,
    manifest: &Value,
    quality: &str,
    on_disk: &HashMap<(String, u64), Vec<String>>,
) -> anyhow::Result<Rendition> {
    let duration_ms = manifest["duration_ms"].as_u64().context("duration_ms")?;
    ensure!(duration_ms > 0, "track {id} has no duration");
    let found = manifest["qualities"]
        .as_array()
        .and_then(|qs| qs.iter().find(|q| q["quality"] == quality))
        .with_context(|| format!("no {quality} in the manifest of {id}"))?;
    let size = found["progressive"]["size_bytes"]
        .as_u64()
        .context("progressive size_bytes")?;
    let file = match on_disk.get(&(quality.to_owned(), size)).map(Vec::as_slice) {
        Some([one]) => one.clone(),
        other => bail!("track {id}: {other:?} stored {quality} files of its size {size}"),
    };
    Ok(Rendition {
        gateway_path: format!("/v1/tracks/{id}/audio?quality={quality}"),
        nginx_path: format!("/{file}"),
        size,
        rate: size as f64 * 1000.0 / duration_ms as f64,
    })
}

fn files_under(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                dirs.push(entry.path());
            } else if kind.is_file() {
                files.push(entry.path());
            }
        }
    }
    Ok(files)
}

/// Waits until the target answers a Range request for every track with 206 and the right size.
async fn wait_for_target(
    http: &reqwest::Client,
    target: &Target,
    tracks: &[Track],
) -> anyhow::Result<()> {
    let started = Instant::now();
    for track in tracks {
        let track = &track.played;
        loop {
            let mut request = http.get(target.url(track)).header("range", "bytes=0-");
            if let Some(token) = &target.bearer {
                request = request.bearer_auth(token);
            }
            let outcome = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let body = response.bytes().await.unwrap_or_default();
                    if status == 206 && body.len() as u64 == track.size {
                        Ok(())
                    } else {
                        Err(format!("{status}, {} bytes", body.len()))
                    }
                }
                Err(error) => Err(error.to_string()),
            };
            match outcome {
                Ok(()) => break,
                Err(error) if started.elapsed() > Duration::from_secs(20) => {
                    bail!(
                        "{} does not serve {}: {error}",
                        target.name,
                        target.url(track)
                    )
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
    Ok(())
}

/// The gateway's edge cache counters (hits, misses) from its `/metrics`; `None` for nginx.
async fn edge_cache(http: &reqwest::Client, target: &Target) -> Option<(f64, f64)> {
    let metrics = target.metrics.as_ref()?;
    let text = http.get(metrics).send().await.ok()?.text().await.ok()?;
    let count = |result: &str| {
        text.lines()
            .filter(|l| l.starts_with("tunemesh_gateway_audio_cache_ranges_total{"))
            .filter(|l| l.contains(&format!("result=\"{result}\"")))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    Some((count("hit"), count("miss")))
}

async fn run_step(target: &Target, tracks: &[Track], n: usize, args: &Args) -> Step {
    let server_before = cpu::tree(target.pid);
    let client_before = cpu::process();
    let started = Instant::now();
    let t0 = tokio::time::Instant::now() + Duration::from_millis(100);
    let popularity = Popularity::new(tracks.len(), args.zipf);
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let plan = plan(target, &tracks[popularity.track(i)], i, args);
        let start = t0 + Duration::from_secs_f64(args.ramp * i as f64 / n as f64);
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(start).await;
            match reqwest::Client::builder().http1_only().build() {
                Ok(client) => playback::listen(&client, plan).await,
                Err(error) => Listened {
                    error: Some(error.to_string()),
                    ..Listened::default()
                },
            }
        }));
    }
    let mut heard = Vec::with_capacity(n);
    for task in tasks {
        heard.push(task.await.unwrap_or_else(|e| Listened {
            error: Some(format!("listener panicked: {e}")),
            ..Listened::default()
        }));
    }
    let wall = started.elapsed().as_secs_f64();
    let server_cpu = cpu::tree(target.pid) - server_before;
    let client_cpu = cpu::process() - client_before;

    let millis = |of: fn(&Listened) -> Option<Duration>| {
        let mut all: Vec<f64> = heard
            .iter()
            .filter_map(|l| of(l).map(|d| d.as_secs_f64() * 1000.0))
            .collect();
        all.sort_by(f64::total_cmp);
        all
    };
    let (first, seeks) = (millis(|l| l.first_byte), millis(|l| l.seek_byte));
    let failed: Vec<&Listened> = heard
        .iter()
        .filter(|l| l.error.is_some() || l.first_byte.is_none())
        .collect();
    Step {
        listeners: n,
        p50_ms: percentile(&first, 0.50),
        p99_ms: percentile(&first, 0.99),
        seek_p99_ms: percentile(&seeks, 0.99),
        whole: heard.iter().filter(|l| l.whole).count(),
        stutters: heard.iter().map(|l| l.stutters).sum(),
        stuttering: heard.iter().filter(|l| l.stutters > 0).count(),
        failed: failed.len(),
        first_error: failed.first().map(|l| {
            l.error
                .clone()
                .unwrap_or_else(|| "no audio before the end".to_owned())
        }),
        requests: heard.iter().map(|l| l.requests).sum(),
        server_cpu,
        client_cpu,
        wall,
    }
}

/// What listener `i` does: `track` at `target`, and whether (and when) it seeks or switches
/// quality, drawn from its number so both targets of a run hear the same plays.
fn plan(target: &Target, track: &Track, i: usize, args: &Args) -> Plan {
    let file = target.file(&track.played);
    let length = file.seconds().min(args.seconds);
    let draw = |salt: u64| unit((i as u64) << 8 | salt);
    let seek = (draw(1) < args.seek_share)
        .then(|| (draw(2) * length * 0.8, draw(3) * file.seconds() * 0.9));
    let switch = track
        .switch
        .as_ref()
        .filter(|_| draw(4) < args.switch_share)
        .map(|r| (draw(5) * length * 0.8, target.file(r)));
    Plan {
        file,
        seek,
        switch,
        bearer: target.bearer.clone(),
        seconds: args.seconds,
        ahead: args.ahead,
        chunk: args.chunk,
    }
}

/// The last of the clean steps before the first unclean one.
fn capacity(steps: &[Step]) -> Option<&Step> {
    steps.iter().take_while(|s| s.clean()).last()
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let at = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}
