//! The PostgreSQL outbox with a relay onto real JetStream.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Pool, Runtime};
use tokio_postgres::NoTls;
use tokio_util::sync::CancellationToken;
use tunemesh_events::consumer::{Handler, HandlerError, RunSettings, run_consumer};
use tunemesh_events::dedup::{POSTGRES_MIGRATION, PostgresProcessed};
use tunemesh_events::outbox::postgres::{AppendError, MIGRATION, PostgresOutbox, append};
use tunemesh_events::outbox::{OutboxSource, OutboxWaker};
use tunemesh_events::{Envelope, EventBus};
use tunemesh_proto::events::v1::PlayEvent;
use tunemesh_testkit::{TestDatabase, assert_eventually, init_tracing, test_database};

use super::support::{
    TestBus, drain, drop_streams, jetstream, play, plays, relay_settings, spawn_relay,
};

/// A fresh database with the outbox and processed-events tables, and a pool on it.
async fn database() -> anyhow::Result<(TestDatabase, Pool)> {
    init_tracing();
    let db = test_database().await?;
    let config = deadpool_postgres::Config {
        url: Some(db.url().to_owned()),
        ..deadpool_postgres::Config::default()
    };
    let pool = config.create_pool(Some(Runtime::Tokio1), NoTls)?;
    let client = pool.get().await?;
    client.batch_execute(MIGRATION).await?;
    client.batch_execute(POSTGRES_MIGRATION).await?;
    client
        .batch_execute("CREATE TABLE counted_plays (event_id TEXT NOT NULL)")
        .await?;
    Ok((db, pool))
}

/// Appends each event in its own committed transaction.
async fn append_committed(pool: &Pool, events: &[Envelope]) -> anyhow::Result<()> {
    let mut client = pool.get().await?;
    for event in events {
        let tx = client.transaction().await?;
        append(&tx, event).await?;
        tx.commit().await?;
    }
    Ok(())
}

async fn outbox_rows(pool: &Pool) -> anyhow::Result<i64> {
    let client = pool.get().await?;
    Ok(client
        .query_one("SELECT COUNT(*) FROM event_outbox", &[])
        .await?
        .get(0))
}

fn source(pool: &Pool) -> Arc<dyn OutboxSource> {
    Arc::new(PostgresOutbox::new("plays", pool.clone()))
}

#[tokio::test]
async fn a_rolled_back_append_is_never_published_and_a_committed_one_is_published_once()
-> anyhow::Result<()> {
    let (_db, pool) = database().await?;
    let (bus, nats) = jetstream().await?;
    let waker = OutboxWaker::new();
    let settings = tunemesh_events::outbox::RelaySettings {
        poll_interval: Duration::from_secs(3600), // only the waker can make it publish
        ..relay_settings()
    };
    let (relay, shutdown) = spawn_relay(source(&pool), bus.clone(), settings, &waker);

    let (rolled_back, committed) = (play("rolled back")?, play("committed")?);
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    append(&tx, &rolled_back).await?;
    tx.rollback().await?;
    waker.wake();
    let tx = client.transaction().await?;
    append(&tx, &committed).await?;
    tx.commit().await?;
    waker.wake();

    let mut subscription = bus.subscribe(plays("reco")).await?;
    let seen = drain(&mut subscription).await?;
    assert_eq!(seen, [("committed".to_owned(), committed.id.clone())]);
    assert_eventually!(outbox_rows(&pool).await.ok() == Some(0), "row not marked");

    shutdown.cancel();
    relay.await?;
    drop_streams(&nats).await
}

/// Counts a play once per event id, in the same transaction that records the id.
struct CountPlays {
    pool: Pool,
    processed: PostgresProcessed,
}

#[async_trait]
impl Handler for CountPlays {
    async fn handle(&self, envelope: &Envelope) -> Result<(), HandlerError> {
        envelope.decode::<PlayEvent>()?;
        let transient = |e: &dyn std::fmt::Display| HandlerError::Transient(anyhow::anyhow!("{e}"));
        let mut client = self.pool.get().await.map_err(|e| transient(&e))?;
        let tx = client.transaction().await.map_err(|e| transient(&e))?;
        let first = self
            .processed
            .first_time(&tx, &envelope.id)
            .await
            .map_err(|e| transient(&e))?;
        if first {
            tx.execute(
                "INSERT INTO counted_plays (event_id) VALUES ($1)",
                &[&envelope.id],
            )
            .await
            .map_err(|e| transient(&e))?;
        }
        tx.commit().await.map_err(|e| transient(&e))
    }
}

