//! The embedded reco model's snapshot at catalogue sizes (issue 17 item 2: a warm restart of
//! `tunemesh up` at 1M tracks took 15 s, most of it loading `reco/model.json`).
//!
//! ```sh
//! bash scripts/testdata.sh
//! cargo run --release -p tunemesh-bench --bin snapshot -- --sizes 100000,1000000
//! ```
//!
//! Per size, builds the model a catalogue of that many tracks leaves in reco-svc's embedded
//! store, exactly as its feed builds it: the catalogue benchmark's tracks
//! (`tunemesh_bench::names`, with player-svc's ids as its bulk path makes them), each one
//! `TrackAdded` event planned by reco-svc's own `plan_track` and applied under a fresh event
//! id. That is every track's facts, one member per track in `Popularity` and in its artist's
//! `ArtistTracks` set, the popularity landmark, and every event id in the dedup window. Then,
//! `--rounds` times per format: save the model, take it back (which deletes the file), timing
//! the save, the take's two phases (reading and decoding the file; building the maps and
//! sets) and the file's size. Both formats in the same run: JSON as format 1 wrote it
//! (`model.json`, which a start still loads once) and the binary one (`model.bin`). Prints
//! one Markdown row per size and format with the median of the rounds.
//!
//! With `--search`, also the other thing a warm start of `up` reads in proportion to the
//! catalogue: search-svc's index of the same tracks is built on disk, then reopened as its
//! `app::open` does (open the index, read every stored track, rebuild the catalogue model),
//! each step timed.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use tunemesh_bench::index;
use tunemesh_bench::names::{load_names, tracks};
use tunemesh_player::ids;
use tunemesh_proto::catalog::v1::Track;
use tunemesh_proto::prost_types::Timestamp;
use tunemesh_reco::model::ModelParams;
use tunemesh_reco::model::update::plan_track;
use tunemesh_reco::store::RecoStore as _;
use tunemesh_reco::store::memory::MemoryStore;
use tunemesh_search::SearchSettings;
use tunemesh_search::catalog::Catalog;
use tunemesh_search::index::{Opened, SearchIndex};

/// The `tunemesh` binary's allocator (`src/main.rs`): loading a model is millions of small
/// allocations, so the figures should be the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Command-line options.
#[derive(Debug, Parser)]
struct Args {
    /// Catalogue sizes (tracks), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "100000,1000000")]
    sizes: Vec<usize>,
    /// Save-and-take rounds per size (the row gives their medians).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Also time search-svc's warm open of an index of the same tracks.
    #[arg(long)]
    search: bool,
    /// Only search-svc's warm open (implies `--search`): no reco model.
    #[arg(long)]
    search_only: bool,
    /// Keep search-svc's index of each size under this directory, and reopen one kept by an
    /// earlier run instead of building it again (building takes minutes at 1M).
    #[arg(long)]
    index_dir: Option<PathBuf>,
}

/// One round's figures.
#[derive(Debug, Clone, Copy)]
struct Round {
    save: Duration,
    bytes: u64,
    read: Duration,
    build: Duration,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let names = load_names()?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("model.bin");
    let ttl = tunemesh_reco::RecoSettings::default().dedup_ttl;
    println!(
        "| tracks | format | artists' sets | snapshot MiB | save s | take: read s | take: build s | take s |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|");
    for &size in args.sizes.iter().filter(|_| !args.search_only) {
        let (mut store, artists) = catalogue_model(&names, size).await?;
        // The format before (JSON, still loaded once), then the binary one, in the same run.
        for json in [true, false] {
            let mut rounds = Vec::with_capacity(args.rounds);
            for _ in 0..args.rounds.max(1) {
                let (round, back) = save_and_take(store, &path, json, ttl)?;
                rounds.push(round);
                // The next round saves what was loaded: a round trip that lost anything shows.
                store = back;
            }
            let median = |f: fn(&Round) -> Duration| {
                let mut all: Vec<Duration> = rounds.iter().map(f).collect();
                all.sort();
                all[all.len() / 2].as_secs_f64()
            };
            let bytes = rounds.iter().map(|r| r.bytes).max().unwrap_or(0);
            // postcard gives back every score exactly; serde_json's default float parsing
            // does not (a last digit can change per round), so JSON sizes may differ.
            anyhow::ensure!(
                json || rounds.iter().all(|r| r.bytes == bytes),
                "the snapshot's size changed between rounds"
            );
            let format = if json { "JSON (1)" } else { "postcard (2)" };
            println!(
                "| {size} | {format} | {artists} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} |",
                bytes as f64 / (1024.0 * 1024.0),
                median(|r| r.save),
                median(|r| r.read),
                median(|r| r.build),
                median(|r| r.read + r.build),
            );
        }
        // Dropping a model of a million tracks takes a while too: not in any figure.
        drop(store);
    }
    if args.search || args.search_only {
        println!();
        println!(
            "| tracks | search: index built s | open s | stored tracks read s | catalogue model s |"
        );
        println!("|---:|---:|---:|---:|---:|");
        for &size in &args.sizes {
            let all: Vec<Track> = tracks(&names)
                .enumerate()
                .take(size)
                .map(|(i, t)| as_ingested(t, i, i64::try_from(i).unwrap_or(0) + 1))
                .collect();
            let kept = args.index_dir.as_ref().map(|d| d.join(size.to_string()));
            let row = tokio::task::spawn_blocking(move || search_reopen(all, kept)).await??;
            println!("| {size} | {row} |");
        }
    }
    Ok(())
}

