//! The Subsonic library sync: how long an app takes to copy a large catalogue with
//! empty-query `search3` pages (`query=&songCount=500&songOffset=k`, as Symfonium and
//! Feishin sync), in JSON and in XML (DSub's format), against the REST equivalent in the
//! same run: `GET /v1/tracks?page_size=500` following `next_page_token`.
//!
//! One `tunemesh up` (the release binary by default) on a data dir whose catalogue is seeded
//! with `--tracks` synthetic tracks (10 per album, 20 albums per artist) by SQL through the
//! `sqlite3` command line, after player-svc's own migrations created the schema: ingesting
//! 100,000 real files is not what is measured. The seeded tracks have no audio (nothing is
//! streamed) and no events (search-svc does not index them: the empty query does not use it).
//! Each phase pages through the whole catalogue once per run, one client, keep-alive; it
//! reports the wall time, tracks per second and page latency p50/p99. A last phase pages
//! through the artists and albums the same way (`artistCount`/`albumCount` 500), counting
//! items instead of tracks.
//!
//! ```sh
//! cargo build --release --bin tunemesh
//! cargo run --release -p tunemesh-bench --bin subsonic_sync -- [--tracks 100000] [--runs 2]
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use clap::Parser;
use serde_json::{Value, json};
use tunemesh_bench::up;
use tunemesh_testkit::accounts;

#[derive(Debug, Parser)]
struct Args {
    /// Tracks in the catalogue.
    #[arg(long, default_value_t = 100_000)]
    tracks: u32,
    /// Tracks per page (the most `search3` and `/v1/tracks` answer).
    #[arg(long, default_value_t = 500)]
    page: u32,
    /// Passes over each phase.
    #[arg(long, default_value_t = 2)]
    runs: usize,
    /// The `tunemesh` binary; `target/release/tunemesh` of this workspace by default.
    #[arg(long)]
    tunemesh: Option<PathBuf>,
}

/// Creates player-svc's catalogue in `data_dir` (its migrations) and fills it with `n`
/// tracks by SQL.
async fn seed(data_dir: &Path, n: u32) -> anyhow::Result<()> {
    let dir = data_dir.join("player");
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("catalog.sqlite");
    drop(tunemesh_player::store::sqlite::SqliteStore::open(&file).await?);
    let (albums, artists) = (n.div_ceil(10), n.div_ceil(200));
    let sql = format!(
        "BEGIN;
         INSERT INTO artists SELECT printf('ar_%024x', value), 'Artist ' || value,
           'Artist ' || value, value, value FROM generate_series(1, {artists});
         INSERT INTO albums (id, title, artist_id, artist_name, create_ms, update_ms, year,
           artist_sort)
           SELECT printf('al_%024x', value), 'Album ' || value,
             printf('ar_%024x', 1 + (value - 1) / 20), 'Artist ' || (1 + (value - 1) / 20),
             value, value, 1960 + value % 60, 'Artist ' || (1 + (value - 1) / 20)
           FROM generate_series(1, {albums});
         INSERT INTO manifests (blob_prefix, manifest) VALUES ('tracks/bench/0',
           '{{\"blob_prefix\":\"tracks/bench/0\",\"channels\":2,\"renditions\":[]}}');
         INSERT INTO tracks (id, source, content_hash, title, artist_id, artist_name,
           artist_sort, album_id, album_title, album_artist_id, album_artist_name,
           album_artist_sort, duration_us, track_number, disc_number, genre, year, cover_id,
           cover_type, manifest_key, create_ms, update_ms)
           SELECT printf('tr_%024x', value), 'bench:' || value,
           'sha256:' || value, 'Track ' || value,
           printf('ar_%024x', 1 + (value - 1) / 200), 'Artist ' || (1 + (value - 1) / 200),
           'Artist ' || (1 + (value - 1) / 200),
           printf('al_%024x', 1 + (value - 1) / 10), 'Album ' || (1 + (value - 1) / 10),
           printf('ar_%024x', 1 + (value - 1) / 200), 'Artist ' || (1 + (value - 1) / 200),
           'Artist ' || (1 + (value - 1) / 200),
           180000000, 1 + (value - 1) % 10, 1, 'Genre ' || (value % 40),
           1960 + ((value - 1) / 10) % 60, NULL, NULL, 'tracks/bench/0',
           1700000000000 + value, 1700000000000 + value
           FROM generate_series(1, {n});
         COMMIT;"
    );
    // The store's connection closes on its own thread: wait for its lock rather than fail.
    let status = Command::new("sqlite3")
        .args(["-cmd", ".timeout 30000"])
        .arg(&file)
        .arg(sql)
        .status()
        .context("the sqlite3 command line (Debian: sqlite3)")?;
    ensure!(status.success(), "seeding failed: {status}");
    Ok(())
}

/// One pass over the catalogue: tracks seen and each page's latency.
struct Pass {
    tracks: usize,
    pages: Vec<Duration>,
    wall: Duration,
}

