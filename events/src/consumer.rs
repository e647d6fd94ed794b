//! The consumer loop every service runs: handle each delivery, then ack it, retry it later
//! or terminate it, as the handler's error kind says.
//!
//! Delivery is at least once, so handlers deduplicate by event id (see [`crate::dedup`]).
//! A handler that panics is treated like a permanent failure: the event is terminated
//! instead of crashing the consumer or being redelivered forever.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::FutureExt as _;
use tokio_util::sync::CancellationToken;

use crate::bus::{BusError, Delivery, EventBus, Subscription};
use crate::envelope::{Envelope, EnvelopeError};
use crate::retry::{backoff, error_chain};

/// What went wrong in a handler, which decides what happens to the event.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Might work later (database down, timeout): the event is NAK'd with backoff.
    #[error("transient failure")]
    Transient(#[source] anyhow::Error),
    /// Will never work (malformed payload, unknown reference): the event is terminated.
    #[error("permanent failure")]
    Permanent(#[source] anyhow::Error),
}

impl From<EnvelopeError> for HandlerError {
    /// A payload that does not decode will never decode: permanent.
    fn from(error: EnvelopeError) -> Self {
        Self::Permanent(error.into())
    }
}

/// Handles one event. Must be idempotent per event id (or deduplicate).
#[async_trait]
pub trait Handler: Send + Sync {
    /// Processes the event; the error kind decides between retry and termination.
    async fn handle(&self, envelope: &Envelope) -> Result<(), HandlerError>;
}

/// How [`run_consumer`] retries and reports.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// Delay of the first retry after a transient failure; doubles per attempt, with jitter.
    pub min_backoff: Duration,
    /// Longest retry delay.
    pub max_backoff: Duration,
    /// Where the consumer's lag is read from for the `tunemesh_consumer_lag` gauge; `None`
    /// exports no lag.
    pub lag_from: Option<Arc<dyn EventBus>>,
    /// How often the lag is read.
    pub lag_interval: Duration,
}

impl Default for RunSettings {
    fn default() -> Self {
        Self {
            min_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
            lag_from: None,
            lag_interval: Duration::from_secs(5),
        }
    }
}

/// Pulls from `subscription` and settles every delivery until `shutdown` is cancelled or the
/// subscription closes. Bus errors while pulling are logged and retried with backoff.
pub async fn run_consumer<H: Handler + ?Sized>(
    mut subscription: Subscription,
    handler: &H,
    settings: RunSettings,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    let consumer = subscription.name().to_owned();
    let max_deliver = subscription.max_deliver();
    let mut lag_tick = tokio::time::interval(settings.lag_interval);
    let mut failures = 0_u32;
    loop {
        let delivery = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            _ = lag_tick.tick() => {
                export_lag(&settings, &consumer).await;
                continue;
            }
            delivery = subscription.next() => delivery,
        };
        match delivery {
            Ok(delivery) => {
                failures = 0;
                process(delivery, handler, &settings, &consumer, max_deliver).await;
            }
            Err(BusError::Closed) => return Err(BusError::Closed),
            Err(error) => {
                failures = failures.saturating_add(1);
                tracing::warn!(%consumer, error = %error_chain(&error), "pulling events failed");
                let delay = backoff(settings.min_backoff, settings.max_backoff, failures);
                tokio::select! {
                    () = shutdown.cancelled() => return Ok(()),
                    () = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}

/// Runs the handler on one delivery and settles it by the outcome.
async fn process<H: Handler + ?Sized>(
    delivery: Delivery,
    handler: &H,
    settings: &RunSettings,
    consumer: &str,
    max_deliver: u32,
) {
    let (id, attempt) = (delivery.envelope().id.clone(), delivery.attempt());
    let outcome = AssertUnwindSafe(handler.handle(delivery.envelope()))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Err(HandlerError::Permanent(anyhow::anyhow!("handler panicked"))));
    let settled = match outcome {
        Ok(()) => {
            count(consumer, "acked");
            delivery.ack().await
        }
        // The bus would drop it silently after this attempt: terminate it visibly instead.
        Err(HandlerError::Transient(error)) if attempt >= max_deliver => {
            count(consumer, "exhausted");
            tracing::error!(%consumer, event_id = %id, attempt, error = format!("{error:#}"), "event dropped after its last attempt");
            delivery.term().await
        }
        Err(HandlerError::Transient(error)) => {
            count(consumer, "retried");
            tracing::warn!(%consumer, event_id = %id, attempt, error = format!("{error:#}"), "event will be retried");
            let delay = backoff(settings.min_backoff, settings.max_backoff, attempt);
            delivery.nak(delay).await
        }
        Err(HandlerError::Permanent(error)) => {
            count(consumer, "terminated");
            tracing::error!(%consumer, event_id = %id, attempt, error = format!("{error:#}"), "event terminated");
            delivery.term().await
        }
    };
    if let Err(error) = settled {
        // The bus redelivers after the ack wait; the handler must be idempotent anyway.
        tracing::warn!(%consumer, event_id = %id, error = %error_chain(&error), "could not settle event");
    }
}

fn count(consumer: &str, outcome: &'static str) {
    metrics::counter!("tunemesh_consumer_events_total", "consumer" => consumer.to_owned(), "outcome" => outcome)
        .increment(1);
}

/// Sets `tunemesh_consumer_lag` (events not yet delivered) and `tunemesh_consumer_in_flight`.
async fn export_lag(settings: &RunSettings, consumer: &str) {
    let Some(bus) = &settings.lag_from else {
        return;
    };
    match bus.consumer_state(consumer).await {
        Ok(state) => {
            let labels = [("consumer", consumer.to_owned())];
            // a gauge; precision past 2^53 is moot
            {
                metrics::gauge!("tunemesh_consumer_lag", &labels).set(state.pending as f64);
                metrics::gauge!("tunemesh_consumer_in_flight", &labels).set(state.in_flight as f64);
            }
        }
        Err(error) => {
            tracing::debug!(%consumer, error = %error_chain(&error), "could not read consumer lag");
        }
    }
}
