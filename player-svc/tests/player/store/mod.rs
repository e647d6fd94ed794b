//! The store contract: one suite per port (the catalogue in `cases`, play sessions in
//! `sessions`), run against PostgreSQL (a fresh database per test) and SQLite (a fresh file
//! per test). `counts` also writes behind the store's back, through [`Raw`].

mod cases;
mod counts;
mod listings;
mod sessions;
mod upgrade;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tunemesh_player::store::postgres::PostgresStore;
use tunemesh_player::store::sqlite::SqliteStore;
use tunemesh_player::store::{CatalogStore, PlaySessionStore};
use tunemesh_runtime::postgres::{PostgresSettings, connect};
use tunemesh_testkit::{TestDatabase, test_database};

/// Keeps the backing database or directory alive for the test.
#[allow(dead_code)]
enum Backing {
    Postgres(TestDatabase),
    Sqlite(tempfile::TempDir),
}

/// Runs one SQL statement on the store's database and answers the rows it changed.
type Exec =
    Arc<dyn Fn(String) -> Pin<Box<dyn Future<Output = anyhow::Result<u64>> + Send>> + Send + Sync>;

/// The catalogue with a way around it: what the store has no call for (deleting rows) is
/// done in SQL, which both databases take as written.
#[derive(Clone)]
struct Raw {
    catalog: Arc<dyn CatalogStore>,
    exec: Exec,
}

/// One adapter's store, as each port.
struct Opened {
    catalog: Arc<dyn CatalogStore>,
    sessions: Arc<dyn PlaySessionStore>,
    raw: Raw,
    _backing: Backing,
}

async fn postgres() -> anyhow::Result<Opened> {
    let db = test_database().await?;
    let settings = PostgresSettings {
        url: db.url().to_owned().into(),
        ..PostgresSettings::default()
    };
    let store = Arc::new(PostgresStore::migrate(connect(&settings).await?).await?);
    let pool = store.pool();
    let exec: Exec = Arc::new(move |statement| {
        let pool = pool.clone();
        Box::pin(async move { Ok(pool.get().await?.execute(&statement, &[]).await?) })
    });
    Ok(Opened {
        catalog: store.clone(),
        sessions: store.clone(),
        raw: Raw {
            catalog: store,
            exec,
        },
        _backing: Backing::Postgres(db),
    })
}

async fn sqlite() -> anyhow::Result<Opened> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteStore::open(&dir.path().join("catalog.sqlite")).await?);
    let db = store.connection();
    let exec: Exec = Arc::new(move |statement| {
        let db = db.clone();
        Box::pin(async move {
            let changed = db.call(move |c| c.execute(&statement, [])).await?;
            Ok(u64::try_from(changed)?)
        })
    });
    Ok(Opened {
        catalog: store.clone(),
        sessions: store.clone(),
        raw: Raw {
            catalog: store,
            exec,
        },
        _backing: Backing::Sqlite(dir),
    })
}

/// Each case of `$module` on both adapters, given the port `$port` of the opened store.
macro_rules! contract {
    ($($module:ident . $port:ident: [$($case:ident),* $(,)?]),* $(,)?) => {
        mod on_postgres {
            $($(
                #[tokio::test]
                async fn $case() -> anyhow::Result<()> {
                    let opened = super::postgres().await?;
                    super::$module::$case(opened.$port.clone()).await
                }
            )*)*
        }
        mod on_sqlite {
            $($(
                #[tokio::test]
                async fn $case() -> anyhow::Result<()> {
                    let opened = super::sqlite().await?;
                    super::$module::$case(opened.$port.clone()).await
                }
            )*)*
        }
    };
}

contract!(
    cases.catalog: [
        a_track_is_found_by_id_source_and_hash,
        albums_and_artists_aggregate_their_tracks_in_album_order,
        keyset_pages_see_every_track_once_with_the_total,
        artists_list_by_sort_name,
        an_artist_pictures_the_cover_of_their_first_album_that_has_one,
        re_putting_a_source_keeps_its_id_and_creation_time,
        tracks_put_together_are_all_stored_with_their_albums,
    ],
    listings.catalog: [
        albums_list_by_position_in_each_order_with_filters,
        a_retagged_track_refreshes_the_year_of_both_albums,
        the_key_at_an_offset_resumes_each_keyset_listing,
        samples_run_by_id_from_a_start_within_the_filters,
        genres_count_their_tracks_and_albums,
        an_artist_counts_and_pictures_albums_they_only_feature_on,
    ],
    counts.raw: [
        totals_follow_inserts_bulk_inserts_retags_and_deletes,
        concurrent_writers_keep_the_totals,
    ],
    sessions.sessions: [
        sessions_are_updated_under_the_domain_rule_and_found_when_stale,
        an_unchanged_decision_stores_nothing,
        stale_sessions_are_open_ones_oldest_first_up_to_the_limit,
    ],
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
