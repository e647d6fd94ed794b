//! Cover images: resized covers per second through the gateway's
//! `GET /v1/images/{id}?size=N`, with the image cache cold and warm, against a baseline in
//! the same run: the same route serving the stored bytes unresized (`GET /v1/images/{id}`,
//! player-svc's `GetImage` through the mesh and nothing else). Playlist mosaics
//! (`/v1/images/{a}.{b}.{c}.{d}?size=N`) are measured the same two ways, and so is the
//! Subsonic route apps ask for the same covers by (`/rest/getCoverArt?id=…&size=N`, with an
//! app password as `u`+`p` on every request, as apps send it).
//!
//! Two `tunemesh up` (the release binary) on copies of one library: **A** with the image
//! cache off (`[gateway.images] cache_bytes = 0`, so every request fetches from player-svc and
//! resizes: the cold path), **B** with the default cache, read once before its phases (the
//! warm path). The library holds `--covers` short songs of singularity-music, each in its own
//! folder beside a `cover.jpg`: a photo-like `--cover-px`-pixel JPEG (fine noise over
//! gradients, as a scanned cover has), so each song's track gets its own cover.
//!
//! Each phase runs `--concurrency` closed-loop clients (keep-alive HTTP/1.1) for `--seconds`,
//! asking for the covers in turn; it reports requests per second, latency p50 and p99, MB/s
//! served, and requests per second as a ratio to the baseline phase (A, originals). Phases
//! run one after the other on the same machine, so the ratios compare like with like.
//!
//! ```sh
//! bash scripts/music.sh
//! cargo build --release --bin tunemesh
//! cargo run --release -p tunemesh-bench --bin images -- [--seconds 10] [--concurrency 8] [--size 256]
//! ```

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use clap::Parser;
use image::{ExtendedColorType, ImageEncoder as _};
use serde_json::Value;
use tunemesh_testkit::accounts;

use tunemesh_bench::cpu;
use tunemesh_bench::up;

/// Short songs of singularity-music: transcoded in seconds, each a distinct track.
const SONGS: [&str; 4] = [
    "/usr/share/games/singularity/music/lose/March Thee to Dis.ogg",
    "/usr/share/games/singularity/music/lose/Chimes They Fade.ogg",
    "/usr/share/games/singularity/music/win/Apex Aleph.ogg",
    "/usr/share/games/singularity/music/Awakening.ogg",
];

#[derive(Debug, Parser)]
struct Args {
    /// Seconds each phase runs.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// `?size=` asked of resized covers and mosaics (the web player's cards ask 256).
    #[arg(long, default_value_t = 256)]
    size: u32,
    /// Covers (one song each; at most 4, at least 4 for the mosaic phases).
    #[arg(long, default_value_t = 4)]
    covers: usize,
    /// Side of each cover, in pixels.
    #[arg(long, default_value_t = 1200)]
    cover_px: u32,
    /// The `tunemesh` binary; `target/release/tunemesh` of this workspace by default.
    #[arg(long)]
    tunemesh: Option<PathBuf>,
    /// Longest wait for the library's tracks, in seconds.
    #[arg(long, default_value_t = 300)]
    ingest_timeout: u64,
}

