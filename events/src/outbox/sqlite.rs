//! The outbox on SQLite: DDL for the service's migrations, `append` in the caller's
//! transaction (inside its tokio-rusqlite call), and the relay's [`SqliteOutbox`] source.
//!
//! SQLite has one writer at a time, so a claim in an `IMMEDIATE` transaction is already
//! serialised against other relays; the lease columns work as on PostgreSQL.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use rusqlite::{Connection, Transaction, TransactionBehavior, params};

use super::{OutboxError, OutboxRecord, OutboxSource};
use crate::embedded::{millis, now_ms};
use crate::envelope::{Envelope, millis_to_system_time};

/// The outbox table: a versioned `V<n>__event_outbox.rs` step of the service's migrations
/// (see [`super::postgres::MIGRATION`]); `IF NOT EXISTS` makes it safe to
/// run again. Times are milliseconds since the Unix epoch.
pub const MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS event_outbox (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id         TEXT    NOT NULL,
    subject          TEXT    NOT NULL,
    payload          BLOB    NOT NULL,
    headers          TEXT    NOT NULL DEFAULT '{}',
    occurred_at_ms   INTEGER NOT NULL,
    created_at_ms    INTEGER NOT NULL,
    claimed_by       TEXT,
    claimed_until_ms INTEGER
);
";

/// Writes `envelope` into the outbox inside the caller's transaction: it is published if and
/// only if the transaction commits. Poke the relay's [`OutboxWaker`](super::OutboxWaker)
/// after the commit. An envelope that could never be published is refused with
/// `rusqlite::Error::ToSqlConversionFailure` wrapping the [`EnvelopeError`](crate::EnvelopeError).
pub fn append(tx: &Transaction<'_>, envelope: &Envelope) -> rusqlite::Result<()> {
    envelope
        .validate()
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    let headers = serde_json::to_string(&envelope.headers).unwrap_or_else(|_| "{}".to_owned());
    tx.execute(
        "INSERT INTO event_outbox
             (event_id, subject, payload, headers, occurred_at_ms, created_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            envelope.id,
            envelope.subject,
            envelope.payload.as_ref(),
            headers,
            envelope.occurred_at_millis(),
            now_ms()
        ],
    )?;
    Ok(())
}

/// The relay's view of one SQLite outbox table.
#[derive(Debug, Clone)]
pub struct SqliteOutbox {
    name: String,
    db: tokio_rusqlite::Connection,
}

impl SqliteOutbox {
    /// The outbox in the database behind `db`, named `name` in metrics.
    pub fn new(name: impl Into<String>, db: tokio_rusqlite::Connection) -> Self {
        Self {
            name: name.into(),
            db,
        }
    }

    fn failed(&self, source: tokio_rusqlite::Error) -> OutboxError {
        OutboxError::Store {
            outbox: self.name.clone(),
            source: Box::new(source),
        }
    }
}

/// The claim itself, on the database thread.
fn claim(
    conn: &mut Connection,
    relay: &str,
    limit: i64,
    lease_ms: i64,
) -> rusqlite::Result<Vec<OutboxRecord>> {
    let now = now_ms();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let held_elsewhere: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM event_outbox
                        WHERE claimed_until_ms > ?1 AND claimed_by <> ?2)",
        params![now, relay],
        |row| row.get(0),
    )?;
    if held_elsewhere {
        return Ok(Vec::new());
    }
    let records = {
        let mut statement = tx.prepare_cached(
            "SELECT seq, event_id, subject, payload, headers, occurred_at_ms, created_at_ms
             FROM event_outbox ORDER BY seq LIMIT ?1",
        )?;
        let rows = statement.query_map([limit], |row| {
            let headers: String = row.get(4)?;
            Ok(OutboxRecord {
                seq: row.get(0)?,
                envelope: Envelope {
                    id: row.get(1)?,
                    subject: row.get(2)?,
                    payload: Bytes::from(row.get::<_, Vec<u8>>(3)?),
                    headers: serde_json::from_str(&headers).unwrap_or_default(),
                    occurred_at: millis_to_system_time(row.get(5)?),
                },
                created_at: millis_to_system_time(row.get(6)?),
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    if let (Some(first), Some(last)) = (records.first(), records.last()) {
        tx.execute(
            "UPDATE event_outbox SET claimed_by = ?1, claimed_until_ms = ?2
             WHERE seq BETWEEN ?3 AND ?4",
            params![relay, now.saturating_add(lease_ms), first.seq, last.seq],
        )?;
    }
    tx.commit()?;
    Ok(records)
}

#[async_trait]
impl OutboxSource for SqliteOutbox {
    fn name(&self) -> &str {
        &self.name
    }

    async fn claim(
        &self,
        relay: &str,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<OutboxRecord>, OutboxError> {
        let relay = relay.to_owned();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let lease_ms = millis(lease);
        self.db
            .call(move |conn| claim(conn, &relay, limit, lease_ms))
            .await
            .map_err(|e| self.failed(e))
    }

    async fn mark_published(&self, seqs: &[i64]) -> Result<(), OutboxError> {
        let seqs = seqs.to_vec();
        self.db
            .call(move |conn| {
                let tx = conn.transaction()?;
                for seq in seqs {
                    tx.execute("DELETE FROM event_outbox WHERE seq = ?1", [seq])?;
                }
                tx.commit()
            })
            .await
            .map_err(|e| self.failed(e))
    }

    async fn release(&self, relay: &str) -> Result<(), OutboxError> {
        let relay = relay.to_owned();
        self.db
            .call(move |conn| {
                conn.execute(
                    "UPDATE event_outbox SET claimed_by = NULL, claimed_until_ms = NULL
                     WHERE claimed_by = ?1",
                    [relay],
                )
            })
            .await
            .map(drop)
            .map_err(|e| self.failed(e))
    }
}
