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
//! ```sh
//! cargo build --release --bin tunemesh
//! cargo run --release -p tunemesh-bench --bin gateway_audio -- [--steps 25,50,100,200,400,800]
//! ```

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use clap::Parser;
use serde_json::Value;
use tunemesh_testkit::accounts;

const MUSIC: &str = "/usr/share/games/singularity/music";

use tunemesh_bench::cpu;
use tunemesh_bench::popularity::Popularity;
use tunemesh_bench::up::{self, Process};

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
}

/// One playable file, as each target names it.
#[derive(Debug, Clone)]
struct Track {
    gateway_path: String,
    nginx_path: String,
    size: u64,
    /// Bytes per second of audio.
    rate: f64,
}

/// Where listeners fetch from.
#[derive(Debug, Clone)]
struct Target {
    name: &'static str,
    base: String,
    bearer: Option<String>,
    pid: u32,
    gateway: bool,
}

impl Target {
    fn url(&self, track: &Track) -> String {
        let path = if self.gateway {
            &track.gateway_path
        } else {
            &track.nginx_path
        };
        format!("{}{path}", self.base)
    }
}

/// What one listener saw.
#[derive(Debug, Default)]
struct Listened {
    first_byte: Option<Duration>,
    stutters: u32,
    requests: u32,
    bytes: u64,
    error: Option<String>,
}

/// One target at one N.
#[derive(Debug)]
struct Step {
    listeners: usize,
    p50_ms: f64,
    p99_ms: f64,
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
    let library = link_library(&args.library, args.tracks, &work.path().join("library"))?;
    let data_dir = work.path().join("data");

