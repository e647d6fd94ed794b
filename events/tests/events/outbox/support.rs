//! Buses that misbehave on purpose, relays with test pacing, and readers of what arrived.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tunemesh_events::jetstream::{JetStreamBus, JetStreamSettings};
use tunemesh_events::nats::{NatsSettings, connect};
use tunemesh_events::outbox::{OutboxRelay, OutboxSource, OutboxWaker, RelaySettings};
use tunemesh_events::{
    BusError, ConsumerSpec, ConsumerState, Envelope, EventBus, Published, Subscription,
};
use tunemesh_proto::events::v1::{EventMeta, PlayEvent};
use tunemesh_testkit::{delete_nats_streams, servers, unique_prefix};

/// Proves "nothing more comes".
pub const QUIET: Duration = Duration::from_millis(1000);

/// A relay that only publishes when poked or after a short poll, with a short lease so a
/// killed relay's rows come back quickly.
pub fn relay_settings() -> RelaySettings {
    RelaySettings {
        batch_size: 7,
        poll_interval: Duration::from_millis(200),
        lease: Duration::from_millis(300),
        min_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
    }
}

/// Starts a relay task; cancel the token to stop it.
pub fn spawn_relay(
    source: Arc<dyn OutboxSource>,
    bus: Arc<dyn EventBus>,
    settings: RelaySettings,
    waker: &OutboxWaker,
) -> (tokio::task::JoinHandle<()>, CancellationToken) {
    let shutdown = CancellationToken::new();
    let relay = OutboxRelay::new(source, bus, settings, waker.clone());
    (tokio::spawn(relay.run(shutdown.clone())), shutdown)
}

/// A play event with its own id, as a producer would build it.
pub fn play(track: &str) -> anyhow::Result<Envelope> {
    let event = PlayEvent {
        meta: Some(EventMeta {
            event_id: tunemesh_events::new_event_id(),
            producer: "player-svc".to_owned(),
            ..EventMeta::default()
        }),
        track_id: track.to_owned(),
        ..PlayEvent::default()
    };
    Ok(Envelope::from_event(&event)?)
}

/// A JetStream bus on a stream of its own; call [`drop_streams`] at the end.
pub async fn jetstream() -> anyhow::Result<(Arc<JetStreamBus>, NatsSettings)> {
    let nats = NatsSettings {
        url: servers().nats_url.clone(),
        stream_prefix: unique_prefix("outbox"),
        ..NatsSettings::default()
    };
    let bus = JetStreamBus::connect(&nats, &JetStreamSettings::default()).await?;
    Ok((Arc::new(bus), nats))
}

/// Deletes the test's streams.
pub async fn drop_streams(nats: &NatsSettings) -> anyhow::Result<()> {
    let (_client, js) = connect(nats).await?;
    delete_nats_streams(&js, &nats.stream_prefix).await?;
    Ok(())
}

/// Reads, acks and returns `(track, id)` of every delivery until nothing comes for [`QUIET`].
pub async fn drain(subscription: &mut Subscription) -> anyhow::Result<Vec<(String, String)>> {
    let mut seen = Vec::new();
    while let Ok(delivery) = tokio::time::timeout(QUIET, subscription.next()).await {
        let delivery = delivery?;
        let track = delivery.envelope().decode::<PlayEvent>()?.track_id;
        seen.push((track, delivery.envelope().id.clone()));
        delivery.ack().await?;
    }
    Ok(seen)
}

/// A consumer of play events from the beginning.
pub fn plays(name: &str) -> ConsumerSpec {
    ConsumerSpec {
        ack_wait: Duration::from_millis(500),
        ..ConsumerSpec::new(name, &[tunemesh_proto::subjects::PLAY])
    }
}

/// Wraps a bus and misbehaves as told, recording every publish answer.
#[derive(Debug)]
pub struct TestBus {
    inner: Arc<dyn EventBus>,
    /// Publishes to refuse before passing them on (the bus is "down").
    refuse: Mutex<u32>,
    /// When set, the first publish reaches the bus and then never returns (the relay is
    /// killed before it can mark the row); `stalled` is notified at that point.
    stall: Mutex<bool>,
    pub stalled: Notify,
    pub published: Mutex<Vec<(String, bool)>>,
}

impl TestBus {
    pub fn new(inner: Arc<dyn EventBus>) -> Self {
        Self {
            inner,
            refuse: Mutex::new(0),
            stall: Mutex::new(false),
            stalled: Notify::new(),
            published: Mutex::new(Vec::new()),
        }
    }

    pub fn refusing(self, count: u32) -> Self {
        *lock(&self.refuse) = count;
        self
    }

    pub fn stalling_after_first_publish(self) -> Self {
        *lock(&self.stall) = true;
        self
    }

    /// `(event id, duplicate)` of every publish the bus acknowledged, in order.
    pub fn acknowledged(&self) -> Vec<(String, bool)> {
        lock(&self.published).clone()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[async_trait]
impl EventBus for TestBus {
    async fn publish(&self, envelope: &Envelope) -> Result<Published, BusError> {
        let refused = {
            let mut refuse = lock(&self.refuse);
            let refused = *refuse > 0;
            *refuse = refuse.saturating_sub(1);
            refused
        };
        if refused {
            return Err(BusError::Publish {
                id: envelope.id.clone(),
                source: "bus is down (test)".into(),
            });
        }
        let published = self.inner.publish(envelope).await?;
        lock(&self.published).push((envelope.id.clone(), published.duplicate));
        let stall = std::mem::take(&mut *lock(&self.stall));
        if stall {
            self.stalled.notify_one();
            std::future::pending::<()>().await;
        }
        Ok(published)
    }

    async fn subscribe(&self, spec: ConsumerSpec) -> Result<Subscription, BusError> {
        self.inner.subscribe(spec).await
    }

    async fn consumer_state(&self, name: &str) -> Result<ConsumerState, BusError> {
        self.inner.consumer_state(name).await
    }
}
