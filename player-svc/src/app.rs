//! Builds the player service: its store and blobs (embedded or production), the outbox relay,
//! the library watcher, the session sweeper and the gRPC server.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use tunemesh_events::EventBus;
use tunemesh_events::outbox::{
    OutboxRelay, OutboxSource, OutboxWaker, RelaySettings, postgres::PostgresOutbox,
    sqlite::SqliteOutbox,
};
use tunemesh_proto::catalog::v1::catalog_service_server::CatalogServiceServer;
use tunemesh_proto::catalog::v1::ingest_service_server::IngestServiceServer;
use tunemesh_proto::player::v1::player_service_server::PlayerServiceServer;
use tunemesh_runtime::{App, ServiceContext, Storage};

use crate::blobs::Blobs;
use crate::catalog::Catalog;
use crate::covers::Covers;
use crate::delivery::Delivery;
use crate::grpc::{CatalogApi, IngestApi, PlayerApi};
use crate::ingest::Ingest;
use crate::library_status;
use crate::listening::Listening;
use crate::media::TranscodeOptions;
use crate::play_budget::PlayBudget;
use crate::play_sessions::PlayRules;
use crate::service::PlaybackDomain;
use crate::starts::Starts;
use crate::store::postgres::PostgresStore;
use crate::store::sqlite::SqliteStore;
use crate::store::{CatalogStore, PlaySessionStore};
use crate::track_cache::TrackCache;
use crate::workers::TranscodePool;
use crate::{PlayerSettings, SERVICE_NAME, library, past_plays, play_sessions};

/// The stores of one deployment mode.
struct Stores {
    catalog: Arc<dyn CatalogStore>,
    sessions: Arc<dyn PlaySessionStore>,
    outbox: Arc<dyn OutboxSource>,
    blob_root: PathBuf,
}

async fn stores(settings: &PlayerSettings, ctx: &ServiceContext) -> anyhow::Result<Stores> {
    match &ctx.storage {
        Storage::Embedded { .. } => {
            let dir = ctx.storage.create_embedded_dir(SERVICE_NAME).await?;
            let store = SqliteStore::open(&dir.join("catalog.sqlite"))
                .await
                .context("cannot open the catalogue")?;
            let outbox = Arc::new(SqliteOutbox::new(SERVICE_NAME, store.connection()));
            let store = Arc::new(store);
            Ok(Stores {
                catalog: store.clone(),
                sessions: store,
                outbox,
                blob_root: settings
                    .blob_dir
                    .clone()
                    .unwrap_or_else(|| dir.join("blobs")),
            })
        }
        Storage::Production { postgres, .. } => {
            anyhow::ensure!(
                settings.blob_dir.is_some() || settings.s3.is_some(),
                "player.blob_dir or player.s3 must be set in production"
            );
            let blob_root = settings.blob_dir.clone().unwrap_or_default();
            let pool = tunemesh_runtime::postgres::connect(postgres).await?;
            let store = PostgresStore::migrate(pool.clone())
                .await
                .context("cannot migrate the catalogue")?;
            let store = Arc::new(store);
            Ok(Stores {
                catalog: store.clone(),
                sessions: store,
                outbox: Arc::new(PostgresOutbox::new(SERVICE_NAME, pool)),
                blob_root,
            })
        }
    }
}

fn transcode_options(settings: &PlayerSettings) -> anyhow::Result<TranscodeOptions> {
    let qualities = settings
        .qualities
        .iter()
        .map(|name| {
            crate::media::Quality::parse(name)
                .with_context(|| format!("unknown quality {name:?} in player.qualities"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    anyhow::ensure!(!qualities.is_empty(), "player.qualities must not be empty");
    Ok(TranscodeOptions {
        qualities,
        ..TranscodeOptions::default()
    })
}

/// Binds the service on `ctx.grpc.addr` and returns it ready to run.
pub async fn build(
    settings: &PlayerSettings,
    ctx: &ServiceContext,
    bus: Arc<dyn EventBus>,
) -> anyhow::Result<App> {
    let stores = stores(settings, ctx).await?;
    let blobs = match &settings.s3 {
        Some(s3) => Blobs::s3(s3)?,
        None => Blobs::local(&stores.blob_root)
            .with_context(|| format!("cannot open blob dir {}", stores.blob_root.display()))?,
    };
    // The callers that build events wake the relay (the rule: `OutboxWaker`).
    let waker = OutboxWaker::new();
    let relay = OutboxRelay::new(stores.outbox, bus, RelaySettings::default(), waker.clone());
    anyhow::ensure!(
        (0..=19).contains(&settings.ingest_nice),
        "player.ingest_nice must be 0 to 19"
    );
    let pool = TranscodePool::start(settings.workers(), settings.ingest_nice)
        .context("cannot start the transcoding threads")?;
    let catalog = Catalog::new(stores.catalog.clone());
    let track_cache = TrackCache::new(
        catalog.clone(),
        settings.track_cache_capacity,
        settings.track_cache_ttl,
    );
    let ingest = Ingest::new(
        stores.catalog.clone(),
        blobs.clone(),
        transcode_options(settings)?,
        pool,
        waker.clone(),
        track_cache.clone(),
    );
    // Room for the message's own framing beside the image.
    let covers = Covers::new(
        blobs.clone(),
        ctx.grpc.max_message_bytes.saturating_sub(1024),
    );
    let delivery = Delivery::new(
        track_cache,
        blobs,
        settings.stream_buffer_chunks,
        Starts::new(settings.stream_start_priority),
    );
    let mut roots = settings.scan_roots.clone();
    roots.extend(settings.library.clone());

    let (library_status, library_seen) = library_status::channel(settings.library.is_some());

    let mut server = ctx.grpc_server(SERVICE_NAME).await?;
    server.add_service(CatalogServiceServer::new(CatalogApi::new(
        catalog.clone(),
        covers,
        library_seen,
        ctx.identity.verifier(SERVICE_NAME),
    )));
    server.add_service(IngestServiceServer::new(IngestApi::new(
        ingest.clone(),
        ctx.identity.verifier(SERVICE_NAME),
        roots,
        settings.max_upload_bytes,
        settings
            .upload_dir
            .clone()
            .unwrap_or_else(std::env::temp_dir),
    )));
    let rules = PlayRules {
        clock_slack_us: i64::try_from(settings.play_clock_slack.as_micros()).unwrap_or(i64::MAX),
        budget: PlayBudget::new(settings.play_budget_burst),
        listening: Listening::new(
            i64::try_from(past_plays::OVERLAP_TOLERANCE.as_millis()).unwrap_or(0),
        ),
    };
    let swept = rules.clone();
    let playback = PlaybackDomain::new(
        delivery,
        catalog,
        stores.sessions.clone(),
        waker.clone(),
        rules,
    );
    server.add_service(PlayerServiceServer::new(PlayerApi::new(
        Arc::new(playback),
        ctx.identity.verifier(SERVICE_NAME),
    )));
    let (sessions, timeout, every) = (
        stores.sessions,
        settings.session_timeout,
        settings.session_sweep_interval,
    );
    let mut app = App::new(server)
        .with_task("outbox-relay", move |token| relay.run(token))
        .with_task("session-sweeper", move |token| {
            play_sessions::sweep_stale_sessions(sessions, waker, (timeout, every), swept, token)
        });
    if let Some(root) = settings.library.clone() {
        let every = settings.rescan_interval;
        app = app.with_task("library", move |token| {
            library::watch(ingest, root, every, library_status, token)
        });
    }
    Ok(app)
}
