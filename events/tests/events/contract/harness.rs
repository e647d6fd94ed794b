//! One bus per test, isolated: a JetStream stream under a unique prefix, or a fresh SQLite file.

use std::sync::Arc;
use std::time::Duration;

use tunemesh_events::embedded::{EmbeddedBus, EmbeddedSettings};
use tunemesh_events::jetstream::{JetStreamBus, JetStreamSettings};
use tunemesh_events::nats::{NatsSettings, connect};
use tunemesh_events::{BusError, Delivery, EventBus, Subscription};
use tunemesh_testkit::{delete_nats_streams, init_tracing, servers, unique_prefix};

/// A bus under test and what to clean up after it.
pub struct Fixture {
    pub bus: Arc<dyn EventBus>,
    cleanup: Cleanup,
}

enum Cleanup {
    Streams(NatsSettings),
    Dir(#[allow(dead_code)] tempfile::TempDir),
}

impl Fixture {
    /// A JetStream bus on the shared server, on a stream of its own.
    pub async fn jetstream() -> anyhow::Result<Self> {
        init_tracing();
        let nats = NatsSettings {
            url: servers().nats_url.clone(),
            stream_prefix: unique_prefix("contract"),
            ..NatsSettings::default()
        };
        let bus = JetStreamBus::connect(&nats, &JetStreamSettings::default()).await?;
        Ok(Self {
            bus: Arc::new(bus),
            cleanup: Cleanup::Streams(nats),
        })
    }

    /// An embedded bus in a fresh temporary directory.
    pub async fn embedded() -> anyhow::Result<Self> {
        init_tracing();
        let dir = tempfile::tempdir()?;
        let settings = EmbeddedSettings::new(dir.path().join("events.sqlite3"));
        let bus = EmbeddedBus::open(&settings).await?;
        Ok(Self {
            bus: Arc::new(bus),
            cleanup: Cleanup::Dir(dir),
        })
    }

    /// Deletes the test's stream (the temporary directory goes with the value).
    pub async fn cleanup(self) -> anyhow::Result<()> {
        if let Cleanup::Streams(nats) = &self.cleanup {
            let (_client, js) = connect(nats).await?;
            delete_nats_streams(&js, &nats.stream_prefix).await?;
        }
        Ok(())
    }
}

/// The next delivery, or `None` when nothing arrives within `quiet`.
pub async fn next_within(
    subscription: &mut Subscription,
    quiet: Duration,
) -> anyhow::Result<Option<Delivery>> {
    match tokio::time::timeout(quiet, subscription.next()).await {
        Err(_) => Ok(None),
        Ok(Ok(delivery)) => Ok(Some(delivery)),
        Ok(Err(error)) => Err(error.into()),
    }
}

/// The next delivery, failing the test if none arrives within 10 s.
pub async fn next(subscription: &mut Subscription) -> anyhow::Result<Delivery> {
    next_within(subscription, Duration::from_secs(10))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no delivery within 10 s"))
}

/// True when the error is the bus refusing a spec.
pub fn is_invalid_spec(error: &BusError) -> bool {
    matches!(error, BusError::InvalidSpec(_))
}
