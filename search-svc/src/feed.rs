//! Keeps the index current from the event bus, and says when it has caught up.
//!
//! Three durable consumers, on `events.catalog`, `events.play` and `events.playlist`, named
//! after the replica so every start of it uses the same three. A replica with an empty (or
//! unusable) index directory deletes them and starts them again at the beginning of the
//! stream: it rebuilds its whole index by replay. A replica whose index survived resumes them
//! where they stopped, which is where its last commit stopped (see below). Events are applied
//! to the [`Model`] (the [`Catalog`] and the [`Playlists`]) as they arrive and committed to
//! the index in batches: when `commit_interval` has passed since the first uncommitted event,
//! when a batch is full, or when the bus goes quiet. Deliveries are acknowledged only after
//! the commit that contains them, so nothing acknowledged is ever missing from the index.
//!
//! Catalogue events are idempotent upserts (see [`Catalog`]); playlist events are upserts
//! guarded by each playlist's revision, deletions final (see [`Playlists`]); play events are
//! counted once per event id (a bounded in-memory set; JetStream also drops duplicate
//! publishes). The set does not survive a restart: a play delivered again after a crash
//! between a commit and its acks is counted twice, which popularity ranking shrugs off.
//!
//! The replica is *ready* once its consumers have nothing pending and everything received
//! is committed; from then on, searches are answered and health reports SERVING.

use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context as _;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tunemesh_events::dedup::MemoryProcessed;
use tunemesh_events::{BusError, ConsumerSpec, Delivery, EventBus, projection};
use tunemesh_proto::events::v1::{
    CatalogEvent, PlayEvent, PlaylistEvent, catalog_event, playlist_event,
};
use tunemesh_proto::subjects;

use crate::catalog::{Catalog, Change};
use crate::index::{Opened, SearchIndex};
use crate::playlists::Playlists;
use crate::settings::SearchSettings;

/// What events are applied to before a commit writes the documents they changed.
#[derive(Debug, Default)]
pub(crate) struct Model {
    /// Tracks, albums, artists and plays.
    pub(crate) catalog: Catalog,
    /// Playlists.
    pub(crate) playlists: Playlists,
}

impl Model {
    fn drain_changes(&mut self) -> Vec<Change> {
        let mut changes = self.catalog.drain_changes();
        changes.extend(self.playlists.drain_changes());
        changes
    }
}

/// The feed: consumers, the model and the index they update.
#[derive(Debug)]
pub(crate) struct Feed {
    bus: Arc<dyn EventBus>,
    index: Arc<SearchIndex>,
    // Only touched on blocking threads during a commit, and by the feed task between them.
    model: Arc<Mutex<Model>>,
    plays_seen: MemoryProcessed,
    settings: SearchSettings,
    catalog_consumer: String,
    play_consumer: String,
    playlist_consumer: String,
    opened: Opened,
    ready: watch::Sender<bool>,
}

/// Where a delivery came from.
#[derive(Debug, Clone, Copy)]
enum Source {
    Catalog,
    Play,
    Playlist,
}

/// The durable consumer names of `replica`: catalogue, plays, then playlists.
pub(crate) fn consumer_names(settings: &SearchSettings, replica: &str) -> [String; 3] {
    let name = |what| projection::consumer_name(&settings.consumer_prefix, what, Some(replica));
    [name("catalog"), name("play"), name("playlist")]
}

impl Feed {
    /// A feed for `index` under this replica's stable consumer names (`replica`).
    /// `opened` says whether the index resumes a previous run, whose model is `model`, or
    /// starts empty.
    pub(crate) fn new(
        bus: Arc<dyn EventBus>,
        index: Arc<SearchIndex>,
        (model, opened): (Model, Opened),
        settings: &SearchSettings,
        replica: &str,
        ready: watch::Sender<bool>,
    ) -> Self {
        let [catalog_consumer, play_consumer, playlist_consumer] =
            consumer_names(settings, replica);
        Self {
            bus,
            index,
            model: Arc::new(Mutex::new(model)),
            plays_seen: MemoryProcessed::new(settings.play_dedup_capacity),
            settings: settings.clone(),
            catalog_consumer,
            play_consumer,
            playlist_consumer,
            opened,
            ready,
        }
    }

    /// Makes the consumers' positions agree with the index before the first pull: a fresh
    /// index replays from the beginning (stale consumers of this replica are deleted first);
    /// a resumed one keeps its consumers, unless the bus lost them, in which case the index
    /// is cleared and replayed too.
    async fn align(&self) -> anyhow::Result<()> {
        let names = self.consumers();
        let mut replay = self.opened == Opened::Fresh;
        if !replay {
            for name in names {
                match self.bus.consumer_state(name).await {
                    Ok(_) => {}
                    Err(BusError::UnknownConsumer(_)) => replay = true,
                    Err(error) => return Err(error).context("read consumer state"),
                }
            }
            if !replay {
                tracing::info!(consumer = %self.catalog_consumer, "search index resumed from disk");
                return Ok(());
            }
            tracing::warn!(
                "search consumers are gone from the bus; rebuilding the index by replay"
            );
            *self.model.lock().unwrap_or_else(PoisonError::into_inner) = Model::default();
            let index = self.index.clone();
            tokio::task::spawn_blocking(move || index.clear())
                .await
                .context("index clear panicked")?
                .context("index clear failed")?;
        }
        for name in names {
            self.bus
                .delete_consumer(name)
                .await
                .with_context(|| format!("delete stale consumer {name}"))?;
        }
        Ok(())
    }

    fn consumers(&self) -> [&str; 3] {
        [
            &self.catalog_consumer,
            &self.play_consumer,
            &self.playlist_consumer,
        ]
    }

