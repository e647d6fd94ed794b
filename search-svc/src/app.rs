//! Builds the search service: the index (reopened from disk when it can be), the feed that
//! keeps it current from the event bus, and the gRPC server, held NOT_SERVING until the feed
//! has caught up.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::watch;
use tunemesh_events::EventBus;
use tunemesh_proto::search::v1::search_service_server::SearchServiceServer;
use tunemesh_runtime::{App, ServiceContext};

use crate::feed::{self, Feed, Model};
use crate::grpc::SearchApi;
use crate::index::{Opened, SearchIndex};
use crate::service::IndexSearch;
use crate::{SERVICE_NAME, SearchSettings};

/// Binds the service on `ctx.grpc.addr` and returns it ready to run, NOT_SERVING until the
/// feed has caught up. An index kept on disk by this replica's last run is reopened and its
/// catalogue model rebuilt from it, and the feed resumes where that run stopped; otherwise
/// the index starts empty and the feed replays the catalogue, play and playlist streams from
/// the beginning.
pub async fn build(
    settings: &SearchSettings,
    ctx: &ServiceContext,
    bus: Arc<dyn EventBus>,
) -> anyhow::Result<App> {
    let dir = index_dir(settings, ctx);
    let replica = settings.replica_name();
    let owner = feed::consumer_names(settings, &replica).join(" ");
    let memory = settings.writer_memory_bytes;
    let (index, restored) = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || open(dir.as_deref(), memory, &owner))
            .await
            .context("index opening panicked")?
    }
    .with_context(|| format!("cannot open the search index in {dir:?}"))?;
    let index = Arc::new(index);

    let mut server = ctx.grpc_server(SERVICE_NAME).await?;
    let (ready_tx, ready_rx) = watch::channel(false);
    let search = Arc::new(IndexSearch::new(index.clone(), ready_rx.clone()));
    server.add_service(SearchServiceServer::new(SearchApi::new(
        search,
        ctx.identity.verifier(SERVICE_NAME),
    )));
    // NOT_SERVING and out of discovery until the replay has caught up.
    server.ready_when(ready_rx);
    let feed = Feed::new(bus, index, restored, settings, &replica, ready_tx);
    Ok(App::new(server).with_task("search-feed", move |token| feed.run(token)))
}

/// Opens (or creates) the index, and rebuilds the model (catalogue and playlists) of a
/// resumed one.
fn open(
    dir: Option<&Path>,
    memory: usize,
    owner: &str,
) -> anyhow::Result<(SearchIndex, (Model, Opened))> {
    let (index, opened) = SearchIndex::open(dir, memory, owner)?;
    let mut model = Model::default();
    if opened == Opened::Resumed {
        model.catalog.restore_all(index.stored_tracks()?);
        for playlist in index.stored_playlists()? {
            model.playlists.restore(&playlist);
        }
        tracing::info!(
            tracks = model.catalog.track_count(),
            playlists = model.playlists.public_count(),
            "search index reopened"
        );
    }
    Ok((index, (model, opened)))
}

/// Where the index lives: under the data directory in embedded mode, the configured
/// directory (or memory) in production.
fn index_dir(settings: &SearchSettings, ctx: &ServiceContext) -> Option<PathBuf> {
    match ctx.storage.embedded_dir(SERVICE_NAME) {
        Some(dir) => Some(dir.join("index")),
        None => settings.index_dir.clone(),
    }
}
