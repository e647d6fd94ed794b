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
use tunemesh_runtime::grpc::GrpcServer;
use tunemesh_runtime::{App, ServiceContext, Storage};

use crate::blobs::Blobs;
use crate::catalog::Catalog;
use crate::covers::Covers;
use crate::grpc::{CatalogApi, IngestApi, PlayerApi};
use crate::ingest::Ingest;
use crate::media::TranscodeOptions;
use crate::play_budget::PlayBudget;
use crate::playable::PlayableTracks;
use crate::playback::PlayRules;
use crate::store::CatalogStore;
use crate::store::postgres::PostgresStore;
use crate::store::sqlite::SqliteStore;
use crate::stream::Player;
use crate::workers::TranscodePool;
use crate::{PlayerSettings, SERVICE_NAME, convert, library, playback};

/// The stores of one deployment mode.
struct Stores {
    catalog: Arc<dyn CatalogStore>,
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
            Ok(Stores {
                catalog: Arc::new(store),
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
            Ok(Stores {
                catalog: Arc::new(store),
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
            convert::quality_from_name(name)
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
    let playing = PlayableTracks::new(
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
        playing.clone(),
    );
    // Room for the message's own framing beside the image.
    let covers = Covers::new(
        blobs.clone(),
        ctx.grpc.max_message_bytes.saturating_sub(1024),
    );
    let player = Player::new(playing, blobs, settings.stream_buffer_chunks);
    let mut roots = settings.scan_roots.clone();
    roots.extend(settings.library.clone());

    let mut server = GrpcServer::bind(SERVICE_NAME, &ctx.grpc).await?;
    let limit = ctx.grpc.max_message_bytes;
    server.add_service(
        CatalogServiceServer::new(CatalogApi::new(
            catalog.clone(),
            covers,
            ctx.identity.clone(),
        ))
        .max_decoding_message_size(limit)
        .max_encoding_message_size(limit),
    );
    server.add_service(
        IngestServiceServer::new(IngestApi::new(
            ingest.clone(),
            ctx.identity.clone(),
            roots,
            settings.max_upload_bytes,
            settings
                .upload_dir
                .clone()
                .unwrap_or_else(std::env::temp_dir),
        ))
        .max_decoding_message_size(limit)
        .max_encoding_message_size(limit),
    );
    let rules = PlayRules {
        clock_slack_us: i64::try_from(settings.play_clock_slack.as_micros()).unwrap_or(i64::MAX),
        budget: PlayBudget::new(settings.play_budget_burst),
    };
    let budget = rules.budget.clone();
    server.add_service(
        PlayerServiceServer::new(PlayerApi::new(
            player,
            catalog,
            stores.catalog.clone(),
            (waker.clone(), rules),
            ctx.identity.clone(),
        ))
        .max_decoding_message_size(limit)
        .max_encoding_message_size(limit),
    );
    let (store, timeout, every) = (
        stores.catalog,
        settings.session_timeout,
        settings.session_sweep_interval,
    );
    let mut app = App::new(server)
        .with_task("outbox-relay", move |token| relay.run(token))
        .with_task("session-sweeper", move |token| {
            playback::sweep_stale_sessions(store, waker, (timeout, every), budget, token)
        });
    if let Some(root) = settings.library.clone() {
        let every = settings.rescan_interval;
        app = app.with_task("library", move |token| {
            library::watch(ingest, root, every, token)
        });
    }
    Ok(app)
}
