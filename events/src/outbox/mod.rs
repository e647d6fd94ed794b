//! The transactional outbox: services write events in the same transaction as their state
//! change, and a relay publishes them afterwards, at least once and in order.
//!
//! Each store exports its table DDL (for the service's own migrations), an `append` that takes
//! the caller's transaction, and an [`OutboxSource`] the [`OutboxRelay`] reads. Rows are
//! *claimed* by a relay for a short lease before publishing and deleted once the bus acked
//! them, so a relay killed between the two leaves the row to be published again after the
//! lease: a duplicate, which the bus and consumers drop by event id.

pub mod postgres;
mod relay;
pub mod sqlite;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tokio::sync::Notify;

use crate::bus::BoxError;
use crate::envelope::Envelope;

pub use relay::{OutboxRelay, RelaySettings};

/// One event waiting in an outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRecord {
    /// Position in the outbox: publishing follows it.
    pub seq: i64,
    /// The event.
    pub envelope: Envelope,
    /// When the row was written (for the pending-age metric).
    pub created_at: SystemTime,
}

/// Where a relay reads pending events from: one outbox table.
#[async_trait]
pub trait OutboxSource: Send + Sync + fmt::Debug {
    /// A short name for metrics and logs, e.g. `playlist`.
    fn name(&self) -> &str;

    /// Claims up to `limit` of the oldest pending events for `relay`, in order, for `lease`.
    /// Returns nothing while another relay holds a live claim, so order is kept across
    /// relays and no two of them publish the same rows (unless a lease runs out).
    async fn claim(
        &self,
        relay: &str,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<OutboxRecord>, OutboxError>;

    /// Removes published events from the outbox.
    async fn mark_published(&self, seqs: &[i64]) -> Result<(), OutboxError>;

    /// Gives up `relay`'s claims (on shutdown) so another relay need not wait for the lease.
    async fn release(&self, relay: &str) -> Result<(), OutboxError>;
}

/// Why an outbox store failed.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The database failed or is unreachable.
    #[error("outbox {outbox} store failed")]
    Store {
        /// The outbox name.
        outbox: String,
        /// Why.
        #[source]
        source: BoxError,
    },
}

/// A handle writers poke after committing an event, so the relay publishes within
/// milliseconds instead of at its next poll. Cheap to clone.
///
/// # Wiring
///
/// A service makes one waker first, since its stores and writers need it before the outbox
/// source exists; it hands clones to whoever wakes, then gives the same waker to
/// [`OutboxRelay::new`] and runs the relay as a task of its `App`.
///
/// # Who wakes the relay
///
/// The code that built the event, once the write carrying it has committed: a store that
/// builds its events inside its own write (playlist-svc) wakes after its commit; a caller
/// that hands the store a finished event (player-svc's ingest, play reports and session
/// sweeper) wakes after the store call returned `Ok`. Never before the commit: the relay
/// would find nothing and the event would wait for the poll. An extra wake costs one empty
/// claim; a missing one delays the event by up to `poll_interval`, which also covers writers
/// in other processes.
#[derive(Debug, Clone, Default)]
pub struct OutboxWaker {
    /// `notify_one` stores a permit when the relay is busy, so no poke is ever lost.
    notify: Arc<Notify>,
}

impl OutboxWaker {
    /// A new, unconnected handle; give it to an [`OutboxRelay`] and to the writers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Tells the relay there is something to publish. Call it after the commit.
    pub fn wake(&self) {
        self.notify.notify_one();
    }

    /// Waits for the next poke (for the relay).
    pub(crate) async fn woken(&self) {
        self.notify.notified().await;
    }
}
