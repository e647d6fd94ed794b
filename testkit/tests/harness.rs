//! The harness itself, against the real servers `scripts/servers.sh` provides.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream;
use fred::prelude::KeysInterface as _;
use tokio_postgres::NoTls;
use tunemesh_testkit::{
    assert_eventually, delete_nats_streams, delete_redis_keys, eventually, init_tracing,
    nats_client, redis_client, servers, test_database, unique_prefix,
};

async fn connect(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

async fn database_exists(name: &str) -> anyhow::Result<bool> {
    let admin = connect(&servers().postgres_url).await?;
    let row = admin
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname = $1",
            &[&name],
        )
        .await?;
    Ok(row.get::<_, i64>(0) == 1)
}

#[tokio::test]
async fn two_test_databases_are_distinct_usable_and_dropped() -> anyhow::Result<()> {
    init_tracing();
    let first = test_database().await?;
    let second = test_database().await?;
    assert_ne!(first.name(), second.name());
    assert!(first.url().ends_with(first.name()));

    let a = connect(first.url()).await?;
    let b = connect(second.url()).await?;
    a.batch_execute("CREATE TABLE only_in_first (id int); INSERT INTO only_in_first VALUES (7)")
        .await?;
    let row = a.query_one("SELECT id FROM only_in_first", &[]).await?;
    assert_eq!(row.get::<_, i32>(0), 7);
    let missing = b.query("SELECT id FROM only_in_first", &[]).await;
    assert!(
        missing.is_err(),
        "the second database must not see the first one's table"
    );

    let name = first.name().to_owned();
    drop(first);
    assert_eventually!(
        async { matches!(database_exists(&name).await, Ok(false)) },
        timeout = Duration::from_secs(10),
        "database {name} still exists after its TestDatabase was dropped",
    );
    Ok(())
}

#[test]
fn unique_prefixes_differ_for_the_same_label() {
    let a = unique_prefix("playlist cache");
    let b = unique_prefix("playlist cache");
    assert_ne!(a, b);
    assert!(a.ends_with("_playlist_cache"));
}

#[tokio::test]
async fn assert_eventually_passes_once_the_condition_holds() {
    let counter = Arc::new(AtomicU32::new(0));
    let ticker = Arc::clone(&counter);
    tokio::spawn(async move {
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            ticker.fetch_add(1, Ordering::SeqCst);
        }
    });
    let read = || async { counter.load(Ordering::SeqCst) };
    assert_eventually!(read().await >= 3, timeout = Duration::from_secs(5));
    assert_eventually!(
        async { read().await == 5 },
        "counter stuck at {}",
        read().await
    );
}

#[tokio::test]
#[should_panic(expected = "assert_eventually failed after")]
async fn assert_eventually_panics_with_the_message_at_the_timeout() {
    let answer = 41;
    assert_eventually!(
        answer == 42,
        timeout = Duration::from_millis(100),
        "answer is {answer}",
    );
}

#[tokio::test]
#[should_panic(expected = "answer is 41")]
async fn assert_eventually_gives_up_on_a_condition_that_never_resolves() {
    let answer = 41;
    assert_eventually!(
        async { std::future::pending::<bool>().await },
        timeout = Duration::from_millis(100),
        "answer is {}",
        answer,
    );
}

#[tokio::test]
async fn eventually_returns_the_first_success_or_the_last_error() -> anyhow::Result<()> {
    let calls = AtomicU32::new(0);
    let value = eventually(Duration::from_secs(5), || async {
        let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
        anyhow::ensure!(n >= 3, "only {n} calls");
        Ok(n)
    })
    .await?;
    assert_eq!(value, 3);

    let error = eventually(Duration::from_millis(100), || async {
        anyhow::bail!("still broken") as anyhow::Result<()>
    })
    .await
    .err()
    .context("a condition that never holds must fail")?;
    let text = format!("{error:#}");
    assert!(
        text.contains("not reached after") && text.contains("still broken"),
        "{text}"
    );
    Ok(())
}

#[tokio::test]
async fn redis_cleanup_deletes_only_keys_under_the_prefix() -> anyhow::Result<()> {
    let redis = redis_client().await?;
    let mine = unique_prefix("cleanup");
    let other = unique_prefix("bystander");
    for i in 0..3 {
        redis
            .set::<(), _, _>(format!("{mine}:{i}"), i, None, None, false)
            .await?;
    }
    redis
        .set::<(), _, _>(format!("{other}:0"), 0, None, None, false)
        .await?;

    assert_eq!(delete_redis_keys(&redis, &mine).await?, 3);
    assert_eq!(redis.exists::<u32, _>(format!("{mine}:0")).await?, 0);
    assert_eq!(redis.exists::<u32, _>(format!("{other}:0")).await?, 1);
    delete_redis_keys(&redis, &other).await?;
    Ok(())
}

#[tokio::test]
async fn nats_cleanup_deletes_only_streams_under_the_prefix() -> anyhow::Result<()> {
    let js = jetstream::new(nats_client().await?);
    let mine = unique_prefix("cleanup");
    let other = unique_prefix("bystander");
    for name in [format!("{mine}-a"), format!("{mine}-b"), other.clone()] {
        js.create_stream(jetstream::stream::Config {
            subjects: vec![format!("{name}.>")],
            name,
            ..Default::default()
        })
        .await?;
    }

    assert_eq!(delete_nats_streams(&js, &mine).await?, 2);
    assert!(js.get_stream(format!("{mine}-a")).await.is_err());
    assert!(js.get_stream(&other).await.is_ok());
    delete_nats_streams(&js, &other).await?;
    Ok(())
}
