//! Measures what the kept counts (migration V5) cost the bulk path, and what they save a read,
//! on the embedded store with the bundled SQLite.
//!
//! Two fresh stores take the same tracks through `bulk::add` (5,000 a transaction, as the
//! catalogue benchmark loads them), one as migrated and one with the count triggers dropped,
//! a batch to each in turn so the machine's load falls on both alike. CPU time is this
//! process's (from `/proc/self/stat`: SQLite runs on the store's thread), so other work on a
//! shared machine does not count. Then the all-tracks total is read as before (`SELECT
//! COUNT(*) FROM tracks`) and as after (the kept count), median wall-clock time of repeated
//! reads, in the counted store or in `CATALOGUE` when given (a catalogue at V5, e.g. the
//! 1M-track one `scripts/catalogue_counts.py` leaves).
//!
//! `cargo run -p tunemesh-player --example catalogue_counts -- [TRACKS [CATALOGUE]]`
//! (default 20,000 tracks)

use std::time::Instant;

use tunemesh_player::bulk::{self, Tags};
use tunemesh_player::ids;
use tunemesh_player::store::sqlite::SqliteStore;
use tunemesh_player::store::{AlbumKey, ArtistKey, TrackManifest, TrackRecord};

#[path = "support/cpu.rs"]
mod cpu;

const CHUNK: usize = 5_000;

const DROP_TRIGGERS: &str = "DROP TRIGGER tracks_counted_in; DROP TRIGGER tracks_counted_out;
    DROP TRIGGER tracks_counted_regenred; DROP TRIGGER albums_counted_in;
    DROP TRIGGER albums_counted_out; DROP TRIGGER artists_counted_in;
    DROP TRIGGER artists_counted_out;";

const KEPT: &str = "SELECT n FROM catalogue_counts WHERE kind = 'tracks' AND name = ''";

/// CPU seconds this process has used, every thread (0 where /proc is unavailable).
fn cpu_secs() -> f64 {
    cpu::seconds("/proc/self/stat")
}

fn template() -> TrackRecord {
    let artist = ArtistKey {
        id: ids::artist_id("Template"),
        name: "Template".into(),
        sort_name: "Template".into(),
    };
    TrackRecord {
        id: ids::track_id("template"),
        source: "template".into(),
        content_hash: "sha256:template".into(),
        title: "Template".into(),
        album: AlbumKey {
            id: ids::album_id("Template", "Template"),
            title: "Template".into(),
            artist: artist.clone(),
        },
        artist,
        duration_us: 240_000_000,
        track_number: 1,
        disc_number: 1,
        genre: String::new(),
        year: 0,
        cover: None,
        manifest: TrackManifest {
            blob_prefix: "tracks/template/1".into(),
            channels: 2,
            renditions: Vec::new(),
        },
        create_ms: 0,
        update_ms: 0,
    }
}

/// Track `n`: 10 per album, 20 albums per artist, 20 genres.
fn track(template: &TrackRecord, n: usize) -> TrackRecord {
    let tags = Tags {
        title: format!("Track {n}"),
        artist: format!("Artist {}", n / 200),
        album: format!("Album {}", n / 10),
        genre: format!("Genre {}", n % 20),
        year: 1970 + u32::try_from(n % 50).unwrap_or(0),
        track_number: u32::try_from(n % 10 + 1).unwrap_or(1),
    };
    bulk::track(
        template,
        &format!("bulk:{n}"),
        &tags,
        i64::try_from(n).unwrap_or(0),
    )
}

/// The median milliseconds of `times` runs of `query` on `conn`, and its answer.
fn median_ms(
    conn: &rusqlite::Connection,
    query: &str,
    times: usize,
) -> rusqlite::Result<(f64, i64)> {
    let mut statement = conn.prepare(query)?;
    let mut samples = Vec::with_capacity(times);
    let mut answer = 0;
    for _ in 0..times {
        let started = Instant::now();
        answer = statement.query_row([], |r| r.get(0))?;
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    samples.sort_by(f64::total_cmp);
    Ok((samples[samples.len() / 2], answer))
}

/// Prints the all-tracks total's read times, before and after, on `conn`.
fn reads(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    let (count, total) = median_ms(conn, "SELECT COUNT(*) FROM tracks", 51)?;
    let (kept, kept_total) = median_ms(conn, KEPT, 1001)?;
    println!(
        "all-tracks total ({total} tracks, kept {kept_total}; SQLite {}): COUNT(*) {count:.3} \
         ms, kept {kept:.4} ms",
        rusqlite::version()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let tracks: usize = match args.next() {
        Some(n) => n.parse()?,
        None => 20_000,
    };
    let catalogue = args.next();
    let dir = tempfile::tempdir()?;
    let counted = SqliteStore::open(&dir.path().join("counted.sqlite")).await?;
    let uncounted = SqliteStore::open(&dir.path().join("uncounted.sqlite")).await?;
    uncounted
        .connection()
        .call(|conn| conn.execute_batch(DROP_TRIGGERS))
        .await?;
    let template = template();
    let mut cpu = [0.0, 0.0];
    for start in (0..tracks).step_by(CHUNK) {
        let batch: Vec<_> = (start..tracks.min(start + CHUNK))
            .map(|n| track(&template, n))
            .collect();
        for (i, store) in [&counted, &uncounted].into_iter().enumerate() {
            let before = cpu_secs();
            bulk::add(store, batch.clone()).await?;
            cpu[i] += cpu_secs() - before;
        }
    }
    let per_track = |s: f64| s * 1e6 / tracks as f64;
    println!(
        "bulk::add of {tracks} tracks: {:.2} CPU s with the count triggers ({:.0} us a track), \
         {:.2} CPU s without ({:.0} us a track)",
        cpu[0],
        per_track(cpu[0]),
        cpu[1],
        per_track(cpu[1]),
    );
    match catalogue {
        Some(path) => reads(&rusqlite::Connection::open(path)?)?,
        None => counted.connection().call(|conn| reads(conn)).await?,
    }
    Ok(())
}
