//! Catalogue size benchmark (issue 17 item 2): what `tunemesh up` costs as the catalogue grows
//! from 10k to 1M tracks, all sizes in one run.
//!
//! ```sh
//! bash scripts/testdata.sh && cargo build --release --bin tunemesh
//! cargo run --release -p tunemesh-bench --bin catalogue -- --sizes 10000,100000,1000000
//! ```
//!
//! A fresh data dir first ingests `--templates` real files (singularity-music) through
//! `tunemesh up --library`; then, per size, the stopped data dir is grown through the bulk
//! path (`tunemesh_bench::catalogue`: player-svc's store and outbox, the same `TrackAdded`
//! events, published by its relay; every track shares one of the ingested files' audio), and:
//! 1. cold start: the search index and reco-svc's saved model are deleted, so both rebuild
//!    by replaying the whole event stream; time until
//!    `/readyz` answers 200, the process's resident memory, the sizes on disk;
//! 2. reads, one caller, through the gateway: REST first pages of tracks, albums and artists,
//!    a deep track page by cursor, gRPC `ListTracks` by offset (random and the last page),
//!    REST search;
//! 3. warm restart: stop (reco-svc saves its model), start again with the index and the
//!    model on disk; time until ready, memory. `--warm-restarts` times, each listed; with
//!    `--baseline`, alternating with another `tunemesh` binary on the same data dir.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use clap::Parser;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::Value;
use tunemesh_bench::catalogue::{self, Growth, dir_size};
use tunemesh_bench::names::{draw_queries, grow};
use tunemesh_bench::{cpu, up};
use tunemesh_proto::catalog::v1::ListTracksRequest;
use tunemesh_proto::catalog::v1::catalog_service_client::CatalogServiceClient;
use tunemesh_proto::tonic;
use tunemesh_testkit::accounts;

/// Command-line options.
#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    growth: Growth,
    /// Requests per kind of read.
    #[arg(long, default_value_t = 200)]
    requests: usize,
    /// Warm restarts per size (each stops `up` and starts it again on the same data dir).
    #[arg(long, default_value_t = 1)]
    warm_restarts: usize,
    /// Another `tunemesh` binary (the build before a change) whose warm restarts alternate
    /// with this one's on the same data dir: a before and after on the same catalogue.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Seconds to wait for `tunemesh up` to be ready.
    #[arg(long, default_value_t = 3600)]
    ready_timeout: u64,
}

/// A started `tunemesh up` and how to reach it.
struct Running {
    process: up::Process,
    base: String,
    ready: Duration,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let work = tempfile::tempdir()?;
    let data_dir = work.path().join("data");
    let (names, binary, library) = args.growth.prepare(work.path())?;
    let http = reqwest::Client::new();

