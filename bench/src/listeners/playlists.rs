//! playlist-svc's state as listeners are added: each new listener's playlists created through
//! the store (`PlaylistStore::create`, one transaction each with its items and outbox row, as
//! `CreatePlaylist` does, `concurrency` at a time), then reads of a sample of all playlists so
//! far: cold (the cache emptied first: PostgreSQL, then the fill) and warm (the same ids again:
//! Redis), then PostgreSQL relation sizes and the cache's bytes per entry.
//!
//! A playlist's tracks follow MovieLens's distributions ([`Population`]), its length the data's
//! per-user counts times the population's scale.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use tunemesh_events::outbox::OutboxWaker;
use tunemesh_playlist::cache::redis::RedisCache;
use tunemesh_playlist::cache::{PlaylistCache, ReadThrough};
use tunemesh_playlist::model::{NewPlaylist, new_id};
use tunemesh_playlist::store::PlaylistStore;
use tunemesh_playlist::store::postgres::PostgresStore;
use tunemesh_runtime::postgres::PostgresSettings;
use tunemesh_runtime::redis::{KeyPrefix, RedisSettings};
use tunemesh_testkit::TestDatabase;

use super::latency::{Latencies, timed};
use super::redis_memory;
use super::synth::{Population, track_id, user_id};

/// Tables whose size is reported, in this order.
pub const TABLES: [&str; 3] = ["playlists", "playlist_items", "event_outbox"];

/// playlist-svc's store and cache in a fresh database and key prefix, growing.
pub struct PlaylistState {
    store: Arc<dyn PlaylistStore>,
    cache: Arc<dyn PlaylistCache>,
    reads: Arc<ReadThrough>,
    population: Arc<Population>,
    db: TestDatabase,
    sql: tokio_postgres::Client,
    client: fred::prelude::Client,
    prefix: String,
    per_user: usize,
    ids: Vec<String>,
    items: usize,
    users: usize,
}

impl std::fmt::Debug for PlaylistState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlaylistState")
            .field("prefix", &self.prefix)
            .field("users", &self.users)
            .finish_non_exhaustive()
    }
}

/// playlist-svc's domain parts over a fresh database and key prefix (the cache's TTL is the
/// service's default, 300 s; loads through the cache are bounded by 5 s).
pub struct PlaylistSvc {
    /// The database; dropped with this value.
    pub db: TestDatabase,
    /// The PostgreSQL store.
    pub store: Arc<dyn PlaylistStore>,
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
        let store: Arc<dyn PlaylistStore> =
            Arc::new(PostgresStore::open(pool, OutboxWaker::new()).await?);
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
            cache,
            reads,
            prefix,
        })
    }
}

/// What one size measured.
#[derive(Debug, Clone)]
pub struct PlaylistStep {
    /// Listeners so far.
    pub users: usize,
    /// Playlists so far.
    pub playlists: usize,
    /// Items so far.
    pub items: usize,
    /// Playlists created in this step and how long that took.
    pub step_playlists: usize,
    /// Time of this step's creations.
    pub step_time: Duration,
    /// `pg_total_relation_size` of each of [`TABLES`].
    pub table_bytes: Vec<i64>,
    /// Reads with the cache empty.
    pub cold: Latencies,
    /// The same reads again, from the cache.
    pub warm: Latencies,
    /// Mean bytes of a cache entry (`MEMORY USAGE`), over the warm sample.
    pub cache_entry_bytes: f64,
}

