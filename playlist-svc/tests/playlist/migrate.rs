//! Databases made before the shared migration runner (history in `playlist_schema_migrations`,
//! V1 and V2 applied by the old hand-rolled runner) migrate under it without losing a row,
//! and the runner is a no-op the second time.

use tunemesh_events::outbox::OutboxWaker;
use tunemesh_playlist::store::PlaylistStore;
use tunemesh_playlist::store::postgres::{self, PostgresStore};
use tunemesh_playlist::store::sqlite::{self, SqliteStore};
use tunemesh_runtime::migrate;
use tunemesh_runtime::postgres::{PostgresSettings, connect};

/// The old V1 text: today's step is the same DDL with `IF NOT EXISTS` added, nothing else.
fn old_v1(today: &str) -> String {
    today.replace(" IF NOT EXISTS", "")
}

/// What the old runner did on a fresh database, then one playlist written by the old code.
fn legacy(v1: &str, outbox: &str, applied_ms_type: &str) -> String {
    format!(
        "CREATE TABLE playlist_schema_migrations (
             version INTEGER PRIMARY KEY, applied_ms {applied_ms_type} NOT NULL);
         {v1}
         {outbox}
         INSERT INTO playlist_schema_migrations VALUES (1, 0), (2, 0);
         INSERT INTO playlists (id, owner_id, name, public, collaborative, version, revision,
             create_ms, update_ms)
         VALUES ('pl-old', 'user-old', 'Made before the runner', TRUE, FALSE, 3, 3, 1, 2);"
    )
}

async fn assert_kept(store: &dyn PlaylistStore) -> anyhow::Result<()> {
    let page = store.page("pl-old", 0, 10).await?;
    let playlist = page.map(|p| p.playlist);
    assert_eq!(
        playlist.as_ref().map(|p| (p.name.as_str(), p.version)),
        Some(("Made before the runner", 3))
    );
    Ok(())
}

#[tokio::test]
async fn a_postgres_database_of_the_old_runner_migrates_without_loss() -> anyhow::Result<()> {
    let db = tunemesh_testkit::test_database().await?;
    let pool = connect(&PostgresSettings {
        url: db.url().to_owned().into(),
        ..PostgresSettings::default()
    })
    .await?;
    let v1 = old_v1(include_str!("../../migrations/postgres/V1__playlists.sql"));
    let outbox = tunemesh_events::outbox::postgres::MIGRATION;
    pool.get()
        .await?
        .batch_execute(&legacy(&v1, outbox, "BIGINT"))
        .await?;

    let first = migrate::postgres(&pool, &postgres::MIGRATIONS).await?;
    assert_eq!(
        first.steps,
        [
            "V1__playlists",
            "V2__event_outbox",
            "V3__backfills",
            "V4__generated_playlists",
            "V5__liked_items_and_play_queues",
            "V6__durations",
            "V7__add_requests"
        ]
    );
    let store = PostgresStore::open(pool.clone(), OutboxWaker::new()).await?;
    assert_kept(&store).await?;
    let again = migrate::postgres(&pool, &postgres::MIGRATIONS).await?;
    assert!(again.steps.is_empty(), "{again:?}");
    Ok(())
}

#[tokio::test]
async fn a_sqlite_file_of_the_old_runner_migrates_without_loss() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("playlists.sqlite");
    let v1 = old_v1(include_str!("../../migrations/sqlite/V1__playlists.sql"));
    let outbox = tunemesh_events::outbox::sqlite::MIGRATION;
    rusqlite::Connection::open(&path)?.execute_batch(&legacy(&v1, outbox, "INTEGER"))?;

    let store = SqliteStore::open(&path, OutboxWaker::new()).await?;
    assert_kept(&store).await?;
    let db = tokio_rusqlite::Connection::open(&path).await?;
    let again = migrate::sqlite(&db, &sqlite::MIGRATIONS).await?;
    assert!(again.steps.is_empty(), "{again:?}");
    Ok(())
}
