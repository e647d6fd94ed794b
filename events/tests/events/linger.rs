//! `RunSettings::linger`: a batch waits from its first delivery for more to arrive, up to
//! `max_batch`, and is handled when the linger runs out however few it holds.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;
use tunemesh_events::consumer::{BatchHandler, HandlerError, RunSettings, run_consumer};
use tunemesh_events::embedded::{EmbeddedBus, EmbeddedSettings};
use tunemesh_events::{ConsumerSpec, Envelope, EventBus as _};
use tunemesh_proto::events::v1::PlayEvent;
use tunemesh_proto::subjects;
use tunemesh_testkit::{assert_eventually, init_tracing};

/// Records the size of every batch it is handed.
#[derive(Default)]
struct Sizes(Mutex<Vec<usize>>);

impl Sizes {
    fn seen(&self) -> Vec<usize> {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl BatchHandler for Sizes {
    async fn handle_batch(&self, envelopes: &[&Envelope]) -> Vec<Result<(), HandlerError>> {
        if let Ok(mut sizes) = self.0.lock() {
            sizes.push(envelopes.len());
        }
        envelopes.iter().map(|_| Ok(())).collect()
    }
}

fn play(track: &str) -> Envelope {
    let event = PlayEvent {
        track_id: track.to_owned(),
        ..PlayEvent::default()
    };
    Envelope::new(subjects::PLAY, &event)
}

#[tokio::test]
async fn a_batch_waits_for_events_arriving_one_by_one_and_not_past_its_linger() -> anyhow::Result<()>
{
    init_tracing();
    let dir = tempfile::tempdir()?;
    let bus = Arc::new(
        EmbeddedBus::open(&EmbeddedSettings::new(dir.path().join("events.sqlite3"))).await?,
    );
    let subscription = bus
        .subscribe(ConsumerSpec::new("linger", &[subjects::PLAY]))
        .await?;
    let handler = Arc::new(Sizes::default());
    let stop = CancellationToken::new();
    let settings = RunSettings {
        max_batch: 3,
        // Long against the gaps below, so a slow machine still gathers all three.
        linger: Duration::from_secs(2),
        ..RunSettings::default()
    };
    let run = tokio::spawn({
        let (handler, stop) = (handler.clone(), stop.clone());
        async move { run_consumer(subscription, &*handler, settings, stop).await }
    });

    // A lone event is handled alone once the linger runs out.
    bus.publish(&play("alone")).await?;
    assert_eventually!(handler.seen() == [1], "a lone event was never handled");

    // Events published apart, each within the linger of the first, make one batch: it is
    // handled as soon as it is full, not at the end of the linger.
    for track in ["a", "b", "c"] {
        bus.publish(&play(track)).await?;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eventually!(handler.seen().len() == 2, "the three were never handled");
    assert_eq!(handler.seen(), [1, 3]);

    stop.cancel();
    run.await??;
    Ok(())
}