impl PlaylistState {
    /// An empty playlist-svc with `per_user` playlists for each listener to come.
    pub async fn new(
        population: Population,
        per_user: usize,
        concurrency: usize,
    ) -> anyhow::Result<Self> {
        let PlaylistSvc {
            db,
            store,
            cache,
            reads,
            prefix,
        } = PlaylistSvc::open(concurrency + 4).await?;
        let (sql, connection) = tokio_postgres::connect(db.url(), tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        Ok(Self {
            store,
            cache,
            reads,
            population: Arc::new(population),
            db,
            sql,
            client: tunemesh_testkit::redis_client().await?,
            prefix,
            per_user,
            ids: Vec::new(),
            items: 0,
            users: 0,
        })
    }

    /// Adds listeners up to `users` in total, creating their playlists `concurrency` at a
    /// time, then measures `queries` reads cold and warm.
    pub async fn grow(
        &mut self,
        users: usize,
        concurrency: usize,
        queries: usize,
    ) -> anyhow::Result<PlaylistStep> {
        let started = Instant::now();
        let playlists: Vec<(usize, usize)> = (self.users..users)
            .flat_map(|u| (0..self.per_user).map(move |k| (u, k)))
            .collect();
        let step_playlists = playlists.len();
        let (store, population, per_user) =
            (self.store.clone(), self.population.clone(), self.per_user);
        let created: Vec<anyhow::Result<(String, usize)>> = futures::stream::iter(playlists)
            .map(|(u, k)| {
                let (store, population) = (store.clone(), population.clone());
                async move {
                    let tracks: Vec<String> = population
                        .history(u * per_user + k)
                        .iter()
                        .map(|p| track_id(p.track))
                        .collect();
                    let n = tracks.len();
                    // As the catalogue check gives them: every track's duration known.
                    let durations = tracks
                        .iter()
                        .enumerate()
                        .map(|(i, t)| (t.clone(), 150_000 + (i as u64 % 7) * 20_000))
                        .collect();
                    let new = NewPlaylist {
                        id: new_id(),
                        owner_id: user_id(u),
                        request_id: None,
                        name: format!("Playlist {k}"),
                        description: String::new(),
                        public: k % 2 == 0,
                        collaborative: false,
                        track_ids: tracks,
                        durations,
                    };
                    Ok((store.create(new).await?.id, n))
                }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        for result in created {
            let (id, n) = result?;
            self.ids.push(id);
            self.items += n;
        }
        let step_time = started.elapsed();
        self.users = self.users.max(users);
        let (cold, warm, cache_entry_bytes) = self.read(queries).await?;
        let mut table_bytes = Vec::new();
        for table in TABLES {
            let row = self
                .sql
                .query_one(
                    "SELECT pg_total_relation_size($1::text::regclass)",
                    &[&table],
                )
                .await?;
            table_bytes.push(row.get::<_, i64>(0));
        }
        Ok(PlaylistStep {
            users: self.users,
            playlists: self.ids.len(),
            items: self.items,
            step_playlists,
            step_time,
            table_bytes,
            cold,
            warm,
            cache_entry_bytes,
        })
    }

    /// `queries` distinct playlists drawn uniformly, read with the cache emptied, then again.
    async fn read(&self, queries: usize) -> anyhow::Result<(Latencies, Latencies, f64)> {
        tunemesh_testkit::delete_redis_keys(&self.client, &self.prefix).await?;
        // PostgreSQL's own buffers still hold what the creations wrote: cold here means
        // "not in Redis", the path a cache miss takes.
        let mut rng = StdRng::seed_from_u64(self.ids.len() as u64);
        let mut sample: Vec<String> = (0..queries.min(self.ids.len()))
            .map(|_| self.ids[rng.random_range(0..self.ids.len())].clone())
            .collect();
        sample.sort_unstable();
        sample.dedup();
        let sample = Arc::new(sample);
        let n = sample.len();
        let (r, s) = (self.reads.clone(), sample.clone());
        let cold = timed(n, 8, move |i| {
            let (r, id) = (r.clone(), s[i].clone());
            async move {
                anyhow::ensure!(r.read(&id).await?.is_some(), "playlist {id} missing");
                Ok(())
            }
        })
        .await?;
        let (c, s) = (self.cache.clone(), sample.clone());
        let warm = timed(n, 8, move |i| {
            let (c, id) = (c.clone(), s[i].clone());
            async move {
                anyhow::ensure!(c.get(&id).await.is_some(), "playlist {id} not cached");
                Ok(())
            }
        })
        .await?;
        let mut bytes = 0;
        for id in sample.iter().take(200) {
            let key = format!("{}playlist:{id}", self.prefix);
            bytes += redis_memory::key_bytes(&self.client, &key).await?;
        }
        Ok((cold, warm, bytes as f64 / n.clamp(1, 200) as f64))
    }

    /// Deletes the run's keys and database (now: a process about to exit cannot leave it to
    /// the thread [`TestDatabase`]'s drop starts).
    pub async fn clean_up(self) -> anyhow::Result<()> {
        tunemesh_testkit::delete_redis_keys(&self.client, &self.prefix).await?;
        let name = self.db.name().to_owned();
        drop((self.reads, self.store, self.sql));
        let (admin, connection) = tokio_postgres::connect(
            &tunemesh_testkit::servers().postgres_url,
            tokio_postgres::NoTls,
        )
        .await?;
        tokio::spawn(connection);
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await?;
        Ok(())
    }
}
