//! The SQLite outbox with a relay onto the embedded bus: the `tunemesh up` combination.

use std::sync::Arc;
use std::time::Duration;

use tunemesh_events::EventBus;
use tunemesh_events::embedded::{EmbeddedBus, EmbeddedSettings};
use tunemesh_events::outbox::sqlite::{MIGRATION, SqliteOutbox, append};
use tunemesh_events::outbox::{OutboxWaker, RelaySettings};
use tunemesh_testkit::{assert_eventually, init_tracing};

use super::support::{TestBus, drain, play, plays, relay_settings, spawn_relay};

struct Setup {
    _dir: tempfile::TempDir,
    db: tokio_rusqlite::Connection,
    bus: Arc<EmbeddedBus>,
}

async fn setup() -> anyhow::Result<Setup> {
    init_tracing();
    let dir = tempfile::tempdir()?;
    let db = tokio_rusqlite::Connection::open(dir.path().join("service.sqlite3")).await?;
    db.call(|conn| conn.execute_batch(MIGRATION)).await?;
    let bus = EmbeddedBus::open(&EmbeddedSettings::new(dir.path().join("events.sqlite3"))).await?;
    Ok(Setup {
        _dir: dir,
        db,
        bus: Arc::new(bus),
    })
}

async fn outbox_rows(db: &tokio_rusqlite::Connection) -> anyhow::Result<i64> {
    Ok(db
        .call(|conn| conn.query_row("SELECT COUNT(*) FROM event_outbox", [], |row| row.get(0)))
        .await?)
}

#[tokio::test]
async fn a_rolled_back_append_is_never_published_and_a_committed_one_is_published_once()
-> anyhow::Result<()> {
    let Setup { _dir, db, bus } = setup().await?;
    let waker = OutboxWaker::new();
    let settings = RelaySettings {
        poll_interval: Duration::from_secs(3600), // only the waker can make it publish
        ..relay_settings()
    };
    let source = Arc::new(SqliteOutbox::new("plays", db.clone()));
    let (relay, shutdown) = spawn_relay(source, bus.clone(), settings, &waker);

    let (rolled_back, committed) = (play("rolled back")?, play("committed")?);
    let (a, b) = (rolled_back.clone(), committed.clone());
    db.call(move |conn| {
        let tx = conn.transaction()?;
        append(&tx, &a)?;
        tx.rollback()?;
        let tx = conn.transaction()?;
        append(&tx, &b)?;
        tx.commit()
    })
    .await?;
    waker.wake();

    let mut subscription = bus.subscribe(plays("reco")).await?;
    let seen = drain(&mut subscription).await?;
    assert_eq!(seen, [("committed".to_owned(), committed.id.clone())]);
    assert_eventually!(outbox_rows(&db).await.ok() == Some(0), "row not marked");

    shutdown.cancel();
    relay.await?;
    Ok(())
}

#[tokio::test]
async fn a_relay_killed_before_marking_republishes_later_in_order() -> anyhow::Result<()> {
    let Setup { _dir, db, bus } = setup().await?;
    let events = (0..12)
        .map(|i| play(&format!("t{i:02}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let owned = events.clone();
    db.call(move |conn| {
        let tx = conn.transaction()?;
        for event in &owned {
            append(&tx, event)?;
        }
        tx.commit()
    })
    .await?;

    let stalling = Arc::new(TestBus::new(bus.clone()).stalling_after_first_publish());
    let source = Arc::new(SqliteOutbox::new("plays", db.clone()));
    let waker = OutboxWaker::new();
    let (doomed, _) = spawn_relay(source.clone(), stalling.clone(), relay_settings(), &waker);
    stalling.stalled.notified().await;
    doomed.abort();

    let recording = Arc::new(TestBus::new(bus.clone()));
    let (relay, shutdown) = spawn_relay(source, recording.clone(), relay_settings(), &waker);
    assert_eventually!(
        outbox_rows(&db).await.ok() == Some(0),
        "outbox never drained"
    );
    let mut expected: Vec<(String, bool)> = events.iter().map(|e| (e.id.clone(), false)).collect();
    expected[0].1 = true; // published by the killed relay already: the bus drops it
    assert_eq!(recording.acknowledged(), expected);

    let mut subscription = bus.subscribe(plays("reco")).await?;
    let seen: Vec<String> = drain(&mut subscription)
        .await?
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    let sent: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
    assert_eq!(seen, sent, "each event once, in order");

    shutdown.cancel();
    relay.await?;
    Ok(())
}
