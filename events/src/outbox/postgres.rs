//! The outbox on PostgreSQL: DDL for the service's migrations, `append` (and `append_many`,
//! by COPY) in the caller's transaction, and the relay's [`PostgresOutbox`] source.
//!
//! Claims run in one short transaction that takes a transaction-scoped advisory lock, so
//! concurrent relays claim one after the other: the second sees the first one's live claim
//! and takes nothing, which keeps events in order. `FOR UPDATE SKIP LOCKED` keeps a claim
//! from waiting on rows someone else holds.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::{BufMut as _, Bytes, BytesMut};
use deadpool_postgres::Pool;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{IsNull, ToSql, Type, accepts, to_sql_checked};
use tokio_postgres::{Row, Transaction};

use super::{OutboxError, OutboxRecord, OutboxSource};
use crate::envelope::{Envelope, EnvelopeError};

/// The outbox table: a versioned step of the service's migrations, a `V<n>__event_outbox.rs`
/// returning it (as `player-svc/migrations/postgres/` does), never run at start on its own;
/// `IF NOT EXISTS` lets it adopt a table made before the step existed.
///
/// `event_id` is deliberately not unique: a retried request may append its event twice, and
/// the bus drops the duplicate by id. `claimed_by` / `claimed_until` are the relay's lease.
pub const MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS event_outbox (
    seq           BIGSERIAL   PRIMARY KEY,
    event_id      TEXT        NOT NULL,
    subject       TEXT        NOT NULL,
    payload       BYTEA       NOT NULL,
    headers       JSONB       NOT NULL DEFAULT '{}',
    occurred_at   TIMESTAMPTZ NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    claimed_by    TEXT,
    claimed_until TIMESTAMPTZ
);
";

/// Serialises claims on one database; the value is arbitrary but fixed (`'tmoutbox'`).
const CLAIM_LOCK: i64 = 0x746d_6f75_7462_6f78;

/// Writes `envelope` into the outbox inside the caller's transaction: it is published if and
/// only if the transaction commits. Poke the relay's [`OutboxWaker`](super::OutboxWaker)
/// after the commit.
pub async fn append(tx: &Transaction<'_>, envelope: &Envelope) -> Result<(), AppendError> {
    envelope.validate()?;
    let headers = headers_json(envelope);
    tx.execute(
        "INSERT INTO event_outbox (event_id, subject, payload, headers, occurred_at)
         VALUES ($1, $2, $3, $4::text::jsonb, $5)",
        &[
            &envelope.id,
            &envelope.subject,
            &envelope.payload.as_ref(),
            &headers,
            &envelope.occurred_at,
        ],
    )
    .await?;
    Ok(())
}

/// Writes `envelopes` into the outbox inside the caller's transaction by one binary `COPY`:
/// the rows [`append`] writes, in order, for bulk loads (a benchmark reaching size) where a
/// statement per event is the cost. Returns the rows written.
pub async fn append_many(tx: &Transaction<'_>, envelopes: &[Envelope]) -> Result<u64, AppendError> {
    for envelope in envelopes {
        envelope.validate()?;
    }
    let sink = tx
        .copy_in(
            "COPY event_outbox (event_id, subject, payload, headers, occurred_at)
             FROM STDIN BINARY",
        )
        .await?;
    let types = [
        Type::TEXT,
        Type::TEXT,
        Type::BYTEA,
        Type::JSONB,
        Type::TIMESTAMPTZ,
    ];
    let mut writer = std::pin::pin!(BinaryCopyInWriter::new(sink, &types));
    for envelope in envelopes {
        let headers = Jsonb(headers_json(envelope));
        writer
            .as_mut()
            .write(&[
                &envelope.id,
                &envelope.subject,
                &envelope.payload.as_ref(),
                &headers,
                &envelope.occurred_at,
            ])
            .await?;
    }
    Ok(writer.finish().await?)
}

/// JSON text as a binary `jsonb` value (format version 1, then the text), which
/// tokio-postgres writes only with its serde feature.
#[derive(Debug)]
struct Jsonb(String);

impl ToSql for Jsonb {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.put_u8(1);
        out.put_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }

    accepts!(JSONB);
    to_sql_checked!();
}

