//! The embedded bus's SQLite schema and every statement it runs.
//!
//! All functions take a `rusqlite::Connection` and run on tokio-rusqlite's thread; each is
//! one transaction, and the single connection serialises them, so a claim can never hand the
//! same event to two subscribers of one consumer.

use std::collections::BTreeMap;

use bytes::Bytes;
use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior, params};

use crate::bus::{ConsumerSpec, ConsumerState, StartFrom, subject_matches};
use crate::envelope::{Envelope, millis_to_system_time};

/// The schema: an append-only event log, the ids seen within the dedup window, and per
/// consumer its next position and its delivered-but-unsettled events.
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS bus_events (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT    NOT NULL,
    subject        TEXT    NOT NULL,
    payload        BLOB    NOT NULL,
    headers        TEXT    NOT NULL,
    occurred_at_ms INTEGER NOT NULL,
    stored_at_ms   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS bus_events_stored_at ON bus_events (stored_at_ms);
CREATE INDEX IF NOT EXISTS bus_events_subject ON bus_events (subject, seq);
CREATE TABLE IF NOT EXISTS bus_event_ids (
    id           TEXT    PRIMARY KEY,
    stored_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS bus_event_ids_stored_at ON bus_event_ids (stored_at_ms);
CREATE TABLE IF NOT EXISTS bus_consumers (
    name     TEXT    PRIMARY KEY,
    filters  TEXT    NOT NULL,
    next_seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS bus_pending (
    consumer TEXT    NOT NULL,
    seq      INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    due_ms   INTEGER NOT NULL,
    PRIMARY KEY (consumer, seq)
);
";

/// Rows scanned per step when looking for new events that match a consumer's filters.
const SCAN_CHUNK: i64 = 256;

/// Opens the schema with settings suited to one writer thread and durable commits.
pub(super) fn init(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch(SCHEMA)
}

/// Drops ids older than the dedup window and events older than `max_age_ms` (if set).
pub(super) fn prune(
    conn: &mut Connection,
    now_ms: i64,
    window_ms: i64,
    max_age_ms: Option<i64>,
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    tx.execute(
        "DELETE FROM bus_event_ids WHERE stored_at_ms <= ?1",
        [now_ms - window_ms],
    )?;
    if let Some(max_age_ms) = max_age_ms {
        tx.execute(
            "DELETE FROM bus_events WHERE stored_at_ms < ?1",
            [now_ms - max_age_ms],
        )?;
    }
    tx.commit()
}

/// Runs `f` with commits that are not flushed to disk one by one (`synchronous = NORMAL`
/// in WAL mode: consistent, and durable once the next `FULL` commit, a publish, syncs the
/// log after them). For claims and settles only: one lost to a power cut means a
/// redelivery, which at-least-once delivery allows, and a flush per ack was 4 ms here
/// (a replay of a million events acknowledged one by one took over an hour). Publishes
/// stay `FULL`: a published event must survive once the publisher was told so.
pub(super) fn relaxed<T>(
    conn: &mut Connection,
    f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    let result = f(conn);
    conn.pragma_update(None, "synchronous", "FULL")?;
    result
}

/// Appends the event unless its id was stored within the window; true when it was new. The
/// window is half-open: an id stored exactly `window_ms` ago has expired, so a zero window
/// turns deduplication off even for two publishes in the same millisecond.
pub(super) fn append(
    conn: &mut Connection,
    envelope: &Envelope,
    headers_json: &str,
    now_ms: i64,
    window_ms: i64,
) -> rusqlite::Result<bool> {
    append_batch(conn, &[(envelope, headers_json)], now_ms, window_ms)
        .map(|fresh| fresh.first().copied().unwrap_or(false))
}

/// [`append`] for several events in one transaction (one durable commit); whether each was new.
pub(super) fn append_batch(
    conn: &mut Connection,
    events: &[(&Envelope, &str)],
    now_ms: i64,
    window_ms: i64,
) -> rusqlite::Result<Vec<bool>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut fresh = Vec::with_capacity(events.len());
    for (envelope, headers_json) in events {
        fresh.push(insert_event(
            &tx,
            envelope,
            headers_json,
            now_ms,
            window_ms,
        )?);
    }
    tx.commit()?;
    Ok(fresh)
}

fn insert_event(
    tx: &rusqlite::Transaction<'_>,
    envelope: &Envelope,
    headers_json: &str,
    now_ms: i64,
    window_ms: i64,
) -> rusqlite::Result<bool> {
    tx.execute(
        "DELETE FROM bus_event_ids WHERE id = ?1 AND stored_at_ms <= ?2",
        params![envelope.id, now_ms - window_ms],
    )?;
    let fresh = tx.execute(
        "INSERT OR IGNORE INTO bus_event_ids (id, stored_at_ms) VALUES (?1, ?2)",
        params![envelope.id, now_ms],
    )? == 1;
    if fresh {
        tx.execute(
            "INSERT INTO bus_events (id, subject, payload, headers, occurred_at_ms, stored_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                envelope.id,
                envelope.subject,
                envelope.payload.as_ref(),
                headers_json,
                envelope.occurred_at_millis(),
                now_ms
            ],
        )?;
    }
    Ok(fresh)
}

/// Creates the consumer if it does not exist; an existing one keeps its position and takes
/// the new filters (create-or-update, like JetStream).
pub(super) fn ensure_consumer(conn: &mut Connection, spec: &ConsumerSpec) -> rusqlite::Result<()> {
    let first = match spec.start {
        StartFrom::Beginning => "0",
        StartFrom::NewOnly => "(SELECT IFNULL(MAX(seq), 0) + 1 FROM bus_events)",
    };
    let filters = spec.subjects.join(" ");
    conn.execute(
        &format!(
            "INSERT INTO bus_consumers (name, filters, next_seq) VALUES (?1, ?2, {first})
             ON CONFLICT (name) DO UPDATE SET filters = excluded.filters"
        ),
        params![spec.name, filters],
    )?;
    Ok(())
}

/// One event handed to a subscriber, with its delivery count.
#[derive(Debug)]
pub(super) struct Claimed {
    pub(super) seq: i64,
    pub(super) attempt: u32,
    pub(super) envelope: Envelope,
}

/// What a claim found: events to deliver now, or when to look again.
#[derive(Debug, Default)]
pub(super) struct Claim {
    pub(super) events: Vec<Claimed>,
    /// Earliest time an unsettled event becomes due again, if any.
    pub(super) next_due_ms: Option<i64>,
}

/// Claims up to `batch_size` events for `spec`: due redeliveries first, then new events, never
/// more than `max_in_flight` unsettled. Claimed events are due again after the ack wait.
pub(super) fn claim(
    conn: &mut Connection,
    spec: &ConsumerSpec,
    now_ms: i64,
) -> rusqlite::Result<Claim> {
    let ack_wait_ms = i64::try_from(spec.ack_wait.as_millis()).unwrap_or(i64::MAX);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Past the limit, an event is dropped like JetStream does, freeing its in-flight slot.
    tx.execute(
        "DELETE FROM bus_pending WHERE consumer = ?1 AND due_ms <= ?2 AND attempts >= ?3",
        params![spec.name, now_ms, spec.max_deliver],
    )?;
    let mut seqs = due_redeliveries(&tx, &spec.name, now_ms, spec.batch_size)?;
    for seq in &seqs {
        tx.execute(
            "UPDATE bus_pending SET attempts = attempts + 1, due_ms = ?3
             WHERE consumer = ?1 AND seq = ?2",
            params![spec.name, seq, now_ms.saturating_add(ack_wait_ms)],
        )?;
    }
    let in_flight: i64 = tx.query_row(
        "SELECT COUNT(*) FROM bus_pending WHERE consumer = ?1",
        [&spec.name],
        |row| row.get(0),
    )?;
    let room = usize::try_from(i64::try_from(spec.max_in_flight).unwrap_or(i64::MAX) - in_flight)
        .unwrap_or(0)
        .min(spec.batch_size - seqs.len());
    let fresh = claim_new(&tx, spec, room, now_ms.saturating_add(ack_wait_ms))?;
    seqs.extend(fresh);
    let events = load(&tx, &spec.name, &seqs)?;
    let next_due_ms = tx.query_row(
        "SELECT MIN(due_ms) FROM bus_pending WHERE consumer = ?1",
        [&spec.name],
        |row| row.get(0),
    )?;
    tx.commit()?;
    Ok(Claim {
        events,
        next_due_ms,
    })
}

/// Unsettled events whose ack wait or NAK delay is over, oldest first.
fn due_redeliveries(
    tx: &rusqlite::Transaction<'_>,
    consumer: &str,
    now_ms: i64,
    limit: usize,
) -> rusqlite::Result<Vec<i64>> {
    let mut statement = tx.prepare_cached(
        "SELECT seq FROM bus_pending WHERE consumer = ?1 AND due_ms <= ?2 ORDER BY seq LIMIT ?3",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = statement.query_map(params![consumer, now_ms, limit], |row| row.get(0))?;
    rows.collect()
}

/// Moves the consumer past up to `room` new matching events, marking them in flight.
fn claim_new(
    tx: &rusqlite::Transaction<'_>,
    spec: &ConsumerSpec,
    room: usize,
    due_ms: i64,
) -> rusqlite::Result<Vec<i64>> {
    let mut claimed = Vec::new();
    let mut next_seq: i64 = tx.query_row(
        "SELECT next_seq FROM bus_consumers WHERE name = ?1",
        [&spec.name],
        |row| row.get(0),
    )?;
    let mut statement = tx.prepare_cached(
        "SELECT seq, subject FROM bus_events WHERE seq >= ?1 ORDER BY seq LIMIT ?2",
    )?;
    'scan: while claimed.len() < room {
        let rows: Vec<(i64, String)> = statement
            .query_map(params![next_seq, SCAN_CHUNK], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        if rows.is_empty() {
            break;
        }
        for (seq, subject) in rows {
            if claimed.len() == room {
                break 'scan;
            }
            next_seq = seq + 1;
            if spec.subjects.iter().any(|f| subject_matches(f, &subject)) {
                claimed.push(seq);
            }
        }
    }
    for seq in &claimed {
        tx.execute(
            "INSERT OR REPLACE INTO bus_pending (consumer, seq, attempts, due_ms)
             VALUES (?1, ?2, 1, ?3)",
            params![spec.name, seq, due_ms],
        )?;
    }
    tx.execute(
        "UPDATE bus_consumers SET next_seq = ?2 WHERE name = ?1",
        params![spec.name, next_seq],
    )?;
    Ok(claimed)
}

/// Reads the claimed events with their attempt counts, in sequence order. An event pruned
/// by `max_age` while in flight is dropped from the pending set instead of delivered.
fn load(
    tx: &rusqlite::Transaction<'_>,
    consumer: &str,
    seqs: &[i64],
) -> rusqlite::Result<Vec<Claimed>> {
    let mut statement = tx.prepare_cached(
        "SELECT e.id, e.subject, e.payload, e.headers, e.occurred_at_ms, p.attempts
         FROM bus_pending p JOIN bus_events e ON e.seq = p.seq
         WHERE p.consumer = ?1 AND p.seq = ?2",
    )?;
    let mut events = Vec::with_capacity(seqs.len());
    for &seq in seqs {
        let row = statement
            .query_row(params![consumer, seq], |row| {
                let headers: String = row.get(3)?;
                let attempts: i64 = row.get(5)?;
                Ok(Claimed {
                    seq,
                    attempt: u32::try_from(attempts).unwrap_or(u32::MAX),
                    envelope: Envelope {
                        id: row.get(0)?,
                        subject: row.get(1)?,
                        payload: Bytes::from(row.get::<_, Vec<u8>>(2)?),
                        headers: serde_json::from_str::<BTreeMap<String, String>>(&headers)
                            .unwrap_or_default(),
                        occurred_at: millis_to_system_time(row.get(4)?),
                    },
                })
            })
            .optional()?;
        match row {
            Some(event) => events.push(event),
            None => {
                tx.execute(
                    "DELETE FROM bus_pending WHERE consumer = ?1 AND seq = ?2",
                    params![consumer, seq],
                )?;
            }
        }
    }
    events.sort_by_key(|e| e.seq);
    Ok(events)
}

/// One delivery's settlement: its consumer, its sequence, and `Some(due)` to keep it
/// pending until then (NAK) or `None` to remove it.
pub(crate) type Settlement = (String, i64, Option<i64>);

/// Applies `settlements` in one transaction.
pub(super) fn settle_all(
    conn: &mut Connection,
    settlements: &[Settlement],
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut nak = tx.prepare_cached(
            "UPDATE bus_pending SET due_ms = ?3 WHERE consumer = ?1 AND seq = ?2",
        )?;
        let mut ack =
            tx.prepare_cached("DELETE FROM bus_pending WHERE consumer = ?1 AND seq = ?2")?;
        for (consumer, seq, due_ms) in settlements {
            match due_ms {
                Some(due_ms) => nak.execute(params![consumer, seq, due_ms])?,
                None => ack.execute(params![consumer, seq])?,
            };
        }
    }
    tx.commit()
}

/// Deletes a consumer, its position and its unsettled deliveries; false if it did not exist.
pub(super) fn delete_consumer(conn: &mut Connection, consumer: &str) -> rusqlite::Result<bool> {
    let tx = conn.transaction()?;
    tx.execute("DELETE FROM bus_pending WHERE consumer = ?1", [consumer])?;
    let deleted = tx.execute("DELETE FROM bus_consumers WHERE name = ?1", [consumer])?;
    tx.commit()?;
    Ok(deleted > 0)
}

/// The consumer's lag, or `None` if it does not exist. Pending events of exact subjects are
/// counted in the `(subject, seq)` index; wildcard filters read the subject of every event
/// past the position. Readiness checks ask for this after every index commit of a replay: a
/// scan in Rust of a million pending events took about a second each time, on the bus's
/// one connection.
pub(super) fn state(
    conn: &mut Connection,
    consumer: &str,
) -> rusqlite::Result<Option<ConsumerState>> {
    let position: Option<(i64, String)> = conn
        .query_row(
            "SELECT next_seq, filters FROM bus_consumers WHERE name = ?1",
            [consumer],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let Some((next_seq, filters)) = position else {
        return Ok(None);
    };
    let pending = pending(conn, &filters, next_seq)?;
    let in_flight: i64 = conn.query_row(
        "SELECT COUNT(*) FROM bus_pending WHERE consumer = ?1",
        [consumer],
        |row| row.get(0),
    )?;
    Ok(Some(ConsumerState {
        pending,
        in_flight: u64::try_from(in_flight).unwrap_or(0),
    }))
}

/// Events matching `filters` (space-separated) at or after `next_seq`.
fn pending(conn: &Connection, filters: &str, next_seq: i64) -> rusqlite::Result<u64> {
    let wildcard = filters.contains(['*', '>']);
    let mut pending = 0_u64;
    if !wildcard {
        let mut statement = conn
            .prepare_cached("SELECT COUNT(*) FROM bus_events WHERE subject = ?1 AND seq >= ?2")?;
        let mut subjects: Vec<&str> = filters.split(' ').collect();
        subjects.sort_unstable();
        subjects.dedup();
        for subject in subjects {
            let n: i64 = statement.query_row(params![subject, next_seq], |row| row.get(0))?;
            pending += u64::try_from(n).unwrap_or(0);
        }
        return Ok(pending);
    }
    let mut statement = conn.prepare_cached("SELECT subject FROM bus_events WHERE seq >= ?1")?;
    let mut rows = statement.query([next_seq])?;
    while let Some(row) = rows.next()? {
        let subject: String = row.get(0)?;
        if filters.split(' ').any(|f| subject_matches(f, &subject)) {
            pending += 1;
        }
    }
    Ok(pending)
}
