//! An event bus that stalls forever on its first matching publish, after the real bus stored
//! the event: a relay "killed" between publishing and marking its outbox row, for the tests
//! that prove the retry and the consumer-side dedup make that event count once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use tokio::sync::Notify;
use tunemesh_events::{
    BusError, ConsumerSpec, ConsumerState, Envelope, EventBus, Published, Subscription,
};

/// Passes every call to `inner`; the first publish on `subject` (any subject when `None`)
/// reaches `inner` and then never returns.
#[derive(Debug)]
pub struct StallingBus {
    inner: Arc<dyn EventBus>,
    subject: Option<&'static str>,
    stalled: AtomicBool,
    reached: Notify,
}

impl StallingBus {
    /// Wraps `inner`, stalling on the first publish on `subject` (or on any, with `None`).
    pub fn new(inner: Arc<dyn EventBus>, subject: Option<&'static str>) -> Self {
        Self {
            inner,
            subject,
            stalled: AtomicBool::new(false),
            reached: Notify::new(),
        }
    }

    /// Resolves once the stalled publish has reached the real bus.
    pub async fn stalled(&self) {
        self.reached.notified().await;
    }
}

#[async_trait]
impl EventBus for StallingBus {
    async fn publish(&self, envelope: &Envelope) -> Result<Published, BusError> {
        let published = self.inner.publish(envelope).await?;
        let matches = self.subject.is_none_or(|s| envelope.subject == s);
        if matches && !self.stalled.swap(true, Ordering::SeqCst) {
            // notify_one keeps the permit if nobody waits yet.
            self.reached.notify_one();
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