/// Why an event could not be appended; the caller's transaction should roll back.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// The envelope could never be published.
    #[error("event cannot go into the outbox")]
    Invalid(#[from] EnvelopeError),
    /// The insert failed.
    #[error("outbox insert failed")]
    Database(#[from] tokio_postgres::Error),
}

/// The headers as a JSON object; a map of strings always serialises.
fn headers_json(envelope: &Envelope) -> String {
    serde_json::to_string(&envelope.headers).unwrap_or_else(|_| "{}".to_owned())
}

/// The relay's view of one PostgreSQL outbox table.
#[derive(Debug, Clone)]
pub struct PostgresOutbox {
    name: String,
    pool: Pool,
}

impl PostgresOutbox {
    /// The outbox in the database behind `pool`, named `name` in metrics.
    pub fn new(name: impl Into<String>, pool: Pool) -> Self {
        Self {
            name: name.into(),
            pool,
        }
    }

    fn failed(&self, source: impl std::error::Error + Send + Sync + 'static) -> OutboxError {
        OutboxError::Store {
            outbox: self.name.clone(),
            source: Box::new(source),
        }
    }

    async fn claim_in(
        tx: &Transaction<'_>,
        relay: &str,
        limit: i64,
        lease_ms: f64,
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CLAIM_LOCK])
            .await?;
        let held_elsewhere = tx
            .query_opt(
                "SELECT 1 FROM event_outbox
                 WHERE claimed_until > now() AND claimed_by <> $1 LIMIT 1",
                &[&relay],
            )
            .await?;
        if held_elsewhere.is_some() {
            return Ok(Vec::new());
        }
        tx.query(
            "WITH next AS (
                 SELECT seq FROM event_outbox ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED
             )
             UPDATE event_outbox o
             SET claimed_by = $1, claimed_until = now() + $3 * interval '1 millisecond'
             FROM next WHERE o.seq = next.seq
             RETURNING o.seq, o.event_id, o.subject, o.payload, o.headers::text,
                       o.occurred_at, o.created_at",
            &[&relay, &limit, &lease_ms],
        )
        .await
    }
}

/// A claimed row as a record; unreadable headers are dropped rather than blocking the outbox.
fn record(row: &Row) -> Result<OutboxRecord, tokio_postgres::Error> {
    let headers: String = row.try_get(4)?;
    Ok(OutboxRecord {
        seq: row.try_get(0)?,
        envelope: Envelope {
            id: row.try_get(1)?,
            subject: row.try_get(2)?,
            payload: Bytes::from(row.try_get::<_, Vec<u8>>(3)?),
            headers: serde_json::from_str(&headers).unwrap_or_default(),
            occurred_at: row.try_get::<_, SystemTime>(5)?,
        },
        created_at: row.try_get(6)?,
    })
}

#[async_trait]
impl OutboxSource for PostgresOutbox {
    fn name(&self) -> &str {
        &self.name
    }

    async fn claim(
        &self,
        relay: &str,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<OutboxRecord>, OutboxError> {
        let mut client = self.pool.get().await.map_err(|e| self.failed(e))?;
        let tx = client.transaction().await.map_err(|e| self.failed(e))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let lease_ms = lease.as_secs_f64() * 1000.0;
        let rows = Self::claim_in(&tx, relay, limit, lease_ms)
            .await
            .map_err(|e| self.failed(e))?;
        tx.commit().await.map_err(|e| self.failed(e))?;
        let mut records = rows
            .iter()
            .map(record)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.failed(e))?;
        // UPDATE ... RETURNING gives no order guarantee.
        records.sort_by_key(|r| r.seq);
        Ok(records)
    }

    async fn mark_published(&self, seqs: &[i64]) -> Result<(), OutboxError> {
        if seqs.is_empty() {
            return Ok(());
        }
        let client = self.pool.get().await.map_err(|e| self.failed(e))?;
        client
            .execute("DELETE FROM event_outbox WHERE seq = ANY($1)", &[&seqs])
            .await
            .map_err(|e| self.failed(e))?;
        Ok(())
    }

    async fn release(&self, relay: &str) -> Result<(), OutboxError> {
        let client = self.pool.get().await.map_err(|e| self.failed(e))?;
        client
            .execute(
                "UPDATE event_outbox SET claimed_by = NULL, claimed_until = NULL
                 WHERE claimed_by = $1",
                &[&relay],
            )
            .await
            .map_err(|e| self.failed(e))?;
        Ok(())
    }
}