    // The few real tracks every other one plays.
    {
        let first = start(&binary, work.path(), &data_dir, &library, &args).await?;
        let token = sign_up(&http, &first.base).await?;
        let started = Instant::now();
        while total(&http, &first.base, &token).await? < args.growth.templates as u64 {
            ensure!(
                started.elapsed() < Duration::from_secs(600),
                "ingest timed out"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    println!("load before: {}", cpu::load());
    let mut rows = Vec::new();
    let mut reads = Vec::new();
    let mut restarts = Vec::new();
    let mut binaries = vec![("this", binary.clone())];
    if let Some(baseline) = &args.baseline {
        binaries.push(("baseline", up::release_binary(Some(baseline.clone()))?));
    }
    for &size in &args.growth.sizes {
        let loaded = catalogue::grow_to(&data_dir, &names, size).await?;
        eprintln!("{size}: loaded {loaded:?}");
        // Cold: no index and no saved model, so search-svc and reco-svc replay everything.
        std::fs::remove_dir_all(data_dir.join("search").join("index")).ok();
        std::fs::remove_file(data_dir.join("reco").join("model.bin")).ok();
        let cold = start(&binary, work.path(), &data_dir, &library, &args).await?;
        // A session of its own per size: loading a million tracks outlives an access token.
        let token = sign_up(&http, &cold.base).await?;
        let cold_rss = up::memory(cold.process.0.id());
        let mut disk = [
            dir_size(&data_dir.join("search").join("index")),
            dir_size(&data_dir.join("player")) - dir_size(&data_dir.join("player/blobs")),
            file_sizes(&data_dir, "events.sqlite"),
            0,
        ];
        for (what, stats) in measure_reads(&http, &cold.base, &token, &names, size, &args).await? {
            reads.push(format!(
                "| {size} | {what} | {:.2} | {:.2} | {} |",
                stats.0, stats.1, stats.2
            ));
        }
        drop(cold.process);
        disk[3] = file_sizes(&data_dir.join("reco"), "model.bin");
        // The row's warm figures are this binary's first restart; every restart is listed.
        let mut warm = None;
        for round in 1..=args.warm_restarts.max(1) {
            for (label, binary) in binaries.iter() {
                let restart = start(binary, work.path(), &data_dir, &library, &args).await?;
                let rss = up::memory(restart.process.0.id());
                drop(restart.process);
                restarts.push(format!(
                    "| {size} | {label} | {round} | {:.2} | {:.0} / {:.0} ({:.0} + {:.0}) | {} |",
                    restart.ready.as_secs_f64(),
                    rss[0],
                    rss[1],
                    rss[2],
                    rss[3],
                    cpu::load()
                ));
                warm.get_or_insert((restart.ready, rss));
            }
        }
        let (warm_ready, warm_rss) = warm.context("no warm restart")?;
        rows.push(format!(
            "| {size} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} / {:.0} ({:.0} + {:.0}) | {:.0} / {:.0} ({:.0} + {:.0}) | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
            loaded.store.as_secs_f64(),
            loaded.relay.as_secs_f64(),
            cold.ready.as_secs_f64(),
            warm_ready.as_secs_f64(),
            cold_rss[0],
            cold_rss[1],
            cold_rss[2],
            cold_rss[3],
            warm_rss[0],
            warm_rss[1],
            warm_rss[2],
            warm_rss[3],
            mib(disk[0]),
            mib(disk[1]),
            mib(disk[2]),
            mib(disk[3]),
            cpu::load()
        ));
        print_tables(&rows, &reads, &restarts);
    }
    Ok(())
}

fn print_tables(rows: &[String], reads: &[String], restarts: &[String]) {
    println!(
        "| tracks | bulk store s | relay s | cold ready s | warm ready s | RSS cold MiB: now / peak (anon + file) | RSS warm MiB: now / peak (anon + file) | search index MiB | player db MiB | events.sqlite MiB | reco model.bin MiB | load |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    rows.iter().for_each(|r| println!("{r}"));
    println!("| tracks | read | p50 ms | p99 ms | requests |");
    println!("|---:|---|---:|---:|---:|");
    reads.iter().for_each(|r| println!("{r}"));
    println!(
        "| tracks | binary | warm restart | ready s | RSS MiB: now / peak (anon + file) | load |"
    );
    println!("|---:|---|---:|---:|---:|---|");
    restarts.iter().for_each(|r| println!("{r}"));
}

/// Starts `tunemesh up` on the data dir and waits until `/readyz` answers 200.
async fn start(
    binary: &Path,
    work: &Path,
    data_dir: &Path,
    library: &Path,
    args: &Args,
) -> anyhow::Result<Running> {
    let started = Instant::now();
    let (process, base) = up::start(binary, work, data_dir, library, "tunemesh.log", &[])?;
    let http = reqwest::Client::new();
    loop {
        let ok = http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ok {
            break;
        }
        ensure!(
            started.elapsed() < Duration::from_secs(args.ready_timeout),
            "not ready after {} s",
            args.ready_timeout
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ready = started.elapsed();
    eprintln!("ready in {ready:?}");
    Ok(Running {
        process,
        base,
        ready,
    })
}

/// p50 ms, p99 ms, count of each kind of read.
async fn measure_reads(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    names: &tunemesh_bench::names::Names,
    size: usize,
    args: &Args,
) -> anyhow::Result<Vec<(&'static str, (f64, f64, usize))>> {
    let n = args.requests;
    let mut rng = StdRng::seed_from_u64(3);
    let channel = tonic::transport::Endpoint::from_shared(base.to_owned())?
        .connect()
        .await?;
    let mut grpc = CatalogServiceClient::new(channel);
    let bearer: tonic::metadata::MetadataValue<tonic::metadata::Ascii> =
        format!("Bearer {token}").parse()?;
    let list = |offset: i32, page_token: String| {
        let mut request = tonic::Request::new(ListTracksRequest {
            page_size: 50,
            page_token,
            offset,
            ..ListTracksRequest::default()
        });
        request
            .metadata_mut()
            .insert("authorization", bearer.clone());
        request
    };
    let mut out = Vec::new();
    let rest = move |path: String| async move { get(http, &format!("{base}{path}"), token).await };
    out.push((
        "tracks, first page (REST)",
        time(n, |_| rest("/v1/tracks?page_size=50".into())).await?,
    ));
    out.push((
        "albums, first page (REST)",
        time(n, |_| rest("/v1/albums?page_size=50".into())).await?,
    ));
    out.push((
        "artists, first page (REST)",
        time(n, |_| rest("/v1/artists?page_size=50".into())).await?,
    ));
    // Cursors deep in the listing (second half), taken from pages reached by offset.
    let last = i32::try_from(size.saturating_sub(50)).unwrap_or(i32::MAX);
    let offsets: Vec<i32> = (0..n).map(|_| rng.random_range(0..=last)).collect();
    let mut cursors = Vec::new();
    for &offset in offsets.iter().take(20) {
        let page = grpc
            .list_tracks(list(offset.max(last / 2), String::new()))
            .await?;
        cursors.push(page.into_inner().next_page_token);
    }
    out.push((
        "tracks, deep page by cursor (REST)",
        time(n, |i| {
            let cursor = cursors[i % cursors.len()].clone();
            rest(format!("/v1/tracks?page_size=50&page_token={cursor}"))
        })
        .await?,
    ));
    let grpc_offset = |offset: i32| {
        let mut grpc = grpc.clone();
        let request = list(offset, String::new());
        async move {
            grpc.list_tracks(request).await?;
            anyhow::Ok(())
        }
    };
    out.push((
        "tracks, random offset (gRPC)",
        time(n, |i| grpc_offset(offsets[i])).await?,
    ));
    out.push((
        "tracks, last page by offset (gRPC)",
        time(n.min(50), |_| grpc_offset(last)).await?,
    ));
    let queries = draw_queries(&grow(names, size.min(100_000)), n);
    out.push((
        "search, 20 hits (REST)",
        time(n, |i| {
            let q: String = url_encode(&queries[i].1);
            rest(format!("/v1/search?q={q}&limit=20"))
        })
        .await?,
    ));
    Ok(out)
}

/// Runs `call(i)` for i in 0..n one after another: p50 and p99 in ms, and n.
async fn time<F, Fut>(n: usize, mut call: F) -> anyhow::Result<(f64, f64, usize)>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        call(i).await?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    Ok((at(0.5), at(0.99), n))
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn get(http: &reqwest::Client, url: &str, token: &str) -> anyhow::Result<()> {
    let response = http.get(url).bearer_auth(token).send().await?;
    let status = response.status();
    let body = response.bytes().await?;
    ensure!(
        status.is_success(),
        "{url} answered {status}: {}",
        String::from_utf8_lossy(&body)
    );
    Ok(())
}

async fn total(http: &reqwest::Client, base: &str, token: &str) -> anyhow::Result<u64> {
    let response = http
        .get(format!("{base}/v1/tracks?page_size=1"))
        .bearer_auth(token)
        .send()
        .await?;
    let body: Value = response.json().await?;
    Ok(body["total_size"].as_u64().unwrap_or(0))
}

async fn sign_up(http: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let session = accounts::sign_up(http, base, "bench", "bench-password-1").await?;
    accounts::access_token(&session)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1024.0 / 1024.0
}

/// Bytes of `name` and its `-wal` / `-shm` files in `dir`.
fn file_sizes(dir: &Path, name: &str) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(dir.join(format!("{name}{suffix}"))).ok())
        .map(|m| m.len())
        .sum()
}
