//! The consumer loop every service runs: handle each delivery, then ack it, retry it later
//! or terminate it, as the handler's error kind says.
//!
//! Delivery is at least once, so handlers deduplicate by event id (see [`crate::dedup`]).
//! A handler that panics is treated like a permanent failure: the event is terminated
//! instead of crashing the consumer or being redelivered forever.
//!
//! A [`BatchHandler`] gets the deliveries that are ready at once (up to
//! [`RunSettings::max_batch`], never waiting for more than the first), so it can apply them
//! in one round trip to its store; every [`Handler`] is a batch handler that takes them one
//! after another. Each event of a batch is still settled by its own result.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::FutureExt as _;
use futures::future::join_all;
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

/// Handles the deliveries that are ready together: one result per envelope, in order.
/// Implement it where events can be applied in one round trip; any [`Handler`] is one.
#[async_trait]
pub trait BatchHandler: Send + Sync {
    /// Processes `envelopes` (in delivery order, at least one); each result settles its event.
    async fn handle_batch(&self, envelopes: &[&Envelope]) -> Vec<Result<(), HandlerError>>;
}

/// A [`Handler`] handles a batch one event after another, a panic costing only its event.
#[async_trait]
impl<H: Handler + ?Sized> BatchHandler for H {
    async fn handle_batch(&self, envelopes: &[&Envelope]) -> Vec<Result<(), HandlerError>> {
        let mut results = Vec::with_capacity(envelopes.len());
        for envelope in envelopes {
            results.push(unwound(self.handle(envelope)).await);
        }
        results
    }
}

/// Runs `handling`, a panic becoming a permanent failure.
async fn unwound<F>(handling: F) -> Result<(), HandlerError>
where
    F: Future<Output = Result<(), HandlerError>>,
{
    AssertUnwindSafe(handling)
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Err(panicked()))
}

/// What a handler that panicked (or answered for the wrong number of events) gets.
fn panicked() -> HandlerError {
    HandlerError::Permanent(anyhow::anyhow!("handler panicked"))
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
    /// Most deliveries handed to the handler at once (1: one at a time). Only deliveries
    /// already received are added to a batch; the loop never waits to fill one.
    pub max_batch: usize,
}

impl Default for RunSettings {
    fn default() -> Self {
        Self {
            min_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
            lag_from: None,
            lag_interval: Duration::from_secs(5),
            max_batch: 1,
        }
    }
}

/// Pulls from `subscription` and settles every delivery until `shutdown` is cancelled or the
/// subscription closes. Bus errors while pulling are logged and retried with backoff.
pub async fn run_consumer<H: BatchHandler + ?Sized>(
    mut subscription: Subscription,
    handler: &H,
    settings: RunSettings,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    let consumer = subscription.name().to_owned();
    let max_deliver = subscription.max_deliver();
    let max_batch = settings.max_batch.max(1);
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
                let (batch, closed) = ready_with(delivery, &mut subscription, max_batch, &consumer);
                let run = Run {
                    settings: &settings,
                    consumer: &consumer,
                    max_deliver,
                };
                run.process(batch, handler).await;
                if closed {
                    return Err(BusError::Closed);
                }
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

/// `first` and the deliveries already received after it, up to `max` in all (`next` is
/// cancel-safe, so asking without waiting loses nothing), and whether the subscription closed.
fn ready_with(
    first: Delivery,
    subscription: &mut Subscription,
    max: usize,
    consumer: &str,
) -> (Vec<Delivery>, bool) {
    let mut batch = vec![first];
    while batch.len() < max {
        match subscription.next().now_or_never() {
            Some(Ok(delivery)) => batch.push(delivery),
            Some(Err(BusError::Closed)) => return (batch, true),
            Some(Err(error)) => {
                // Pulled again (with backoff) by the loop once this batch is settled.
                tracing::debug!(%consumer, error = %error_chain(&error), "pulling more events failed");
                break;
            }
            None => break,
        }
    }
    (batch, false)
}

/// What settling a delivery needs to know about its consumer.
struct Run<'a> {
    settings: &'a RunSettings,
    consumer: &'a str,
    max_deliver: u32,
}

impl Run<'_> {
    /// Runs the handler on `batch` and settles every delivery by its own outcome, all at once.
    async fn process<H: BatchHandler + ?Sized>(&self, batch: Vec<Delivery>, handler: &H) {
        let envelopes: Vec<&Envelope> = batch.iter().map(Delivery::envelope).collect();
        let outcomes = match AssertUnwindSafe(handler.handle_batch(&envelopes))
            .catch_unwind()
            .await
        {
            Ok(outcomes) if outcomes.len() == envelopes.len() => outcomes,
            // A batch that panicked (or answered for the wrong number of events) is handled
            // again one event at a time, so only the event that panics is terminated.
            _ if envelopes.len() > 1 => {
                let mut outcomes = Vec::with_capacity(envelopes.len());
                for envelope in &envelopes {
                    outcomes.push(self.alone(handler, envelope).await);
                }
                outcomes
            }
            _ => vec![Err(panicked())],
        };
        join_all(
            batch
                .into_iter()
                .zip(outcomes)
                .map(|(delivery, outcome)| self.settle(delivery, outcome)),
        )
        .await;
    }

    /// One event handled as a batch of its own.
    async fn alone<H: BatchHandler + ?Sized>(
        &self,
        handler: &H,
        envelope: &Envelope,
    ) -> Result<(), HandlerError> {
        unwound(async {
            let mut outcomes = handler.handle_batch(&[envelope]).await;
            outcomes.pop().unwrap_or_else(|| Err(panicked()))
        })
        .await
    }

    /// Acks, retries later or terminates `delivery` as `outcome` says.
    async fn settle(&self, delivery: Delivery, outcome: Result<(), HandlerError>) {
        let (consumer, settings) = (self.consumer, self.settings);
        let (id, attempt) = (delivery.envelope().id.clone(), delivery.attempt());
        let settled = match outcome {
            Ok(()) => {
                count(consumer, "acked");
                delivery.ack().await
            }
            // The bus would drop it silently after this attempt: terminate it visibly instead.
            Err(HandlerError::Transient(error)) if attempt >= self.max_deliver => {
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
