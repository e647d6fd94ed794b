//! `run_consumer` and the dedup helpers on a real bus: acks, retries, terminations (poison,
//! malformed, panicking handler), duplicates processed once, and the exported metrics.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use tokio_util::sync::CancellationToken;
use tunemesh_events::consumer::{BatchHandler, Handler, HandlerError, RunSettings, run_consumer};
use tunemesh_events::dedup::MemoryProcessed;
use tunemesh_events::embedded::{EmbeddedBus, EmbeddedSettings};
use tunemesh_events::outbox::sqlite::{MIGRATION, SqliteOutbox, append};
use tunemesh_events::outbox::{OutboxRelay, OutboxWaker, RelaySettings};
use tunemesh_events::{ConsumerSpec, Envelope, EventBus};
use tunemesh_proto::events::v1::PlayEvent;
use tunemesh_proto::subjects;
use tunemesh_testkit::{assert_eventually, init_tracing};

/// Records every call by track, and fails as the track's name says.
#[derive(Default)]
struct Scripted {
    calls: Mutex<BTreeMap<String, Vec<u32>>>,
    effects: Mutex<Vec<String>>,
    dedup: Option<MemoryProcessed>,
}

impl Scripted {
    fn calls(&self) -> BTreeMap<String, Vec<u32>> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    fn effects(&self) -> Vec<String> {
        self.effects.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl Handler for Scripted {
    async fn handle(&self, envelope: &Envelope) -> Result<(), HandlerError> {
        let track = match envelope.decode::<PlayEvent>() {
            Ok(event) => event.track_id,
            Err(error) => {
                self.record("<malformed>");
                return Err(error.into());
            }
        };
        let attempt = self.record(&track);
        match track.as_str() {
            "flaky" if attempt == 1 => Err(HandlerError::Transient(anyhow::anyhow!("db down"))),
            "down" => Err(HandlerError::Transient(anyhow::anyhow!("still down"))),
            "poison" => Err(HandlerError::Permanent(anyhow::anyhow!("unknown track"))),
            "panics" => panic!("handler bug"),
            _ => {
                let first = self
                    .dedup
                    .as_ref()
                    .is_none_or(|d| d.first_time(&envelope.id));
                if first && let Ok(mut effects) = self.effects.lock() {
                    effects.push(track);
                }
                Ok(())
            }
        }
    }
}

impl Scripted {
    fn record(&self, track: &str) -> u32 {
        let Ok(mut calls) = self.calls.lock() else {
            return 0;
        };
        let attempts = calls.entry(track.to_owned()).or_default();
        let attempt = u32::try_from(attempts.len()).unwrap_or(u32::MAX) + 1;
        attempts.push(attempt);
        attempt
    }
}

fn play(track: &str) -> Envelope {
    let event = PlayEvent {
        track_id: track.to_owned(),
        ..PlayEvent::default()
    };
    Envelope::new(subjects::PLAY, &event)
}

async fn embedded(window: Duration) -> anyhow::Result<(tempfile::TempDir, Arc<EmbeddedBus>)> {
    init_tracing();
    let dir = tempfile::tempdir()?;
    let settings = EmbeddedSettings {
        duplicate_window: window,
        ..EmbeddedSettings::new(dir.path().join("events.sqlite3"))
    };
    Ok((dir, Arc::new(EmbeddedBus::open(&settings).await?)))
}

fn fast(bus: Arc<dyn EventBus>) -> RunSettings {
    RunSettings {
        min_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(100),
        lag_from: Some(bus),
        lag_interval: Duration::from_millis(50),
        max_batch: 1,
    }
}

/// Runs the consumer until the bus says everything was settled, then a quiet period more.
async fn consume_all<H: BatchHandler>(
    bus: Arc<dyn EventBus>,
    handler: &H,
    spec: ConsumerSpec,
    max_batch: usize,
) -> anyhow::Result<()> {
    let name = spec.name.clone();
    let subscription = bus.subscribe(spec).await?;
    let stop = CancellationToken::new();
    let settings = RunSettings {
        max_batch,
        ..fast(bus.clone())
    };
    let run = run_consumer(subscription, handler, settings, stop.clone());
    let watch = async {
        assert_eventually!(
            bus.consumer_state(&name)
                .await
                .is_ok_and(|s| s.pending == 0 && s.in_flight == 0),
            "events never settled"
        );
        // Anything wrongly left for redelivery would show up within a few ack waits.
        tokio::time::sleep(Duration::from_millis(600)).await;
        stop.cancel();
    };
    let (result, ()) = tokio::join!(run, watch);
    Ok(result?)
}

/// Publishes the scripted events (one of each outcome, a malformed one, then one more) and
/// consumes them all with `handler`, `max_batch` at a time.
async fn consume_the_script<H: BatchHandler>(handler: &H, max_batch: usize) -> anyhow::Result<()> {
    let (_dir, bus) = embedded(Duration::from_secs(120)).await?;
    for track in ["ok", "flaky", "down", "poison", "panics"] {
        bus.publish(&play(track)).await?;
    }
    let mut garbage = play("garbage");
    garbage.payload = Bytes::from_static(&[0xff, 0xff, 0xff, 0xff]);
    bus.publish(&garbage).await?;
    bus.publish(&play("last")).await?;
    let spec = ConsumerSpec {
        ack_wait: Duration::from_millis(200),
        max_deliver: 3,
        ..ConsumerSpec::new("reco", &[subjects::PLAY])
    };
    consume_all(bus, handler, spec, max_batch).await
}

/// What the script's events must have seen: one call each, the flaky one two, the one down
/// for good as many as `max_deliver` (then terminated, not retried forever).
fn scripted_calls() -> BTreeMap<String, Vec<u32>> {
    [
        ("ok", vec![1]),
        ("flaky", vec![1, 2]),
        ("down", vec![1, 2, 3]),
        ("poison", vec![1]),
        ("panics", vec![1]),
        ("<malformed>", vec![1]),
        ("last", vec![1]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

#[tokio::test]
async fn handled_events_are_acked_transient_failures_retried_and_poison_terminated()
-> anyhow::Result<()> {
    let handler = Scripted::default();
    consume_the_script(&handler, 1).await?;
    assert_eq!(handler.calls(), scripted_calls());
    // The retried event is handled after the ones behind it: retries do not block the stream.
    assert_eq!(handler.effects(), ["ok", "last", "flaky"]);
    Ok(())
}

/// A batch handler over [`Scripted`] that records the size of every batch and, like a bug in
/// a batch handler would, panics on any batch of more than one event holding "panics".
#[derive(Default)]
struct InBatches {
    events: Scripted,
    sizes: Mutex<Vec<usize>>,
}

#[async_trait]
impl BatchHandler for InBatches {
    async fn handle_batch(&self, envelopes: &[&Envelope]) -> Vec<Result<(), HandlerError>> {
        if let Ok(mut sizes) = self.sizes.lock() {
            sizes.push(envelopes.len());
        }
        let panics = |e: &&Envelope| {
            e.decode::<PlayEvent>()
                .is_ok_and(|p| p.track_id == "panics")
        };
        assert!(
            envelopes.len() == 1 || !envelopes.iter().any(panics),
            "batch handler bug"
        );
        let mut results = Vec::with_capacity(envelopes.len());
        for envelope in envelopes {
            results.push(self.events.handle(envelope).await);
        }
        results
    }
}

#[tokio::test]
async fn events_handled_in_batches_are_each_settled_by_their_own_outcome() -> anyhow::Result<()> {
    let handler = InBatches::default();
    consume_the_script(&handler, 8).await?;
    // Every event settled as it would be alone: the batch that panicked was handled again
    // one event at a time, and only the event that panics alone was terminated.
    assert_eq!(handler.events.calls(), scripted_calls());
    assert_eq!(handler.events.effects(), ["ok", "last", "flaky"]);
    let sizes = handler.sizes.lock().map(|s| s.clone()).unwrap_or_default();
    assert!(sizes.iter().all(|&n| (1..=8).contains(&n)), "{sizes:?}");
    assert!(sizes.iter().any(|&n| n > 1), "never batched: {sizes:?}");
    Ok(())
}

#[tokio::test]
async fn an_event_delivered_twice_is_processed_once() -> anyhow::Result<()> {
    // No dedup window on the bus: the second publish of the same id is delivered too.
    let (_dir, bus) = embedded(Duration::ZERO).await?;
    let event = play("twice");
    assert!(!bus.publish(&event).await?.duplicate);
    assert!(!bus.publish(&event).await?.duplicate);

    let handler = Scripted {
        dedup: Some(MemoryProcessed::new(1024)),
        ..Scripted::default()
    };
    consume_all(
        bus,
        &handler,
        ConsumerSpec::new("reco", &[subjects::PLAY]),
        1,
    )
    .await?;
    assert_eq!(handler.calls().get("twice"), Some(&vec![1, 2]));
    assert_eq!(handler.effects(), ["twice"]);
    Ok(())
}

/// The process-wide Prometheus recorder (metrics has one global recorder per process).
fn prometheus() -> &'static metrics_exporter_prometheus::PrometheusHandle {
    static HANDLE: OnceLock<metrics_exporter_prometheus::PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Only this module installs one, once; its labels ("metered") are used by no other test
        // in the binary, so counts stay exact under `cargo test` too.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

#[tokio::test]
async fn the_relay_and_the_consumer_export_their_metrics() -> anyhow::Result<()> {
    let metrics = prometheus();
    let (dir, bus) = embedded(Duration::from_secs(120)).await?;
    let db = tokio_rusqlite::Connection::open(dir.path().join("service.sqlite3")).await?;
    db.call(|conn| conn.execute_batch(MIGRATION)).await?;
    let event = play("measured");
    db.call(move |conn| {
        let tx = conn.transaction()?;
        append(&tx, &event)?;
        tx.commit()
    })
    .await?;
    let relay = OutboxRelay::new(
        Arc::new(SqliteOutbox::new("metered", db.clone())),
        bus.clone(),
        RelaySettings::default(),
        OutboxWaker::new(),
    );
    let stop_relay = CancellationToken::new();
    let relay = tokio::spawn(relay.run(stop_relay.clone()));

    let handler = Scripted::default();
    consume_all(
        bus,
        &handler,
        ConsumerSpec::new("metered", &[subjects::PLAY]),
        1,
    )
    .await?;
    stop_relay.cancel();
    relay.await?;

    let text = metrics.render();
    for expected in [
        "tunemesh_outbox_published_total{outbox=\"metered\"} 1",
        "tunemesh_outbox_pending_age_seconds{outbox=\"metered\"}",
        "tunemesh_consumer_events_total{consumer=\"metered\",outcome=\"acked\"} 1",
        "tunemesh_consumer_lag{consumer=\"metered\"} 0",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    Ok(())
}
