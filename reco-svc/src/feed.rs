//! Keeps the model current from the event bus, and says when it has caught up.
//!
//! Three durable consumers, of `events.play`, `events.catalog` and `events.playlist` (likes
//! and playlist edits, [`playlist`]), all from the start of the stream, each run by the
//! events crate's [`run_consumer`] (ack on success, retry with
//! backoff on a store failure, terminate a malformed event). Every event becomes one write
//! batch, applied atomically and at most once per event id by the store, so redeliveries
//! and replays change nothing twice. Plays, the bulk of the stream, are read and applied
//! in batches of what was delivered together (`plays`): two store round trips per batch
//! instead of two per play.
//!
//! Metrics: `tunemesh_consumer_lag` / `tunemesh_consumer_in_flight` (events not yet
//! delivered / unsettled, from the bus), `tunemesh_reco_seconds_behind` (wall clock minus the
//! event time of the last event applied) and `tunemesh_reco_events_total` (label `outcome`),
//! all labelled with the consumer.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tunemesh_events::consumer::{BatchHandler, Handler, HandlerError, RunSettings, run_consumer};
use tunemesh_events::{ConsumerSpec, Envelope, EventBus, projection};
use tunemesh_proto::events::v1::{CatalogEvent, catalog_event};
use tunemesh_proto::subjects;

use crate::model::ModelParams;
use crate::model::update::plan_track;
use crate::settings::RecoSettings;
use crate::store::{Applied, RecoStore};

pub mod playlist;
mod plays;

use plays::PlayHandler;

/// Plans retried after a listener or playlist changed under them, before the event is
/// retried later.
const CONFLICT_RETRIES: usize = 8;

/// The consumers that feed one model.
#[derive(Debug, Clone)]
pub struct Feed {
    bus: Arc<dyn EventBus>,
    store: Arc<dyn RecoStore>,
    settings: RecoSettings,
    play_consumer: String,
    catalog_consumer: String,
    playlist_consumer: String,
}

impl Feed {
    /// A feed of `store`. With a `replica` name the consumers are this replica's own (an
    /// in-memory model: they resume with its saved copy, or are [`reset`](Self::reset) to
    /// replay everything); without, they are shared by every
    /// replica of the deployment (the model lives in Redis and resumes where it was).
    pub fn new(
        bus: Arc<dyn EventBus>,
        store: Arc<dyn RecoStore>,
        settings: &RecoSettings,
        replica: Option<&str>,
    ) -> Self {
        let name = |what| projection::consumer_name(&settings.consumer_prefix, what, replica);
        Self {
            bus,
            store,
            settings: settings.clone(),
            play_consumer: name("play"),
            catalog_consumer: name("catalog"),
            playlist_consumer: name("playlist"),
        }
    }

    /// Deletes the three durable consumers, so the next run replays the stream from its
    /// beginning (a model that starts empty).
    pub async fn reset(&self) -> Result<(), tunemesh_events::BusError> {
        for name in [
            &self.play_consumer,
            &self.catalog_consumer,
            &self.playlist_consumer,
        ] {
            self.bus.delete_consumer(name).await?;
        }
        Ok(())
    }

    /// Runs the consumers until `shutdown`, turning `ready` true once all have caught up
    /// with the stream as it was when they started.
    pub async fn run(self, ready: watch::Sender<bool>, shutdown: CancellationToken) {
        let plays = PlayHandler {
            store: self.store.clone(),
            params: self.settings.model.clone(),
            consumer: self.play_consumer.clone(),
        };
        let catalog = CatalogHandler {
            store: self.store.clone(),
            params: self.settings.model.clone(),
            consumer: self.catalog_consumer.clone(),
        };
        let playlists = playlist::PlaylistHandler {
            store: self.store.clone(),
            params: self.settings.model.clone(),
            consumer: self.playlist_consumer.clone(),
        };
        tokio::join!(
            self.consume(&self.play_consumer, subjects::PLAY, &plays, &shutdown),
            self.consume(
                &self.catalog_consumer,
                subjects::CATALOG,
                &catalog,
                &shutdown
            ),
            self.consume(
                &self.playlist_consumer,
                subjects::PLAYLIST,
                &playlists,
                &shutdown
            ),
            self.follow_catch_up(&ready, &shutdown),
        );
    }

