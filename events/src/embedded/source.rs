//! Deliveries from an embedded durable consumer, and how they are settled.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{Shared, millis, now_ms, store};
use crate::bus::{BusError, ConsumerSpec, Delivery, DeliverySource, Outcome, Settle};

/// A claim running on the database thread, kept across calls to `next`.
type PendingClaim = Pin<Box<dyn Future<Output = Result<store::Claim, BusError>> + Send>>;

/// Claims events for one consumer in batches and hands them out one by one. The local buffer
/// holds at most one batch, and the store never lets more than `max_in_flight` be unsettled.
///
/// `next` is cancel-safe: a claim in progress when the caller drops the future (e.g. in a
/// `select!`) is kept and finished by the next call, so claimed events are never lost to a
/// redelivery after the ack wait.
pub(super) struct EmbeddedSource {
    shared: Arc<Shared>,
    spec: ConsumerSpec,
    buffer: VecDeque<Delivery>,
    claim: Option<PendingClaim>,
}

impl std::fmt::Debug for EmbeddedSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedSource")
            .field("consumer", &self.spec.name)
            .field("buffered", &self.buffer.len())
            .finish_non_exhaustive()
    }
}

impl EmbeddedSource {
    pub(super) fn new(shared: Arc<Shared>, spec: ConsumerSpec) -> Self {
        Self {
            shared,
            spec,
            buffer: VecDeque::new(),
            claim: None,
        }
    }

    /// Starts a claim of the next batch on the database thread.
    fn start_claim(&self) -> PendingClaim {
        let shared = Arc::clone(&self.shared);
        let spec = self.spec.clone();
        Box::pin(async move {
            let consumer = spec.name.clone();
            let now = now_ms();
            shared
                .db
                .call(move |conn| store::relaxed(conn, |c| store::claim(c, &spec, now)))
                .await
                .map_err(|e| BusError::Consumer {
                    consumer,
                    source: Box::new(e),
                })
        })
    }

    /// Buffers the claimed events as deliveries; returns when to look again.
    fn buffer_claim(&mut self, claim: store::Claim) -> Option<i64> {
        for claimed in claim.events {
            let settle = EmbeddedSettle {
                shared: Arc::clone(&self.shared),
                consumer: self.spec.name.clone(),
                seq: claimed.seq,
            };
            let delivery = Delivery::new(claimed.envelope, claimed.attempt, Box::new(settle));
            self.buffer.push_back(delivery);
        }
        claim.next_due_ms
    }
}

#[async_trait]
impl DeliverySource for EmbeddedSource {
    async fn next(&mut self) -> Result<Delivery, BusError> {
        loop {
            if let Some(delivery) = self.buffer.pop_front() {
                return Ok(delivery);
            }
            // Registered before the claim starts, so a publish racing with it still wakes us.
            // A claim left by a cancelled call started before this registration: its empty
            // answer proves nothing, so it is followed by a fresh claim instead of a wait.
            let shared = Arc::clone(&self.shared);
            let woken = shared.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let inherited = self.claim.is_some();
            let claim = match self.claim.as_mut() {
                Some(claim) => claim,
                None => self.claim.insert(self.start_claim()),
            };
            let result = claim.await;
            self.claim = None;
            let next_due = self.buffer_claim(result?);
            if !self.buffer.is_empty() || inherited {
                continue;
            }
            match next_due {
                Some(due) => {
                    let wait = Duration::from_millis(u64::try_from(due - now_ms()).unwrap_or(0));
                    tokio::select! {
                        () = &mut woken => {}
                        () = tokio::time::sleep(wait) => {}
                    }
                }
                None => woken.await,
            }
        }
    }
}

/// Settles one claimed event in the store, then wakes subscribers (a slot or a due changed).
struct EmbeddedSettle {
    shared: Arc<Shared>,
    consumer: String,
    seq: i64,
}

impl std::fmt::Debug for EmbeddedSettle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedSettle")
            .field("consumer", &self.consumer)
            .field("seq", &self.seq)
            .finish()
    }
}

#[async_trait]
impl Settle for EmbeddedSettle {
    async fn settle(self: Box<Self>, outcome: Outcome) -> Result<(), BusError> {
        let due = match outcome {
            Outcome::Ack | Outcome::Term => None,
            Outcome::Nak(delay) => Some(now_ms().saturating_add(millis(delay))),
        };
        self.shared
            .settles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((self.consumer.clone(), self.seq, due));
        // Runs after this settlement was queued: it is applied by this call or by one queued
        // before it that found it waiting. A failed group is redelivered (at least once).
        let shared = Arc::clone(&self.shared);
        self.shared
            .db
            .call(move |conn| {
                let queued = std::mem::take(
                    &mut *shared
                        .settles
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner),
                );
                if queued.is_empty() {
                    return Ok(());
                }
                store::relaxed(conn, |c| store::settle_all(c, &queued))
            })
            .await
            .map_err(|e| BusError::Consumer {
                consumer: self.consumer.clone(),
                source: Box::new(e),
            })?;
        self.shared.wake.notify_waiters();
        Ok(())
    }
}