    fn spec(&self, name: &str, subject: &str) -> ConsumerSpec {
        ConsumerSpec {
            batch_size: self.settings.batch_size,
            max_in_flight: self.settings.max_batch,
            ..ConsumerSpec::new(name, &[subject])
        }
    }

    /// Runs until `shutdown`, resubscribing after bus failures.
    pub(crate) async fn run(self, shutdown: CancellationToken) {
        projection::resubscribing("search feed start", &shutdown, || self.align()).await;
        projection::resubscribing("search feed", &shutdown, || self.consume(&shutdown)).await;
    }

    async fn consume(&self, shutdown: &CancellationToken) -> anyhow::Result<()> {
        let mut catalog = self
            .bus
            .subscribe(self.spec(&self.catalog_consumer, subjects::CATALOG))
            .await
            .context("subscribe to catalogue events")?;
        let mut plays = self
            .bus
            .subscribe(self.spec(&self.play_consumer, subjects::PLAY))
            .await
            .context("subscribe to play events")?;
        let mut playlists = self
            .bus
            .subscribe(self.spec(&self.playlist_consumer, subjects::PLAYLIST))
            .await
            .context("subscribe to playlist events")?;
        let mut pending: Vec<Delivery> = Vec::new();
        let mut first_pending: Option<Instant> = None;
        loop {
            let deadline = first_pending.map(|t| t + self.settings.commit_interval);
            let idle = tokio::time::sleep(self.settings.idle_check);
            let commit_due = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let next = tokio::select! {
                () = shutdown.cancelled() => {
                    self.commit(&mut pending).await?;
                    return Ok(());
                }
                delivery = catalog.next() => Some((Source::Catalog, delivery)),
                delivery = plays.next() => Some((Source::Play, delivery)),
                delivery = playlists.next() => Some((Source::Playlist, delivery)),
                () = commit_due => None,
                () = idle => None,
            };
            match next {
                Some((source, delivery)) => {
                    let delivery = delivery.map_err(closed_is_fatal)?;
                    self.apply(source, &delivery);
                    pending.push(delivery);
                    first_pending.get_or_insert_with(Instant::now);
                    if pending.len() < self.settings.max_batch {
                        continue;
                    }
                }
                None if pending.is_empty() => {
                    self.check_caught_up().await;
                    continue;
                }
                None => {}
            }
            self.commit(&mut pending).await?;
            first_pending = None;
            self.check_caught_up().await;
        }
    }

    /// Applies one event to the model (not yet to the index).
    fn apply(&self, source: Source, delivery: &Delivery) {
        let envelope = delivery.envelope();
        let mut model = self.model.lock().unwrap_or_else(PoisonError::into_inner);
        let Model { catalog, playlists } = &mut *model;
        match source {
            Source::Catalog => match envelope.decode::<CatalogEvent>().map(|e| e.event) {
                Ok(Some(catalog_event::Event::TrackAdded(added))) => {
                    if let Some(track) = added.track {
                        catalog.upsert_track(track);
                    }
                }
                Ok(Some(catalog_event::Event::TrackUpdated(updated))) => {
                    if let Some(track) = updated.track {
                        catalog.upsert_track(track);
                    }
                }
                Ok(None) => tracing::debug!(id = %envelope.id, "catalogue event of unknown kind"),
                Err(error) => tracing::warn!(%error, "undecodable catalogue event skipped"),
            },
            Source::Play => match envelope.decode::<PlayEvent>() {
                Ok(play) if play.counted && self.plays_seen.first_time(&envelope.id) => {
                    catalog.count_play(&play.track_id);
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "undecodable play event skipped"),
            },
            Source::Playlist => match envelope.decode::<PlaylistEvent>().map(|e| e.event) {
                Ok(Some(playlist_event::Event::PlaylistChanged(changed))) => {
                    playlists.apply(&changed);
                }
                // Likes are no search signal.
                Ok(Some(
                    playlist_event::Event::LikedTracksChanged(_)
                    | playlist_event::Event::LikedItemsChanged(_),
                )) => {}
                Ok(None) => tracing::debug!(id = %envelope.id, "playlist event of unknown kind"),
                Err(error) => tracing::warn!(%error, "undecodable playlist event skipped"),
            },
        }
    }

    /// Writes what changed to the index, commits, then acknowledges the deliveries.
    async fn commit(&self, pending: &mut Vec<Delivery>) -> anyhow::Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let changes = self
            .model
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain_changes();
        let index = self.index.clone();
        tokio::task::spawn_blocking(move || index.apply(&changes))
            .await
            .context("index commit panicked")?
            .context("index commit failed")?;
        // All at once: a bus that can group them (the embedded one) writes them together.
        let acks = pending.drain(..).map(Delivery::ack);
        for acked in futures::future::join_all(acks).await {
            // A lost ack only means a redelivery, which the catalogue model absorbs.
            if let Err(error) = acked {
                tracing::debug!(%error, "ack failed; the event will come again");
            }
        }
        Ok(())
    }

    /// Turns ready once every consumer is drained and everything is committed.
    async fn check_caught_up(&self) {
        if *self.ready.borrow() {
            return;
        }
        let drained = projection::drained(self.bus.as_ref(), &self.consumers()).await;
        if drained {
            let (tracks, playlists) = {
                let model = self.model.lock().unwrap_or_else(PoisonError::into_inner);
                (model.catalog.track_count(), model.playlists.public_count())
            };
            tracing::info!(
                tracks,
                playlists,
                "search index built from the event stream"
            );
            self.ready.send_replace(true);
        }
    }
}

fn closed_is_fatal(error: BusError) -> anyhow::Error {
    anyhow::Error::new(error).context("event subscription failed")
}