    /// One consumer, subscribed again after any bus failure.
    async fn consume<H: BatchHandler>(
        &self,
        name: &str,
        subject: &str,
        handler: &H,
        shutdown: &CancellationToken,
    ) {
        projection::resubscribing(name, shutdown, || async {
            let spec = ConsumerSpec {
                batch_size: self.settings.batch_size,
                max_in_flight: self.settings.batch_size * 2,
                ..ConsumerSpec::new(name, &[subject])
            };
            let subscription = self.bus.subscribe(spec).await?;
            let settings = RunSettings {
                lag_from: Some(self.bus.clone()),
                lag_interval: self.settings.lag_interval,
                // Plays are applied in batches (`plays`). Catalogue events are applied one
                // after another but settled together (one bus write per batch: a replay of
                // a million of them settled one by one was the long pole), which is safe
                // because the newest update of a track wins whatever the order. Playlist
                // events one at a time.
                max_batch: if subject == subjects::PLAY || subject == subjects::CATALOG {
                    self.settings.batch_size
                } else {
                    1
                },
                ..RunSettings::default()
            };
            Ok(run_consumer(subscription, handler, settings, shutdown.clone()).await?)
        })
        .await;
    }

    /// Turns `ready` true once no consumer has anything pending or unsettled.
    async fn follow_catch_up(&self, ready: &watch::Sender<bool>, shutdown: &CancellationToken) {
        let names = [
            self.play_consumer.as_str(),
            self.catalog_consumer.as_str(),
            self.playlist_consumer.as_str(),
        ];
        projection::follow_catch_up(self.bus.as_ref(), &names, ready, shutdown).await;
        if *ready.borrow() {
            tracing::info!("recommendation model caught up with the event stream");
        }
    }
}

/// Applies catalogue events: the track's artist and title, newest update wins; a new track
/// also gets its first, small share of popularity.
struct CatalogHandler {
    store: Arc<dyn RecoStore>,
    params: ModelParams,
    consumer: String,
}

#[async_trait]
impl Handler for CatalogHandler {
    async fn handle(&self, envelope: &Envelope) -> Result<(), HandlerError> {
        let event: CatalogEvent = envelope.decode()?;
        let (track, added) = match event.event {
            Some(catalog_event::Event::TrackAdded(added)) => (added.track, true),
            Some(catalog_event::Event::TrackUpdated(updated)) => (updated.track, false),
            None => (None, false),
        };
        let plan = |t| plan_track(&envelope.id, &t, added, &self.params);
        let Some(batch) = track.and_then(plan) else {
            count(&self.consumer, "ignored");
            return Ok(());
        };
        let outcome = match self.store.apply(&batch).await.map_err(transient)? {
            Applied::Duplicate => "duplicate",
            Applied::Done | Applied::Conflict => "track",
        };
        count(&self.consumer, outcome);
        behind(&self.consumer, envelope);
        Ok(())
    }
}

fn transient(error: crate::store::StoreError) -> HandlerError {
    HandlerError::Transient(error.into())
}

fn count(consumer: &str, outcome: &'static str) {
    metrics::counter!("tunemesh_reco_events_total", "consumer" => consumer.to_owned(), "outcome" => outcome)
        .increment(1);
}

/// How far behind the event stream the model is, by the time of the last event applied.
fn behind(consumer: &str, envelope: &Envelope) {
    let seconds = SystemTime::now()
        .duration_since(envelope.occurred_at)
        .map_or(0.0, |d| d.as_secs_f64());
    metrics::gauge!("tunemesh_reco_seconds_behind", "consumer" => consumer.to_owned()).set(seconds);
}