#[tokio::test]
async fn a_relay_killed_between_publishing_and_marking_publishes_again_and_the_play_counts_once()
-> anyhow::Result<()> {
    let (_db, pool) = database().await?;
    let (bus, nats) = jetstream().await?;
    let event = play("killed")?;
    append_committed(&pool, std::slice::from_ref(&event)).await?;

    // The first relay gets the bus's ack, then hangs before marking the row, and is killed.
    let stalling = Arc::new(TestBus::new(bus.clone()).stalling_after_first_publish());
    let waker = OutboxWaker::new();
    let (doomed, _) = spawn_relay(source(&pool), stalling.clone(), relay_settings(), &waker);
    stalling.stalled.notified().await;
    doomed.abort();
    assert_eq!(
        outbox_rows(&pool).await?,
        1,
        "the row outlives the killed relay"
    );

    // A new relay publishes it again once the dead relay's lease ran out.
    let recording = Arc::new(TestBus::new(bus.clone()));
    let (relay, shutdown) = spawn_relay(source(&pool), recording.clone(), relay_settings(), &waker);
    assert_eventually!(
        outbox_rows(&pool).await.ok() == Some(0),
        "row never republished"
    );
    assert_eq!(
        recording.acknowledged(),
        [(event.id.clone(), true)],
        "bus saw a duplicate"
    );

    // A deduplicating consumer counts the play exactly once.
    let handler = CountPlays {
        pool: pool.clone(),
        processed: PostgresProcessed::new("reco"),
    };
    let subscription = bus.subscribe(plays("reco")).await?;
    let stop = CancellationToken::new();
    let consumer = run_consumer(subscription, &handler, RunSettings::default(), stop.clone());
    let watch = async {
        assert_eventually!(
            bus.consumer_state("reco")
                .await
                .is_ok_and(|s| s.pending == 0 && s.in_flight == 0),
            "event never consumed"
        );
        stop.cancel();
    };
    let (result, ()) = tokio::join!(consumer, watch);
    result?;
    let client = pool.get().await?;
    let counted: i64 = client
        .query_one("SELECT COUNT(*) FROM counted_plays", &[])
        .await?
        .get(0);
    assert_eq!(counted, 1);

    shutdown.cancel();
    relay.await?;
    drop_streams(&nats).await
}

#[tokio::test]
async fn a_relay_started_later_publishes_every_pending_row_in_order() -> anyhow::Result<()> {
    let (_db, pool) = database().await?;
    let (bus, nats) = jetstream().await?;
    let events = (0..30)
        .map(|i| play(&format!("t{i:02}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    append_committed(&pool, &events).await?; // no relay running yet

    let (relay, shutdown) = spawn_relay(
        source(&pool),
        bus.clone(),
        relay_settings(),
        &OutboxWaker::new(),
    );
    let mut subscription = bus.subscribe(plays("reco")).await?;
    let seen: Vec<String> = drain(&mut subscription)
        .await?
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    let sent: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
    assert_eq!(seen, sent);

    shutdown.cancel();
    relay.await?;
    drop_streams(&nats).await
}

#[tokio::test]
async fn a_relay_retries_while_the_bus_is_down_and_loses_nothing_nor_reorders() -> anyhow::Result<()>
{
    let (_db, pool) = database().await?;
    let (bus, nats) = jetstream().await?;
    let events = (0..10)
        .map(|i| play(&format!("t{i}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    append_committed(&pool, &events).await?;

    let flaky = Arc::new(TestBus::new(bus.clone()).refusing(4));
    let (relay, shutdown) = spawn_relay(
        source(&pool),
        flaky.clone(),
        relay_settings(),
        &OutboxWaker::new(),
    );
    assert_eventually!(
        outbox_rows(&pool).await.ok() == Some(0),
        "outbox never drained"
    );
    let sent: Vec<(String, bool)> = events.iter().map(|e| (e.id.clone(), false)).collect();
    assert_eq!(flaky.acknowledged(), sent);

    shutdown.cancel();
    relay.await?;
    drop_streams(&nats).await
}

#[tokio::test]
async fn two_relays_on_one_outbox_publish_everything_in_order() -> anyhow::Result<()> {
    let (_db, pool) = database().await?;
    let (bus, nats) = jetstream().await?;
    let recording = Arc::new(TestBus::new(bus.clone()));
    let waker = OutboxWaker::new();
    let settings = tunemesh_events::outbox::RelaySettings {
        lease: Duration::from_secs(10), // no lease runs out: no duplicates expected
        ..relay_settings()
    };
    let first = spawn_relay(source(&pool), recording.clone(), settings.clone(), &waker);
    let second = spawn_relay(source(&pool), recording.clone(), settings, &waker);

    let events = (0..40)
        .map(|i| play(&format!("t{i}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for chunk in events.chunks(5) {
        append_committed(&pool, chunk).await?;
        waker.wake();
    }
    assert_eventually!(
        outbox_rows(&pool).await.ok() == Some(0),
        "outbox never drained"
    );
    let sent: Vec<(String, bool)> = events.iter().map(|e| (e.id.clone(), false)).collect();
    assert_eq!(recording.acknowledged(), sent);

    for (relay, shutdown) in [first, second] {
        shutdown.cancel();
        relay.await?;
    }
    drop_streams(&nats).await
}

#[tokio::test]
async fn an_invalid_event_is_refused_at_append_and_a_bad_row_does_not_block_the_outbox()
-> anyhow::Result<()> {
    let (_db, pool) = database().await?;
    let (bus, nats) = jetstream().await?;
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let mut wildcard = play("wildcard")?;
    wildcard.subject = "events.*".to_owned();
    let refused = append(&tx, &wildcard).await;
    assert!(
        matches!(refused, Err(AppendError::Invalid(_))),
        "{refused:?}"
    );
    tx.rollback().await?;

    // A row written around `append` is dropped by the relay; the events behind it flow.
    client
        .execute(
            "INSERT INTO event_outbox (event_id, subject, payload, occurred_at)
             VALUES ('bad id', 'events.play', '', now())",
            &[],
        )
        .await?;
    let good = play("good")?;
    append_committed(&pool, std::slice::from_ref(&good)).await?;
    let (relay, shutdown) = spawn_relay(
        source(&pool),
        bus.clone(),
        relay_settings(),
        &OutboxWaker::new(),
    );
    let mut subscription = bus.subscribe(plays("reco")).await?;
    assert_eq!(
        drain(&mut subscription).await?,
        [("good".to_owned(), good.id.clone())]
    );
    assert_eventually!(outbox_rows(&pool).await.ok() == Some(0), "bad row kept");

    shutdown.cancel();
    relay.await?;
    drop_streams(&nats).await
}