    let binary = up::release_binary(args.tunemesh.clone())?;
    let (gateway, base) = up::start(
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
    let tracks = wait_for_tracks(&http, &base, &token, &args, &data_dir).await?;
    for track in &tracks {
        eprintln!(
            "track {} -> {} ({} bytes, {:.0} B/s)",
            track.gateway_path, track.nginx_path, track.size, track.rate
        );
    }

    let nginx_port = free_port()?;
    let nginx = start_nginx(&args.nginx, work.path(), &data_dir, nginx_port)?;
    let targets = [
        Target {
            name: "gateway",
            base: base.clone(),
            bearer: Some(token),
            pid: gateway.0.id(),
            gateway: true,
        },
        Target {
            name: "nginx",
            base: format!("http://127.0.0.1:{nginx_port}"),
            bearer: None,
            pid: nginx.0.id(),
            gateway: false,
        },
    ];
    // Both answer every track, and the page cache holds every file before the first step.
    for target in &targets {
        wait_for_target(&http, target, &tracks).await?;
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
        "| target | listeners | first byte p50 ms | p99 ms | stutters | stuttering listeners | failed | requests | server CPU s | CPU ms per listener | server CPU % of a core | bench CPU s | load |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
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
                "| {} | {} | {:.1} | {:.1} | {} | {} | {} | {} | {:.2} | {:.2} | {:.0} | {:.2} | {} |",
                target.name,
                n,
                step.p50_ms,
                step.p99_ms,
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

/// A library of copies of the first `count` audio files of `from`, by name.
fn link_library(from: &Path, count: usize, to: &Path) -> anyhow::Result<PathBuf> {
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
        // Copies: the library scan does not follow symbolic links.
        std::fs::copy(file, to.join(name))?;
    }
    Ok(to.to_path_buf())
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

    let suffix = format!("{}/audio.ogg", args.quality);
    let mut on_disk: HashMap<u64, Vec<String>> = HashMap::new();
    for path in files_under(data_dir)? {
        if path.ends_with(Path::new(&suffix)) {
            let size = std::fs::metadata(&path)?.len();
            let relative = path.strip_prefix(data_dir)?.to_string_lossy().into_owned();
            on_disk.entry(size).or_default().push(relative);
        }
    }
    let mut tracks = Vec::new();
    for id in ids {
        let manifest = get_json(http, &format!("{base}/v1/tracks/{id}/manifest"), token).await?;
        let duration_ms = manifest["duration_ms"].as_u64().context("duration_ms")?;
        let quality = manifest["qualities"]
            .as_array()
            .and_then(|qs| qs.iter().find(|q| q["quality"] == args.quality.as_str()))
            .with_context(|| format!("no {} in the manifest of {id}", args.quality))?;
        let size = quality["progressive"]["size_bytes"]
            .as_u64()
            .context("progressive size_bytes")?;
        let file = match on_disk.get(&size).map(Vec::as_slice) {
            Some([one]) => one.clone(),
            other => bail!("track {id}: {other:?} stored files of its size {size}"),
        };
        ensure!(duration_ms > 0, "track {id} has no duration");
        tracks.push(Track {
            gateway_path: format!("/v1/tracks/{id}/audio?quality={}", args.quality),
            nginx_path: format!("/{file}"),
            size,
            rate: size as f64 * 1000.0 / duration_ms as f64,
        });
    }
    Ok(tracks)
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

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// nginx in the foreground, 2 workers with sendfile, serving `root` on a loopback port.
fn start_nginx(binary: &Path, work: &Path, root: &Path, port: u16) -> anyhow::Result<Process> {
    let prefix = work.join("nginx");
    std::fs::create_dir_all(prefix.join("temp"))?;
    let temp = prefix.join("temp");
    let temp = temp.display();
    let running_as_root = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    let conf = format!(
        "{user}worker_processes 2;
worker_rlimit_nofile 65536;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 16384; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    types {{ audio/ogg ogg; }}
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ }}
    }}
}}
",
        user = if running_as_root { "user root;\n" } else { "" },
        prefix = prefix.display(),
        root = root.display(),
    );
    let conf_path = prefix.join("nginx.conf");
    std::fs::write(&conf_path, conf)?;
    let child = Command::new(binary)
        .arg("-p")
        .arg(&prefix)
        .arg("-e")
        .arg(prefix.join("error.log"))
        .arg("-c")
        .arg(&conf_path)
        .args(["-g", "daemon off;"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {} (apt-get install nginx)", binary.display()))?;
    Ok(Process(child))
}

/// Waits until the target answers a Range request for every track with 206 and the right size.
async fn wait_for_target(
    http: &reqwest::Client,
    target: &Target,
    tracks: &[Track],
) -> anyhow::Result<()> {
    let started = Instant::now();
    for track in tracks {
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
    if !target.gateway {
        return None;
    }
    let text = http
        .get(format!("{}/metrics", target.base))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
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
    let server_before = tree_cpu(target.pid);
    let client_before = cpu::process();
    let started = Instant::now();
    let t0 = tokio::time::Instant::now() + Duration::from_millis(100);
    let popularity = Popularity::new(tracks.len(), args.zipf);
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let track = tracks[popularity.track(i)].clone();
        let url = target.url(&track);
        let bearer = target.bearer.clone();
        let start = t0 + Duration::from_secs_f64(args.ramp * i as f64 / n as f64);
        let (seconds, ahead, chunk) = (args.seconds, args.ahead, args.chunk);
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(start).await;
            listen(url, bearer, &track, seconds, ahead, chunk).await
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
    let server_cpu = tree_cpu(target.pid) - server_before;
    let client_cpu = cpu::process() - client_before;

    let mut first: Vec<f64> = heard
        .iter()
        .filter_map(|l| l.first_byte.map(|d| d.as_secs_f64() * 1000.0))
        .collect();
    first.sort_by(f64::total_cmp);
    let failed: Vec<&Listened> = heard
        .iter()
        .filter(|l| l.error.is_some() || l.first_byte.is_none())
        .collect();
    Step {
        listeners: n,
        p50_ms: percentile(&first, 0.50),
        p99_ms: percentile(&first, 0.99),
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

/// One listener: plays `track` in real time for `seconds`, keeping `ahead` seconds buffered.
async fn listen(
    url: String,
    bearer: Option<String>,
    track: &Track,
    seconds: f64,
    ahead: f64,
    chunk: u64,
) -> Listened {
    let mut heard = Listened::default();
    let client = match reqwest::Client::builder().http1_only().build() {
        Ok(client) => client,
        Err(error) => {
            heard.error = Some(error.to_string());
            return heard;
        }
    };
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    let mut playhead = Playhead::default();
    while heard.bytes < track.size && Instant::now() < end {
        let now = Instant::now();
        if let Some(at) = playhead.at(now) {
            let buffered = heard.bytes as f64 / track.rate - at;
            if buffered > ahead {
                let until = (now + Duration::from_secs_f64(buffered - ahead)).min(end);
                tokio::time::sleep_until(until.into()).await;
                continue;
            }
        }
        let last = (heard.bytes + chunk).min(track.size) - 1;
        let mut request = client
            .get(&url)
            .header("range", format!("bytes={}-{last}", heard.bytes));
        if let Some(token) = &bearer {
            request = request.bearer_auth(token);
        }
        let sent = Instant::now();
        heard.requests += 1;
        let deadline = end + Duration::from_secs(10);
        let fetched = tokio::time::timeout_at(deadline.into(), async {
            let mut response = request.send().await.map_err(|e| e.to_string())?;
            if response.status() != 206 {
                return Err(format!("answered {}", response.status()));
            }
            while let Some(bytes) = response.chunk().await.map_err(|e| e.to_string())? {
                let now = Instant::now();
                if heard.first_byte.is_none() {
                    heard.first_byte = Some(now.duration_since(sent));
                }
                heard.stutters += playhead.arrive(now, heard.bytes as f64 / track.rate);
                heard.bytes += bytes.len() as u64;
            }
            Ok(())
        })
        .await;
        match fetched {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                heard.error = Some(error);
                break;
            }
            Err(_) => {
                heard.error = Some("no answer 10 s after the listener's end".to_owned());
                break;
            }
        }
    }
    // A whole track downloaded plays out from the buffer; otherwise check the end itself.
    if heard.bytes < track.size && heard.error.is_none() && playhead.started.is_some() {
        let now = Instant::now().max(end);
        heard.stutters += playhead.arrive(now, heard.bytes as f64 / track.rate);
    }
    heard
}

/// A listener's playback: it starts with the first byte and halts while nothing is buffered.
#[derive(Debug, Default)]
struct Playhead {
    started: Option<Instant>,
    /// Seconds spent halted, not played.
    stalled: f64,
    /// Whether the last arrival found the playhead halted.
    stalling: bool,
}

impl Playhead {
    /// Audio seconds played by `now`, once started.
    fn at(&self, now: Instant) -> Option<f64> {
        self.started
            .map(|start| now.duration_since(start).as_secs_f64() - self.stalled)
    }

    /// Bytes arrive at `now` with `had` seconds of audio downloaded before them: 1 when this
    /// begins a stutter (the playhead had caught up with the bytes), else 0.
    fn arrive(&mut self, now: Instant, had: f64) -> u32 {
        let Some(at) = self.at(now) else {
            self.started = Some(now);
            return 0;
        };
        if at > had {
            self.stalled += at - had;
            let new = !self.stalling;
            self.stalling = true;
            u32::from(new)
        } else {
            self.stalling = false;
            0
        }
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

/// utime + stime in seconds of `/proc/<path>/stat`.
/// CPU seconds of a process and of its live descendants.
fn tree_cpu(pid: u32) -> f64 {
    let mut total = cpu::of_pid(pid);
    let mut children = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let listed = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            children.extend(
                listed
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
    }
    for child in children {
        total += tree_cpu(child);
    }
    total
}
