//! Builds the reco service: the store the storage mode calls for, the feed that fills it
//! from the event bus, the mixer of daily mixes, and the gRPC server.

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

/// Binds the service on `ctx.grpc.addr` and returns it ready to run. Until the feed has
/// caught up with the event stream the server stays NOT_SERVING and unregistered, and
/// requests that reach it anyway answer UNAVAILABLE.
pub async fn build(
    settings: &RecoSettings,
    ctx: &ServiceContext,
    bus: Arc<dyn EventBus>,
) -> anyhow::Result<App> {
    let (store, replica): (Arc<dyn RecoStore>, Option<String>) = match &ctx.storage {
        // Memory starts empty at every start: a replica-own consumer replays everything.
        Storage::Embedded { .. } => {
            let replica = uuid::Uuid::new_v4().simple().to_string();
            (Arc::new(MemoryStore::new()), Some(replica[..12].to_owned()))
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
    let mut app = App::new(server).with_task("reco-feed", move |token| feed.run(ready_tx, token));
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
