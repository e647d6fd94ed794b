//! Builds the reco service: the store the storage mode calls for, the feed that fills it
//! from the event bus, the mixer of daily mixes, and the gRPC server.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::watch;
use tunemesh_events::EventBus;
use tunemesh_proto::reco::v1::recommendation_service_server::RecommendationServiceServer;
use tunemesh_runtime::clock::Clock;
use tunemesh_runtime::redis::KeyPrefix;
use tunemesh_runtime::{App, ServiceContext, Storage};

use crate::feed::Feed;
use crate::grpc::RecommendationApi;
use crate::mix::Mixer;
use crate::mix::target::PlaylistTarget;
use crate::service::ModelRecommender;
use crate::store::RecoStore;
use crate::store::memory::MemoryStore;
use crate::store::redis::RedisStore;
use crate::{RecoSettings, SERVICE_NAME};

/// The embedded model's file under `<data_dir>/reco/` (a `model.json` beside it, of the
/// format before, is loaded once: `store::memory::snapshot`).
const SNAPSHOT: &str = "model.bin";
/// The consumers' replica name in embedded mode: one model per data dir.
const EMBEDDED_REPLICA: &str = "embedded";

/// Binds the service on `ctx.grpc.addr` and returns it ready to run. Until the feed has
/// caught up with the event stream the server stays NOT_SERVING and unregistered, and
/// requests that reach it anyway answer UNAVAILABLE.
pub async fn build(
    settings: &RecoSettings,
    ctx: &ServiceContext,
    bus: Arc<dyn EventBus>,
) -> anyhow::Result<App> {
    // Embedded: the model saved at the last clean stop, if any (see `store::memory`).
    let mut kept: Option<(Arc<MemoryStore>, PathBuf)> = None;
    let mut resumed = true;
    let (store, replica): (Arc<dyn RecoStore>, Option<String>) = match &ctx.storage {
        // The consumers are this data dir's own, under one stable name: with the saved model
        // they resume where it stopped; without it they are reset below and replay everything.
        Storage::Embedded { .. } => {
            let path = ctx
                .storage
                .create_embedded_dir(SERVICE_NAME)
                .await?
                .join(SNAPSHOT);
            // Reading a large model takes seconds (1.5 s at a million tracks): not on an
            // async thread.
            let (from, ttl) = (path.clone(), settings.dedup_ttl);
            let saved = tokio::task::spawn_blocking(move || MemoryStore::take(&from, ttl))
                .await
                .context("loading the saved model")?;
            let memory = match saved {
                Some(saved) => saved,
                None => {
                    resumed = false;
                    MemoryStore::with_dedup_ttl(settings.dedup_ttl)
                }
            };
            let memory = Arc::new(memory);
            kept = Some((memory.clone(), path));
            (memory, Some(EMBEDDED_REPLICA.to_owned()))
        }
        Storage::Production { redis, .. } => {
            let pool = tunemesh_runtime::redis::connect(redis)
                .await
                .context("reco needs redis for its model")?;
            let prefix = KeyPrefix::from(redis).scoped(SERVICE_NAME);
            let store = RedisStore::new(pool, prefix, settings.dedup_ttl);
            (Arc::new(store), None)
        }
    };
    let (ready_tx, ready_rx) = watch::channel(false);
    let domain = Arc::new(ModelRecommender::new(
        store.clone(),
        settings.model.clone(),
        ready_rx.clone(),
    ));
    let mut server = ctx.grpc_server(SERVICE_NAME).await?;
    // NOT_SERVING and out of discovery until the replay has caught up.
    server.ready_when(ready_rx.clone());
    server.add_service(RecommendationServiceServer::new(RecommendationApi::new(
        domain.clone(),
        ctx.identity.verifier(SERVICE_NAME),
    )));
    let feed = Feed::new(bus, store.clone(), settings, replica.as_deref());
    if !resumed {
        feed.reset()
            .await
            .context("cannot reset the reco consumers")?;
    }
    let mut app = App::new(server).with_task("reco-feed", move |token| async move {
        feed.run(ready_tx, token).await;
        // The consumers have stopped: the model holds everything they acknowledged.
        if let Some((memory, path)) = kept {
            let saved = tokio::task::spawn_blocking(move || memory.save(&path)).await;
            match saved {
                Ok(Ok(())) => tracing::info!("recommendation model saved"),
                Ok(Err(error)) => tracing::warn!(%error, "cannot save the recommendation model"),
                Err(error) => tracing::warn!(%error, "saving the recommendation model panicked"),
            }
        }
    });
    if settings.mix.enabled {
        let target = PlaylistTarget::new(ctx.mesh.channel("playlist"), settings.mix.timeout);
        let mixer = Mixer::new(
            store,
            domain,
            Arc::new(target),
            settings.mix.clone(),
            Clock::system(),
        );
        app = app.with_task("reco-mixer", move |token| mixer.run(ready_rx, token));
    }
    Ok(app)
}
