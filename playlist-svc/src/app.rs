//! Builds the playlist service: its store, cache and catalogue adapters for the storage mode,
//! the gRPC server, and the outbox relay as a background task.

use std::sync::Arc;

use anyhow::Context as _;
use tunemesh_events::EventBus;
use tunemesh_events::outbox::postgres::PostgresOutbox;
use tunemesh_events::outbox::{OutboxRelay, OutboxSource, OutboxWaker, RelaySettings};
use tunemesh_proto::playlist::v1::playlist_service_server::PlaylistServiceServer;
use tunemesh_runtime::redis::KeyPrefix;
use tunemesh_runtime::{App, ServiceContext, Storage};

use crate::cache::memory::MemoryCache;
use crate::cache::redis::RedisCache;
use crate::cache::{PlaylistCache, ReadThrough};
use crate::catalog::{GrpcCatalog, TrackCatalog};
use crate::durations::DurationBackfill;
use crate::grpc::PlaylistApi;
use crate::service::PlaylistDomain;
use crate::store::PlaylistStore;
use crate::store::postgres::PostgresStore;
use crate::{PlaylistSettings, SERVICE_NAME};

/// The store, cache and outbox of one storage mode.
struct Adapters {
    store: Arc<dyn PlaylistStore>,
    cache: Arc<dyn PlaylistCache>,
    outbox: Arc<dyn OutboxSource>,
}

/// Binds the service on `ctx.grpc.addr` and returns it ready to run.
pub async fn build(
    settings: &PlaylistSettings,
    ctx: &ServiceContext,
    bus: Arc<dyn EventBus>,
) -> anyhow::Result<App> {
    // Made first: the stores build the events and wake the relay (the rule: `OutboxWaker`).
    let waker = OutboxWaker::new();
    let adapters = match &ctx.storage {
        Storage::Production { postgres, redis } => {
            let pool = tunemesh_runtime::postgres::connect(postgres).await?;
            let store = PostgresStore::open(pool.clone(), waker.clone())
                .await
                .context("cannot migrate the playlist database")?;
            let redis_pool = tunemesh_runtime::redis::connect(redis).await?;
            Adapters {
                store: Arc::new(store),
                cache: Arc::new(RedisCache::new(
                    redis_pool,
                    &KeyPrefix::from(redis),
                    settings.cache_ttl,
                )),
                outbox: Arc::new(PostgresOutbox::new(SERVICE_NAME, pool)),
            }
        }
        Storage::Embedded { .. } => embedded(settings, ctx, &waker).await?,
    };
    let catalog: Arc<dyn TrackCatalog> = Arc::new(GrpcCatalog::new(
        // Only reads: a replica that hangs costs a per-try timeout, not the call.
        ctx.mesh
            .channel("player")
            .retrying(["/tunemesh.catalog.v1.CatalogService/"]),
        settings.catalog_timeout,
    ));
    let backfill = DurationBackfill {
        store: adapters.store.clone(),
        catalog: catalog.clone(),
        cache: adapters.cache.clone(),
        interval: settings.duration_backfill_interval,
    };
    let reads = ReadThrough::new(
        adapters.store.clone(),
        adapters.cache,
        settings.store_timeout,
    );
    let domain = PlaylistDomain::new(adapters.store, reads, catalog, settings.store_timeout);
    let relay = OutboxRelay::new(
        adapters.outbox,
        bus,
        RelaySettings {
            poll_interval: settings.outbox_poll_interval,
            lease: settings.outbox_lease,
            ..RelaySettings::default()
        },
        waker,
    );

    let mut server = ctx.grpc_server(SERVICE_NAME).await?;
    server.add_service(PlaylistServiceServer::new(PlaylistApi::new(
        Arc::new(domain),
        ctx.identity.verifier(SERVICE_NAME),
    )));
    Ok(App::new(server)
        .with_task("playlist-outbox-relay", move |token| relay.run(token))
        .with_task("playlist-duration-backfill", move |token| {
            backfill.run(token)
        }))
}

/// The embedded adapters: a SQLite file under the data directory, an in-process cache.
async fn embedded(
    settings: &PlaylistSettings,
    ctx: &ServiceContext,
    waker: &OutboxWaker,
) -> anyhow::Result<Adapters> {
    let dir = ctx.storage.create_embedded_dir(SERVICE_NAME).await?;
    let store =
        crate::store::sqlite::SqliteStore::open(&dir.join("playlists.sqlite"), waker.clone())
            .await?;
    let outbox =
        tunemesh_events::outbox::sqlite::SqliteOutbox::new(SERVICE_NAME, store.connection());
    Ok(Adapters {
        store: Arc::new(store),
        cache: Arc::new(MemoryCache::new(
            settings.memory_cache_capacity,
            settings.cache_ttl,
        )),
        outbox: Arc::new(outbox),
    })
}
