//! The PostgreSQL adapter against the real server, one fresh database per test.

use std::time::Duration;

use anyhow::Context as _;
use secrecy::SecretString;
use tunemesh_runtime::postgres::{PostgresSettings, connect};
use tunemesh_testkit::{TestDatabase, init_tracing, test_database};

fn settings_for(db: &TestDatabase) -> PostgresSettings {
    PostgresSettings {
        url: SecretString::from(db.url()),
        max_connections: 4,
        ..PostgresSettings::default()
    }
}

#[tokio::test]
async fn connect_round_trips_a_row_through_the_pool() -> anyhow::Result<()> {
    init_tracing();
    let db = test_database().await?;
    let pool = connect(&settings_for(&db)).await?;

    let client = pool.get().await?;
    client
        .batch_execute("CREATE TABLE tracks (id bigint PRIMARY KEY, title text NOT NULL)")
        .await?;
    client
        .execute(
            "INSERT INTO tracks (id, title) VALUES ($1, $2)",
            &[&7_i64, &"Ölmez (live)"],
        )
        .await?;
    let row = client
        .query_one("SELECT title FROM tracks WHERE id = $1", &[&7_i64])
        .await?;
    assert_eq!(row.get::<_, String>(0), "Ölmez (live)");
    Ok(())
}

#[tokio::test]
async fn statement_timeout_cancels_a_runaway_statement() -> anyhow::Result<()> {
    init_tracing();
    let db = test_database().await?;
    let settings = PostgresSettings {
        statement_timeout: Duration::from_millis(100),
        ..settings_for(&db)
    };
    let pool = connect(&settings).await?;

    let error = pool
        .get()
        .await?
        .batch_execute("SELECT pg_sleep(30)")
        .await
        .err()
        .context("a 30 s sleep must be cancelled by a 100 ms statement_timeout")?;
    assert_eq!(
        error.code(),
        Some(&tokio_postgres::error::SqlState::QUERY_CANCELED),
        "{error}"
    );
    Ok(())
}

#[tokio::test]
async fn a_transaction_left_idle_is_ended_and_its_row_locks_released() -> anyhow::Result<()> {
    init_tracing();
    let db = test_database().await?;
    let settings = PostgresSettings {
        idle_in_transaction_timeout: Duration::from_millis(200),
        ..settings_for(&db)
    };
    let pool = connect(&settings).await?;
    let other = pool.get().await?;
    other
        .batch_execute("CREATE TABLE lists (id bigint PRIMARY KEY, n bigint NOT NULL); INSERT INTO lists VALUES (1, 0)")
        .await?;
    // A writer that locks the row and then hangs (its process frozen) sends nothing more.
    let mut hung = pool.get().await?;
    let tx = hung.transaction().await?;
    tx.execute("SELECT n FROM lists WHERE id = 1 FOR UPDATE", &[])
        .await?;
    // Another writer gets the row once PostgreSQL has ended the idle transaction.
    let update = other.execute("UPDATE lists SET n = n + 1 WHERE id = 1", &[]);
    let updated = tokio::time::timeout(Duration::from_secs(5), update)
        .await
        .context("the row stayed locked by an idle transaction")??;
    assert_eq!(updated, 1);
    assert!(tx.commit().await.is_err(), "the idle transaction was ended");
    Ok(())
}

#[tokio::test]
async fn closed_port_fails_fast_with_an_error_naming_the_server() -> anyhow::Result<()> {
    init_tracing();
    let port = closed_port()?;
    let settings = PostgresSettings {
        url: SecretString::from(format!("postgres://app:hunter2@127.0.0.1:{port}/music")),
        ..PostgresSettings::default()
    };

    // The bound only detects a hang; a refused connection fails at once.
    let result = tokio::time::timeout(Duration::from_secs(3), connect(&settings))
        .await
        .context("connect to a closed port hung instead of failing")?;
    let message = result
        .err()
        .context("connect to a closed port succeeded")?
        .to_string();
    assert_eq!(
        message,
        format!("postgresql at 127.0.0.1:{port}/music is unreachable")
    );
    Ok(())
}

/// A loopback port with nothing listening: bound by us, then released.
fn closed_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