/// Saves `store` (as format 1's JSON beside `path`, or at `path`), takes it back: the figures
/// and the model loaded.
fn save_and_take(
    store: MemoryStore,
    path: &Path,
    json: bool,
    ttl: Duration,
) -> anyhow::Result<(Round, MemoryStore)> {
    let file = if json {
        path.with_extension("json")
    } else {
        path.to_owned()
    };
    let started = Instant::now();
    if json {
        store.save_json(&file)?;
    } else {
        store.save(&file)?;
    }
    let save = started.elapsed();
    let bytes = std::fs::metadata(&file)?.len();
    drop(store);
    let (back, times) = MemoryStore::take_timed(path, ttl).context("the snapshot did not load")?;
    let round = Round {
        save,
        bytes,
        read: times.read,
        build: times.build,
    };
    Ok((round, back))
}

/// Builds search-svc's index of `tracks` on disk (in `kept` unless one is there already),
/// then reopens it as a warm start does (`search-svc/src/app.rs`, `open`): the figures of one
/// row.
fn search_reopen(tracks: Vec<Track>, kept: Option<PathBuf>) -> anyhow::Result<String> {
    let dir = tempfile::tempdir()?;
    let path = kept.unwrap_or_else(|| dir.path().join("index"));
    let started = Instant::now();
    if !path.join("meta.json").exists() {
        drop(index::build(&path, &tracks)?);
    }
    let built = started.elapsed();
    drop(tracks);
    let memory = SearchSettings::default().writer_memory_bytes;
    let started = Instant::now();
    let (index, opened) = SearchIndex::open(Some(&path), memory, "")?;
    anyhow::ensure!(opened == Opened::Resumed, "the index was not reopened");
    let open = started.elapsed();
    let started = Instant::now();
    let stored = index.stored_tracks()?;
    let read = started.elapsed();
    let started = Instant::now();
    let mut catalog = Catalog::default();
    catalog.restore_all(stored);
    let model = started.elapsed();
    anyhow::ensure!(catalog.track_count() > 0, "no track came back");
    Ok(format!(
        "{:.1} | {:.3} | {:.2} | {:.2}",
        built.as_secs_f64(),
        open.as_secs_f64(),
        read.as_secs_f64(),
        model.as_secs_f64()
    ))
}

/// The model reco-svc's feed builds from the `TrackAdded` events of a catalogue of `size`
/// tracks, and the number of artists' track sets in it.
async fn catalogue_model(
    names: &tunemesh_bench::names::Names,
    size: usize,
) -> anyhow::Result<(MemoryStore, usize)> {
    let store = MemoryStore::with_dedup_ttl(tunemesh_reco::RecoSettings::default().dedup_ttl);
    let params = ModelParams::default();
    let now_ms = tunemesh_runtime::clock::now_ms();
    let mut artists = HashSet::new();
    for (i, track) in tracks(names).enumerate().take(size) {
        // Creation times one millisecond apart, as the catalogue benchmark's bulk load.
        let at_ms = now_ms + i64::try_from(i)?;
        let track = as_ingested(track, i, at_ms);
        if let Some(artist) = track.artists.first() {
            artists.insert(artist.id.clone());
        }
        let event_id = tunemesh_events::envelope::new_event_id();
        let batch = plan_track(&event_id, &track, true, &params).context("a track is planned")?;
        store.apply(&batch).await?;
    }
    Ok((store, artists.len()))
}

/// `track` with the ids and times player-svc's bulk path gives it (`tunemesh_player::bulk`).
fn as_ingested(mut track: Track, i: usize, at_ms: i64) -> Track {
    track.id = ids::track_id(&format!("bulk:{i}"));
    let artist_name = track
        .artists
        .first()
        .map(|a| a.name.clone())
        .unwrap_or_default();
    for artist in &mut track.artists {
        artist.id = ids::artist_id(&artist.name);
    }
    if let Some(album) = &mut track.album {
        album.id = ids::album_id(&artist_name, &album.title);
    }
    let time = Timestamp {
        seconds: at_ms.div_euclid(1000),
        nanos: i32::try_from(at_ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
    };
    track.create_time = Some(time);
    track.update_time = Some(time);
    track
}
