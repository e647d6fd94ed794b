//! The store contract: one suite, run against PostgreSQL (a fresh database per test) and
//! SQLite (a fresh file per test).

mod cases;

use std::sync::Arc;

use tunemesh_player::store::CatalogStore;
use tunemesh_player::store::postgres::PostgresStore;
use tunemesh_player::store::sqlite::SqliteStore;
use tunemesh_runtime::postgres::{PostgresSettings, connect};
use tunemesh_testkit::{TestDatabase, test_database};

/// Keeps the backing database or directory alive for the test.
#[allow(dead_code)]
enum Backing {
    Postgres(TestDatabase),
    Sqlite(tempfile::TempDir),
}

async fn postgres() -> anyhow::Result<(Arc<dyn CatalogStore>, Backing)> {
    let db = test_database().await?;
    let settings = PostgresSettings {
        url: db.url().to_owned().into(),
        ..PostgresSettings::default()
    };
    let store = PostgresStore::migrate(connect(&settings).await?).await?;
    Ok((Arc::new(store), Backing::Postgres(db)))
}

async fn sqlite() -> anyhow::Result<(Arc<dyn CatalogStore>, Backing)> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(&dir.path().join("catalog.sqlite")).await?;
    Ok((Arc::new(store), Backing::Sqlite(dir)))
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod on_postgres {
            $(
                #[tokio::test]
                async fn $case() -> anyhow::Result<()> {
                    let (store, _backing) = super::postgres().await?;
                    super::cases::$case(store).await
                }
            )*
        }
        mod on_sqlite {
            $(
                #[tokio::test]
                async fn $case() -> anyhow::Result<()> {
                    let (store, _backing) = super::sqlite().await?;
                    super::cases::$case(store).await
                }
            )*
        }
    };
}

contract!(
    a_track_is_found_by_id_source_and_hash,
    albums_and_artists_aggregate_their_tracks_in_album_order,
    keyset_pages_see_every_track_once_with_the_total,
    artists_list_by_sort_name,
    re_putting_a_source_keeps_its_id_and_creation_time,
    sessions_are_updated_under_the_domain_rule_and_found_when_stale,
);

/// Replicas of a deployment start together and each migrates: they take turns, and all of
/// them end up with the same, complete schema.
#[tokio::test]
async fn replicas_migrating_at_once_all_succeed() -> anyhow::Result<()> {
    let db = test_database().await?;
    let settings = PostgresSettings {
        url: db.url().to_owned().into(),
        ..PostgresSettings::default()
    };
    let mut replicas = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let pool = connect(&settings).await?;
        replicas.spawn(PostgresStore::migrate(pool));
    }
    while let Some(joined) = replicas.join_next().await {
        joined??;
    }
    let store = PostgresStore::migrate(connect(&settings).await?).await?;
    cases::artists_list_by_sort_name(Arc::new(store)).await
}
