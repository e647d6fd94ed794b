//! The catalogue-size benchmark's bulk path (`src/bin/catalogue.rs`): grows a `tunemesh up`
//! data directory that already holds a few ingested tracks to `size` tracks, through
//! player-svc's own store and outbox ([`tunemesh_player::bulk`]: same rows, same `TrackAdded`
//! events as an ingest, the audio of the ingested tracks shared), then publishes the outbox
//! onto the embedded bus with the service's own relay, so the next `tunemesh up` finds the
//! catalogue and the whole event stream exactly as if every track had been ingested.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;
use tunemesh_events::EventBus;
use tunemesh_events::embedded::{EmbeddedBus, EmbeddedSettings};
use tunemesh_events::outbox::sqlite::SqliteOutbox;
use tunemesh_events::outbox::{OutboxRelay, OutboxWaker, RelaySettings};
use tunemesh_player::bulk::{self, Tags};
use tunemesh_player::store::sqlite::SqliteStore;
use tunemesh_player::store::{CatalogStore, TrackFilter, TrackRecord};

use crate::names::{Names, tracks};

/// The flags every catalogue-size benchmark takes: the sizes it grows to and the real
/// files whose audio the catalogue shares.
#[derive(Debug, clap::Args)]
pub struct Growth {
    /// Catalogue sizes (tracks), ascending, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
    pub sizes: Vec<usize>,
    /// Real files ingested first, whose audio every track shares.
    #[arg(long, default_value_t = 3)]
    pub templates: usize,
    /// Where the real files come from.
    #[arg(long, default_value = "/usr/share/games/singularity/music")]
    pub music: PathBuf,
    /// The `tunemesh` binary (default: this workspace's release build).
    #[arg(long)]
    pub tunemesh: Option<PathBuf>,
}

impl Growth {
    /// What a run starts from: the names tracks are drawn from, the `tunemesh` binary, and
    /// the real files copied into `<work>/library`.
    pub fn prepare(&self, work: &Path) -> anyhow::Result<(Names, PathBuf, PathBuf)> {
        let names = crate::names::load_names()?;
        let binary = crate::up::release_binary(self.tunemesh.clone())?;
        let library = copy_library(&self.music, self.templates, &work.join("library"))?;
        Ok((names, binary, library))
    }
}

/// Tracks per store transaction.
const CHUNK: usize = 5_000;

/// How long each half of a bulk load took.
#[derive(Debug, Clone, Copy)]
pub struct Loaded {
    /// Rows and outbox events written (player-svc's store).
    pub store: Duration,
    /// The outbox published onto the bus (the service's relay).
    pub relay: Duration,
}

/// Adds tracks to the catalogue in `data_dir` (stopped) until it holds `size`, every new one
/// playing the audio of one of the tracks already there (round robin).
pub async fn grow_to(data_dir: &Path, names: &Names, size: usize) -> anyhow::Result<Loaded> {
    let player = data_dir.join("player").join("catalog.sqlite");
    let store = SqliteStore::open(&player)
        .await
        .with_context(|| format!("cannot open {}", player.display()))?;
    let stored = add_until(&store, names, size).await?;
    let started = Instant::now();
    relay_all(data_dir, &store).await?;
    Ok(Loaded {
        store: stored,
        relay: started.elapsed(),
    })
}

/// Adds tracks through `store` (any adapter; [`CHUNK`] per call) until it holds `size`, every
/// new one playing the audio of one of the ingested tracks already there (round robin), and
/// answers how long it took. Their events wait in the outbox for a relay.
pub async fn add_until(
    store: &dyn CatalogStore,
    names: &Names,
    size: usize,
) -> anyhow::Result<Duration> {
    let page = store.list_tracks(&TrackFilter::All, None, 100).await?;
    let templates: Vec<TrackRecord> = page
        .items
        .into_iter()
        .filter(|t| !t.source.starts_with("bulk:"))
        .collect();
    anyhow::ensure!(
        !templates.is_empty(),
        "no ingested track to share audio with"
    );
    let have = usize::try_from(page.total).unwrap_or(0);
    // Tracks added by an earlier call: the sequence of names continues after them.
    let added = have.saturating_sub(templates.len());
    let started = Instant::now();
    let now_ms = i64::try_from(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)?
            .as_millis(),
    )?;
    let mut batch = Vec::with_capacity(CHUNK);
    let more = size.saturating_sub(have);
    for (i, track) in tracks(names).enumerate().skip(added).take(more) {
        let tags = Tags {
            title: track.title,
            artist: track
                .artists
                .into_iter()
                .next()
                .map(|a| a.name)
                .unwrap_or_default(),
            album: track.album.map(|a| a.title).unwrap_or_default(),
            genre: track.genre,
            year: track.year,
            track_number: u32::try_from(i % 12 + 1).unwrap_or(1),
        };
        let template = &templates[i % templates.len()];
        // Creation times one millisecond apart: the listing's order is the load's order.
        let at = now_ms + i64::try_from(i).unwrap_or(0);
        batch.push(bulk::track(template, &format!("bulk:{i}"), &tags, at));
        if batch.len() == CHUNK {
            bulk::add(store, std::mem::take(&mut batch)).await?;
        }
    }
    bulk::add(store, batch).await?;
    Ok(started.elapsed())
}

/// Runs player-svc's outbox relay onto `data_dir`'s embedded bus until the outbox is empty.
async fn relay_all(data_dir: &Path, store: &SqliteStore) -> anyhow::Result<()> {
    let bus: Arc<dyn EventBus> =
        Arc::new(EmbeddedBus::open(&EmbeddedSettings::new(data_dir.join("events.sqlite"))).await?);
    let outbox = Arc::new(SqliteOutbox::new(
        tunemesh_player::SERVICE_NAME,
        store.connection(),
    ));
    let settings = RelaySettings {
        batch_size: 1_000,
        poll_interval: Duration::from_millis(100),
        ..RelaySettings::default()
    };
    let relay = OutboxRelay::new(outbox, bus, settings, OutboxWaker::new());
    let stop = CancellationToken::new();
    let running = tokio::spawn(relay.run(stop.clone()));
    loop {
        let left: i64 = store
            .connection()
            .call(|c| c.query_row("SELECT COUNT(*) FROM event_outbox", [], |r| r.get(0)))
            .await?;
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.cancel();
    running.await?;
    Ok(())
}

/// Bytes of every file under `dir` (0 when it is missing).
pub fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}

/// The first `count` files of `from` (by name), copied into `to`: the real tracks a bulk
/// catalogue shares its audio with.
pub fn copy_library(from: &Path, count: usize, to: &Path) -> anyhow::Result<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(from)
        .with_context(|| format!("no music in {}", from.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    std::fs::create_dir_all(to)?;
    for file in files.iter().take(count) {
        std::fs::copy(file, to.join(file.file_name().context("file name")?))?;
    }
    Ok(to.to_path_buf())
}
