//! Builds the search service: the index, the feed that fills it from the event bus, the
//! readiness that follows the feed, and the gRPC server.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::watch;
use tunemesh_events::EventBus;
use tunemesh_proto::search::v1::search_service_server::SearchServiceServer;
use tunemesh_runtime::grpc::GrpcServer;
use tunemesh_runtime::{App, ServiceContext};

use crate::feed::Feed;
use crate::grpc::SearchApi;
use crate::index::SearchIndex;
use crate::service::IndexSearch;
use crate::{SERVICE_NAME, SearchSettings, readiness};

/// Binds the service on `ctx.grpc.addr` and returns it ready to run. The index starts empty
/// and the service NOT_SERVING; the feed task replays the catalogue and play streams from
/// the beginning, then the service turns SERVING.
pub async fn build(
    settings: &SearchSettings,
    ctx: &ServiceContext,
    bus: Arc<dyn EventBus>,
) -> anyhow::Result<App> {
    let dir = index_dir(settings, ctx);
    let memory = settings.writer_memory_bytes;
    let index = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || SearchIndex::create(dir.as_deref(), memory))
            .await
            .context("index creation panicked")?
    }
    .with_context(|| format!("cannot create the search index in {dir:?}"))?;
    let index = Arc::new(index);

    let mut server = GrpcServer::bind(SERVICE_NAME, &ctx.grpc).await?;
    let (ready_tx, ready_rx) = watch::channel(false);
    let search = Arc::new(IndexSearch::new(index.clone(), ready_rx.clone()));
    let limit = ctx.grpc.max_message_bytes;
    server.add_service(
        SearchServiceServer::new(SearchApi::new(search, ctx.identity.clone()))
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit),
    );
    let reporter = server.health_reporter();
    // Each start is a fresh replica: new consumers replay everything into the new index.
    let replica = uuid::Uuid::new_v4().simple().to_string();
    let feed = Feed::new(bus, index, settings, &replica[..12], ready_tx);
    Ok(App::new(server)
        .with_task("search-readiness", move |token| {
            readiness::follow(reporter, ready_rx, token)
        })
        .with_task("search-feed", move |token| feed.run(token)))
}

/// Where the index lives: under the data directory in embedded mode, the configured
/// directory (or memory) in production.
fn index_dir(settings: &SearchSettings, ctx: &ServiceContext) -> Option<PathBuf> {
    match ctx.storage.embedded_dir(SERVICE_NAME) {
        Some(dir) => Some(dir.join("index")),
        None => settings.index_dir.clone(),
    }
}