/// A photo-like `side`×`side` JPEG whose colours depend on `seed`.
fn cover(side: u32, seed: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(side, side, |x, y| {
        let noise = (x.wrapping_mul(7919) ^ y.wrapping_mul(104_729) ^ seed) % 29;
        let channel = |v: u32| u8::try_from(v % 256).unwrap_or(u8::MAX);
        image::Rgb([
            channel(x * 255 / side + noise + seed * 60),
            channel(y * 255 / side + noise),
            channel((x + y) / 2 + seed * 40),
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(image.as_raw(), side, side, ExtendedColorType::Rgb8)
        .expect("a JPEG encodes");
    out
}

/// One folder per song, each with its own cover; the covers' total size.
fn library(root: &Path, args: &Args) -> anyhow::Result<usize> {
    let mut bytes = 0;
    for (index, song) in (0_u32..).zip(SONGS.iter().take(args.covers)) {
        let folder = root.join(format!("album {index}"));
        std::fs::create_dir_all(&folder)?;
        let name = Path::new(song).file_name().context("a file name")?;
        std::fs::copy(song, folder.join(name))
            .with_context(|| format!("{song}: run scripts/music.sh"))?;
        let picture = cover(args.cover_px, index);
        bytes += picture.len();
        std::fs::write(folder.join("cover.jpg"), picture)?;
    }
    Ok(bytes)
}

/// Signs up, creates an app password and waits until every song is a track with its cover;
/// the `/rest` credentials and the cover ids.
async fn cover_ids(
    http: &reqwest::Client,
    base: &str,
    args: &Args,
) -> anyhow::Result<(String, Vec<String>)> {
    let session = accounts::sign_up(http, base, "bench", "bench-password-1").await?;
    let token = accounts::access_token(&session)?;
    let created: Value = http
        .post(format!("{base}/v1/me/subsonic-passwords"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "name": "bench" }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let secret = created["password"].as_str().unwrap_or_default();
    let credentials = format!("u=bench&p={secret}&v=1.16.1&c=bench");
    let started = Instant::now();
    loop {
        let response = http.get(format!("{base}/v1/tracks?page_size=100"));
        let page: Value = response.bearer_auth(&token).send().await?.json().await?;
        let mut ids: Vec<String> = page["tracks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["cover"]["id"].as_str().map(str::to_owned))
            .collect();
        ids.sort();
        ids.dedup();
        if ids.len() >= args.covers {
            return Ok((credentials, ids));
        }
        ensure!(
            started.elapsed() < Duration::from_secs(args.ingest_timeout),
            "only {} of {} covers after {} s",
            ids.len(),
            args.covers,
            args.ingest_timeout
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// What one phase measured.
#[derive(Debug)]
struct Phase {
    name: &'static str,
    requests: usize,
    errors: usize,
    bytes: usize,
    elapsed: f64,
    p50_ms: f64,
    p99_ms: f64,
}

impl Phase {
    fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed
    }
}

/// `concurrency` clients asking for `paths` in turn for `seconds`.
async fn phase(name: &'static str, paths: &[String], args: &Args) -> Phase {
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let clients = (0..args.concurrency).map(|client| {
        let paths = paths.to_vec();
        tokio::spawn(async move {
            // One connection per client, kept alive, like a browser's.
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .expect("a client");
            let (mut latencies, mut errors, mut bytes) = (Vec::new(), 0, 0);
            let mut next = client;
            while Instant::now() < deadline {
                let path = &paths[next % paths.len()];
                next += 1;
                let sent = Instant::now();
                match http.get(path).send().await {
                    Ok(response) if response.status().is_success() => {
                        match response.bytes().await {
                            Ok(body) => bytes += body.len(),
                            Err(_) => errors += 1,
                        }
                    }
                    _ => errors += 1,
                }
                latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
            }
            (latencies, errors, bytes)
        })
    });
    let mut latencies = Vec::new();
    let (mut errors, mut bytes) = (0, 0);
    for joined in futures::future::join_all(clients).await {
        let (seen, failed, served) = joined.expect("a client task");
        latencies.extend(seen);
        errors += failed;
        bytes += served;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let index = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies.get(index).copied().unwrap_or(0.0)
    };
    Phase {
        name,
        requests: latencies.len(),
        errors,
        bytes,
        elapsed,
        p50_ms: at(0.5),
        p99_ms: at(0.99),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(
        (1..=SONGS.len()).contains(&args.covers) && args.concurrency > 0,
        "--covers 1 to {} and --concurrency at least 1",
        SONGS.len()
    );
    let binary = up::release_binary(args.tunemesh.clone())?;
    let work = tempfile::tempdir()?;
    let library_dir = work.path().join("library");
    let cover_bytes = library(&library_dir, &args)?;
    let cold_env = [("TUNEMESH_GATEWAY__IMAGES__CACHE_BYTES", "0")];
    let (cold, cold_url) = up::start(
        &binary,
        work.path(),
        &work.path().join("cold"),
        &library_dir,
        "cold.log",
        &cold_env,
    )?;
    let (warm, warm_url) = up::start(
        &binary,
        work.path(),
        &work.path().join("warm"),
        &library_dir,
        "warm.log",
        &[],
    )?;
    let http = reqwest::Client::new();
    let (cold_rest, ids) = cover_ids(&http, &cold_url, &args).await?;
    let (warm_rest, warm_ids) = cover_ids(&http, &warm_url, &args).await?;
    ensure!(ids == warm_ids, "both meshes hold the same covers");
    println!(
        "{} covers of {} px ({} KiB in all); {} clients, {} s per phase, ?size={}",
        ids.len(),
        args.cover_px,
        cover_bytes / 1024,
        args.concurrency,
        args.seconds,
        args.size
    );
    println!("load before: {}", cpu::load());

    let paths = |base: &str, query: &str| -> Vec<String> {
        ids.iter()
            .map(|id| format!("{base}/v1/images/{id}{query}"))
            .collect()
    };
    let sized = format!("?size={}", args.size);
    let subsonic = |base: &str, credentials: &str| -> Vec<String> {
        ids.iter()
            .map(|id| {
                format!(
                    "{base}/rest/getCoverArt?id={id}&size={}&{credentials}",
                    args.size
                )
            })
            .collect()
    };
    // Mosaics of the covers in four rotations: four distinct mosaics, each of every cover.
    let mosaics = |base: &str| -> Vec<String> {
        (0..ids.len())
            .map(|turn| {
                let parts: Vec<&str> = (0..4)
                    .map(|i| ids[(turn + i) % ids.len()].as_str())
                    .collect();
                format!("{base}/v1/images/{}{sized}", parts.join("."))
            })
            .collect()
    };

    let mut phases = vec![
        phase(
            "original, cache off (baseline)",
            &paths(&cold_url, ""),
            &args,
        )
        .await,
        phase(
            "resized, cache off (cold)",
            &paths(&cold_url, &sized),
            &args,
        )
        .await,
    ];
    phases.push(
        phase(
            "Subsonic getCoverArt, cache off (cold)",
            &subsonic(&cold_url, &cold_rest),
            &args,
        )
        .await,
    );
    if ids.len() >= 4 {
        phases.push(phase("mosaic, cache off (cold)", &mosaics(&cold_url), &args).await);
    }
    // Warm: every rendering read once first.
    let warm_paths = paths(&warm_url, &sized);
    let warm_subsonic = subsonic(&warm_url, &warm_rest);
    let warm_mosaics = if ids.len() >= 4 {
        mosaics(&warm_url)
    } else {
        Vec::new()
    };
    for path in warm_paths.iter().chain(&warm_mosaics).chain(&warm_subsonic) {
        http.get(path)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
    }
    phases.push(phase("resized, cache warm", &warm_paths, &args).await);
    phases.push(phase("Subsonic getCoverArt, cache warm", &warm_subsonic, &args).await);
    if !warm_mosaics.is_empty() {
        phases.push(phase("mosaic, cache warm", &warm_mosaics, &args).await);
    }
    println!("load after: {}", cpu::load());

    let baseline = phases[0].per_second();
    println!();
    println!("| phase | requests/s | vs baseline | p50 ms | p99 ms | MB/s | errors |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for p in &phases {
        println!(
            "| {} | {:.0} | {:.2}× | {:.2} | {:.2} | {:.1} | {} |",
            p.name,
            p.per_second(),
            p.per_second() / baseline,
            p.p50_ms,
            p.p99_ms,
            p.bytes as f64 / p.elapsed / 1e6,
            p.errors
        );
    }
    drop(cold);
    drop(warm);
    Ok(())
}
