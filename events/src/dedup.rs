//! Processing each event id once although the bus delivers at least once.
//!
//! A consumer with a database records the id in the SAME transaction as the effect of the
//! event: [`PostgresProcessed`] or [`SqliteProcessed`] answer "first time?" and the
//! transaction's commit makes effect and record atomic. A stateless consumer (e.g. one that
//! only invalidates a cache) uses the bounded [`MemoryProcessed`].

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use rusqlite::params;

/// The PostgreSQL table of processed ids: a versioned `V<n>__processed_events.rs` step of the
/// consumer's migrations returning it, like the outbox's. One table serves
/// every consumer of the service; rows older than the stream's retention can be pruned.
pub const POSTGRES_MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS processed_events (
    consumer     TEXT        NOT NULL,
    event_id     TEXT        NOT NULL,
    processed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
";

/// The SQLite table of processed ids (times in milliseconds since the epoch).
pub const SQLITE_MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS processed_events (
    consumer        TEXT    NOT NULL,
    event_id        TEXT    NOT NULL,
    processed_at_ms INTEGER NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
";

/// Processed ids of one consumer in PostgreSQL ([`POSTGRES_MIGRATION`]).
#[derive(Debug, Clone)]
pub struct PostgresProcessed {
    consumer: String,
}

impl PostgresProcessed {
    /// The processed ids of the durable consumer `consumer`.
    pub fn new(consumer: impl Into<String>) -> Self {
        Self {
            consumer: consumer.into(),
        }
    }

    /// Records `event_id` in the caller's transaction; true the first time. On false, skip
    /// the effect (and still commit or roll back: either way the event is done).
    pub async fn first_time(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        event_id: &str,
    ) -> Result<bool, tokio_postgres::Error> {
        let inserted = tx
            .execute(
                "INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2)
                 ON CONFLICT DO NOTHING",
                &[&self.consumer, &event_id],
            )
            .await?;
        Ok(inserted == 1)
    }
}

/// Processed ids of one consumer in SQLite ([`SQLITE_MIGRATION`]); call it inside the
/// consumer's tokio-rusqlite call.
#[derive(Debug, Clone)]
pub struct SqliteProcessed {
    consumer: String,
}

impl SqliteProcessed {
    /// The processed ids of the durable consumer `consumer`.
    pub fn new(consumer: impl Into<String>) -> Self {
        Self {
            consumer: consumer.into(),
        }
    }

    /// Records `event_id` in the caller's transaction; true the first time.
    pub fn first_time(
        &self,
        tx: &rusqlite::Transaction<'_>,
        event_id: &str,
    ) -> rusqlite::Result<bool> {
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO processed_events (consumer, event_id, processed_at_ms)
             VALUES (?1, ?2, ?3)",
            params![self.consumer, event_id, crate::embedded::now_ms()],
        )?;
        Ok(inserted == 1)
    }
}

/// The last `capacity` processed ids in memory, for consumers without a database. Older ids
/// are forgotten first, so duplicates arriving long after the original are processed again:
/// size it above the number of events a redelivery can lag behind.
#[derive(Debug)]
pub struct MemoryProcessed {
    capacity: usize,
    /// The set and its insertion order change together; no await happens under the lock.
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    ids: HashSet<String>,
    order: VecDeque<String>,
}

impl MemoryProcessed {
    /// Remembers at most `capacity` ids (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            seen: Mutex::new(Seen::default()),
        }
    }

    /// Records `event_id`; true the first time (within the remembered window).
    pub fn first_time(&self, event_id: &str) -> bool {
        // A poisoned lock only means another thread panicked mid-update; the set is still
        // usable (at worst one id is missing from the order queue).
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !seen.ids.insert(event_id.to_owned()) {
            return false;
        }
        seen.order.push_back(event_id.to_owned());
        while seen.order.len() > self.capacity {
            if let Some(oldest) = seen.order.pop_front() {
                seen.ids.remove(&oldest);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_dedup_is_bounded_and_forgets_the_oldest() {
        let processed = MemoryProcessed::new(2);
        assert!(processed.first_time("a"));
        assert!(!processed.first_time("a"));
        assert!(processed.first_time("b"));
        assert!(processed.first_time("c")); // "a" is forgotten now
        assert!(!processed.first_time("c"));
        assert!(processed.first_time("a"));
    }

    #[test]
    fn sqlite_dedup_records_each_id_once_per_consumer() -> anyhow::Result<()> {
        let mut conn = rusqlite::Connection::open_in_memory()?;
        conn.execute_batch(SQLITE_MIGRATION)?;
        let reco = SqliteProcessed::new("reco");
        let search = SqliteProcessed::new("search");
        let tx = conn.transaction()?;
        assert!(reco.first_time(&tx, "e1")?);
        assert!(!reco.first_time(&tx, "e1")?);
        assert!(search.first_time(&tx, "e1")?);
        tx.commit()?;
        Ok(())
    }
}