async fn rest_pass(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    page: u32,
) -> anyhow::Result<Pass> {
    let started = Instant::now();
    let (mut tracks, mut pages, mut page_token) = (0, Vec::new(), String::new());
    loop {
        let asked = Instant::now();
        let url = format!("{base}/v1/tracks?page_size={page}&page_token={page_token}");
        let body: Value = http
            .get(url)
            .bearer_auth(token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        pages.push(asked.elapsed());
        tracks += body["tracks"].as_array().map_or(0, Vec::len);
        page_token = body["next_page_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if page_token.is_empty() {
            return Ok(Pass {
                tracks,
                pages,
                wall: started.elapsed(),
            });
        }
    }
}

async fn search3_pass(
    http: &reqwest::Client,
    base: &str,
    auth: &str,
    page: u32,
    xml: bool,
) -> anyhow::Result<Pass> {
    let started = Instant::now();
    let (mut tracks, mut pages) = (0, Vec::new());
    loop {
        let asked = Instant::now();
        let format = if xml { "" } else { "&f=json" };
        let url = format!(
            "{base}/rest/search3?{auth}{format}&query=&artistCount=0&albumCount=0&songCount={page}&songOffset={tracks}"
        );
        let body = http
            .get(url)
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        pages.push(asked.elapsed());
        let got = if xml {
            body.matches("<song ").count()
        } else {
            let body: Value = serde_json::from_str(&body)?;
            let result = &body["subsonic-response"]["searchResult3"];
            ensure!(result.is_object(), "not a result: {body}");
            result["song"].as_array().map_or(0, Vec::len)
        };
        tracks += got;
        if got < page as usize {
            return Ok(Pass {
                tracks,
                pages,
                wall: started.elapsed(),
            });
        }
    }
}

/// The artists and albums of an empty-query sync (`artistCount`/`albumCount` pages, JSON):
/// items seen (artists + albums) and each page's latency.
async fn search3_folders_pass(
    http: &reqwest::Client,
    base: &str,
    auth: &str,
    page: u32,
) -> anyhow::Result<Pass> {
    let started = Instant::now();
    let (mut artists, mut albums, mut pages) = (0, 0, Vec::new());
    loop {
        let asked = Instant::now();
        let url = format!(
            "{base}/rest/search3?{auth}&f=json&query=&songCount=0&artistCount={page}\
             &artistOffset={artists}&albumCount={page}&albumOffset={albums}"
        );
        let body: Value = http
            .get(url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        pages.push(asked.elapsed());
        let result = &body["subsonic-response"]["searchResult3"];
        ensure!(result.is_object(), "not a result: {body}");
        let count = |kind: &str| result[kind].as_array().map_or(0, Vec::len);
        let (got_artists, got_albums) = (count("artist"), count("album"));
        artists += got_artists;
        albums += got_albums;
        if got_artists < page as usize && got_albums < page as usize {
            return Ok(Pass {
                tracks: artists + albums,
                pages,
                wall: started.elapsed(),
            });
        }
    }
}

fn report(name: &str, pass: &Pass) {
    let mut pages = pass.pages.clone();
    pages.sort();
    let at =
        |q: f64| pages[((pages.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0;
    println!(
        "| {name} | {} | {:.1} | {:.0} | {:.1} | {:.1} |",
        pass.tracks,
        pass.wall.as_secs_f64(),
        pass.tracks as f64 / pass.wall.as_secs_f64(),
        at(0.5),
        at(0.99)
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let binary = up::release_binary(args.tunemesh.clone())?;
    let work = tempfile::tempdir()?;
    let data_dir = work.path().join("data");
    let started = Instant::now();
    seed(&data_dir, args.tracks).await?;
    println!(
        "seeded {} tracks in {:.1} s",
        args.tracks,
        started.elapsed().as_secs_f64()
    );
    let library = work.path().join("library");
    std::fs::create_dir_all(&library)?;
    let (_mesh, base) = up::start(&binary, work.path(), &data_dir, &library, "up.log", &[])?;
    let http = reqwest::Client::new();
    let session = accounts::sign_up(&http, &base, "bench", "bench-password-1").await?;
    let token = accounts::access_token(&session)?;
    let created: Value = http
        .post(format!("{base}/v1/me/subsonic-passwords"))
        .bearer_auth(&token)
        .json(&json!({ "name": "bench" }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let secret = created["password"].as_str().context("an app password")?;
    let auth = format!("u=bench&p={secret}&v=1.16.1&c=bench");
    println!("| phase | tracks | seconds | tracks/s | page p50 ms | page p99 ms |");
    println!("|---|---:|---:|---:|---:|---:|");
    for _ in 0..args.runs {
        let rest = rest_pass(&http, &base, &token, args.page).await?;
        report("REST /v1/tracks (baseline)", &rest);
        let json = search3_pass(&http, &base, &auth, args.page, false).await?;
        report("search3 empty query, JSON", &json);
        let xml = search3_pass(&http, &base, &auth, args.page, true).await?;
        report("search3 empty query, XML", &xml);
        for pass in [&rest, &json, &xml] {
            ensure!(
                pass.tracks == args.tracks as usize,
                "a pass saw {} tracks",
                pass.tracks
            );
        }
        let folders = search3_folders_pass(&http, &base, &auth, args.page).await?;
        report("search3 empty query, artists + albums", &folders);
        let want = args.tracks.div_ceil(10) + args.tracks.div_ceil(200);
        ensure!(
            folders.tracks == want as usize,
            "saw {} artists and albums",
            folders.tracks
        );
    }
    Ok(())
}
