//! playlist-svc's domain parts for its benchmarks (`listeners`, `playlist_cache`): the
//! PostgreSQL store and the Redis cache over a fresh database and key prefix.

use std::sync::Arc;
use std::time::Duration;

use tunemesh_events::outbox::OutboxWaker;
use tunemesh_playlist::cache::redis::RedisCache;
use tunemesh_playlist::cache::{PlaylistCache, ReadThrough};
use tunemesh_playlist::store::PlaylistStore;
use tunemesh_playlist::store::postgres::PostgresStore;
use tunemesh_runtime::postgres::PostgresSettings;
use tunemesh_runtime::redis::{KeyPrefix, RedisSettings};
use tunemesh_testkit::TestDatabase;

/// playlist-svc's domain parts over a fresh database and key prefix (the cache's TTL is the
/// service's default, 300 s; loads through the cache are bounded by 5 s).
pub struct PlaylistSvc {
    /// The database; dropped with this value.
    pub db: TestDatabase,
    /// The PostgreSQL store.
    pub store: Arc<dyn PlaylistStore>,
    /// The same store, for what only PostgreSQL has (`create_many`).
    pub postgres: Arc<PostgresStore>,
    /// The Redis cache.
    pub cache: Arc<dyn PlaylistCache>,
    /// Reads through the cache.
    pub reads: Arc<ReadThrough>,
    /// The key prefix, ending in `:`.
    pub prefix: String,
}

impl std::fmt::Debug for PlaylistSvc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlaylistSvc")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl PlaylistSvc {
    /// Opens the store with up to `connections` PostgreSQL connections, and the cache.
    pub async fn open(connections: usize) -> anyhow::Result<Self> {
        let db = tunemesh_testkit::test_database().await?;
        let postgres = PostgresSettings {
            url: db.url().to_owned().into(),
            max_connections: connections,
            ..PostgresSettings::default()
        };
        let pool = tunemesh_runtime::postgres::connect(&postgres).await?;
        let postgres = Arc::new(PostgresStore::open(pool, OutboxWaker::new()).await?);
        let store: Arc<dyn PlaylistStore> = postgres.clone();
        let prefix = format!("{}:", tunemesh_testkit::unique_prefix("bench"));
        let redis = RedisSettings {
            url: tunemesh_testkit::servers().redis_url.clone().into(),
            key_prefix: prefix.clone(),
            ..RedisSettings::default()
        };
        let redis_pool = tunemesh_runtime::redis::connect(&redis).await?;
        let cache: Arc<dyn PlaylistCache> = Arc::new(RedisCache::new(
            redis_pool,
            &KeyPrefix::from(&redis),
            Duration::from_secs(300),
        ));
        let reads = Arc::new(ReadThrough::new(
            store.clone(),
            cache.clone(),
            Duration::from_secs(5),
        ));
        Ok(Self {
            db,
            store,
            postgres,
            cache,
            reads,
            prefix,
        })
    }
}
