//! The one migration runner against the real PostgreSQL server (a fresh database per test)
//! and SQLite (a fresh file per test), with fixture steps under `migrations/`.

use secrecy::SecretString;
use tunemesh_runtime::migrate::{self, Migrations};
use tunemesh_runtime::postgres::{PostgresSettings, connect};
use tunemesh_testkit::{TestDatabase, init_tracing, test_database};

mod good {
    refinery::embed_migrations!("tests/runtime/migrations/good");
}

mod broken {
    refinery::embed_migrations!("tests/runtime/migrations/broken");
}

const NOTES: Migrations = Migrations {
    service: "notes",
    history_table: "notes_schema_history",
    steps: good::migrations::runner,
};

async fn pool(db: &TestDatabase) -> anyhow::Result<deadpool_postgres::Pool> {
    Ok(connect(&PostgresSettings {
        url: SecretString::from(db.url()),
        max_connections: 2,
        ..PostgresSettings::default()
    })
    .await?)
}

/// Replicas starting together each run the migrations: all succeed, the steps are applied
/// exactly once between them, and the schema is complete.
#[tokio::test]
async fn concurrent_runs_on_one_database_all_succeed_and_apply_once() -> anyhow::Result<()> {
    init_tracing();
    let db = test_database().await?;
    let mut runs = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let pool = pool(&db).await?;
        runs.spawn(async move { migrate::postgres(&pool, &NOTES).await });
    }
    let mut applied = Vec::new();
    while let Some(run) = runs.join_next().await {
        applied.extend(run??.steps);
    }
    assert_eq!(applied, ["V1__notes", "V2__note_tags"]);
    let client = pool(&db).await?.get().await?;
    client
        .execute(
            "INSERT INTO notes (id, body, tag) VALUES (1, 'x', 'y')",
            &[],
        )
        .await?;
    Ok(())
}

/// A failed step is reported, and the lock is released: the next run is not blocked.
#[tokio::test]
async fn a_failed_step_releases_the_lock() -> anyhow::Result<()> {
    init_tracing();
    let db = test_database().await?;
    let pool = pool(&db).await?;
    let broken = Migrations {
        steps: broken::migrations::runner,
        ..NOTES
    };
    let error = migrate::postgres(&pool, &broken)
        .await
        .expect_err("V2 fails");
    assert_eq!(error.to_string(), "cannot migrate the notes database");
    let held: i64 = pool
        .get()
        .await?
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database =
                 (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[],
        )
        .await?
        .get(0);
    assert_eq!(held, 0, "the advisory lock outlived the failed run");
    let fixed = migrate::postgres(&pool, &NOTES).await?;
    assert_eq!(fixed.steps, ["V2__note_tags"], "V1 stayed applied");
    Ok(())
}

/// Two services in one database keep separate histories: neither sees the other's steps.
#[tokio::test]
async fn services_sharing_a_database_keep_their_own_history() -> anyhow::Result<()> {
    init_tracing();
    let db = test_database().await?;
    let pool = pool(&db).await?;
    migrate::postgres(&pool, &NOTES).await?;
    let other = Migrations {
        service: "other",
        history_table: "other_schema_history",
        steps: good::migrations::runner,
    };
    // The same steps under another history: V1 runs again and fails on the existing table,
    // which proves it did not read the notes history.
    assert!(migrate::postgres(&pool, &other).await.is_err());
    let again = migrate::postgres(&pool, &NOTES).await?;
    assert!(again.steps.is_empty(), "{again:?}");
    Ok(())
}

#[tokio::test]
async fn sqlite_applies_once_then_is_a_no_op() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = tokio_rusqlite::Connection::open(dir.path().join("notes.sqlite")).await?;
    let first = migrate::sqlite(&db, &NOTES).await?;
    assert_eq!(first.steps, ["V1__notes", "V2__note_tags"]);
    let second = migrate::sqlite(&db, &NOTES).await?;
    assert!(second.steps.is_empty(), "{second:?}");
    Ok(())
}
