//! The outbox relay: publishes an outbox's events on the bus, in order, at least once.
//!
//! Its only state is the outbox table, so a restarted relay simply carries on. It wakes when
//! a writer pokes its [`OutboxWaker`], falls back to a poll interval (for writers in other
//! processes), and backs off with jitter while the bus or the database is down.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use super::{OutboxError, OutboxRecord, OutboxSource, OutboxWaker};
use crate::bus::{BusError, EventBus};
use crate::envelope::Envelope;
use crate::retry::{backoff, error_chain};

/// How a relay paces itself.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// Events claimed and published per round.
    pub batch_size: usize,
    /// Longest wait between rounds when nobody pokes the waker.
    pub poll_interval: Duration,
    /// How long a claim protects rows from other relays; a relay that dies holding a claim
    /// delays its rows by this much.
    pub lease: Duration,
    /// First retry delay after a failure; doubles up to `max_backoff`, with jitter.
    pub min_backoff: Duration,
    /// Longest retry delay.
    pub max_backoff: Duration,
}

impl Default for RelaySettings {
    fn default() -> Self {
        Self {
            batch_size: 100,
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(30),
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
        }
    }
}

/// Why a round failed; the relay logs it and retries.
#[derive(Debug, thiserror::Error)]
enum RelayError {
    #[error("outbox failed")]
    Outbox(#[from] OutboxError),
    #[error("bus refused the event")]
    Bus(#[from] BusError),
}

/// Publishes one outbox on one bus until shut down.
#[derive(Debug)]
pub struct OutboxRelay {
    source: Arc<dyn OutboxSource>,
    bus: Arc<dyn EventBus>,
    settings: RelaySettings,
    waker: OutboxWaker,
    /// This relay's claim owner id, unique per instance.
    id: String,
}

impl OutboxRelay {
    /// A relay for `source` onto `bus`, woken by `waker`: the one the service made before
    /// its stores and handed to whoever wakes the relay (the rule is on [`OutboxWaker`]).
    pub fn new(
        source: Arc<dyn OutboxSource>,
        bus: Arc<dyn EventBus>,
        settings: RelaySettings,
        waker: OutboxWaker,
    ) -> Self {
        Self {
            source,
            bus,
            settings,
            waker,
            id: uuid::Uuid::now_v7().to_string(),
        }
    }

    /// Relays until `shutdown` is cancelled, then gives up its claims. A round in progress at
    /// shutdown is abandoned; what it published but did not mark is published again later.
    pub async fn run(self, shutdown: CancellationToken) {
        let outbox = self.source.name().to_owned();
        tracing::info!(%outbox, relay = %self.id, "outbox relay started");
        let mut failures = 0_u32;
        loop {
            let round = tokio::select! {
                () = shutdown.cancelled() => break,
                round = self.round() => round,
            };
            let pause = match round {
                Ok(count) if count == self.settings.batch_size => {
                    failures = 0;
                    continue; // a full batch: there is probably more
                }
                Ok(_) => {
                    failures = 0;
                    None
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    metrics::counter!("tunemesh_outbox_failures_total", "outbox" => outbox.clone())
                        .increment(1);
                    tracing::warn!(%outbox, failures, error = %error_chain(&error), "outbox relay round failed");
                    Some(self.backoff(failures))
                }
            };
            if !self.wait(pause, &shutdown).await {
                break;
            }
        }
        if let Err(error) = self.source.release(&self.id).await {
            tracing::warn!(%outbox, error = %error_chain(&error), "could not release outbox claims");
        }
        tracing::info!(%outbox, relay = %self.id, "outbox relay stopped");
    }

    /// Waits for a poke or the poll interval, or for `backoff` after a failure; false on
    /// shutdown.
    async fn wait(&self, backoff: Option<Duration>, shutdown: &CancellationToken) -> bool {
        match backoff {
            Some(delay) => tokio::select! {
                () = shutdown.cancelled() => false,
                () = tokio::time::sleep(delay) => true,
            },
            None => tokio::select! {
                () = shutdown.cancelled() => false,
                () = self.waker.woken() => true,
                () = tokio::time::sleep(self.settings.poll_interval) => true,
            },
        }
    }

    /// Claims a batch, publishes it in order and deletes what the bus acknowledged; stops at
    /// the first refusal so nothing overtakes it. Returns how many were published.
    async fn round(&self) -> Result<usize, RelayError> {
        let records = self
            .source
            .claim(&self.id, self.settings.batch_size, self.settings.lease)
            .await?;
        self.record_pending_age(&records);
        let outbox = self.source.name().to_owned();
        let mut done = Vec::with_capacity(records.len());
        let mut rejected = 0_u64;
        let mut refused = None;
        let envelopes: Vec<Envelope> = records.iter().map(|r| r.envelope.clone()).collect();
        let answers = self.bus.publish_batch(&envelopes).await;
        for (record, answer) in records.iter().zip(answers) {
            match answer {
                Ok(_) => done.push(record.seq),
                // Written around `append` (which validates): retrying cannot help, and
                // keeping it would block every later event. Drop it, loudly.
                Err(error @ BusError::InvalidEnvelope { .. }) => {
                    tracing::error!(%outbox, seq = record.seq, error = %error_chain(&error), "unpublishable outbox row dropped");
                    metrics::counter!("tunemesh_outbox_rejected_total", "outbox" => outbox.clone())
                        .increment(1);
                    done.push(record.seq);
                    rejected += 1;
                }
                Err(error) => {
                    refused = Some(error);
                    break;
                }
            }
        }
        self.source.mark_published(&done).await?;
        metrics::counter!("tunemesh_outbox_published_total", "outbox" => outbox)
            .increment(done.len() as u64 - rejected);
        match refused {
            Some(error) => Err(error.into()),
            None => Ok(records.len()),
        }
    }

    /// Age of the oldest pending event (0 when the outbox is empty).
    fn record_pending_age(&self, records: &[OutboxRecord]) {
        let age = records.first().map_or(0.0, |oldest| {
            SystemTime::now()
                .duration_since(oldest.created_at)
                .unwrap_or_default()
                .as_secs_f64()
        });
        let outbox = self.source.name().to_owned();
        metrics::gauge!("tunemesh_outbox_pending_age_seconds", "outbox" => outbox).set(age);
    }

    /// Exponential backoff with "equal jitter": half fixed, half random, so relays that
    /// failed together do not retry together.
    fn backoff(&self, failures: u32) -> Duration {
        backoff(
            self.settings.min_backoff,
            self.settings.max_backoff,
            failures,
        )
    }
}
