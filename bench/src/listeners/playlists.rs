//! playlist-svc's state as listeners are added: each new listener's playlists created either
//! through the store ([`Load::Store`]: `PlaylistStore::create`, one transaction each with its
//! items and outbox row, as `CreatePlaylist` does, `concurrency` at a time: the honest write
//! rate) or by COPY ([`Load::Copy`]: `PostgresStore::create_many`, the same rows for a batch
//! of listeners in one transaction: the way to reach size), then reads of a sample of all
//! playlists so far: cold (the cache emptied first: PostgreSQL, then the fill) and warm (the
//! same ids again: Redis), then PostgreSQL relation sizes and the cache's bytes per entry.
//!
//! A playlist's tracks follow MovieLens's distributions ([`Population`]), its length the data's
//! per-user counts times the population's scale.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use tunemesh_playlist::cache::{PlaylistCache, ReadThrough};
use tunemesh_playlist::model::{NewPlaylist, new_id};
use tunemesh_playlist::store::PlaylistStore;
use tunemesh_playlist::store::postgres::PostgresStore;
use tunemesh_testkit::TestDatabase;

pub use super::playlist_svc::PlaylistSvc;

use super::explain::{self, Explained};
use super::latency::{Latencies, timed};
use super::redis_memory;
use super::synth::{Population, track_id, user_id};

/// How new listeners' playlists are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Load {
    /// `PlaylistStore::create`, one playlist per transaction, `concurrency` at a time.
    Store,
    /// `PostgresStore::create_many`, a batch of listeners per transaction by COPY.
    Copy,
}

/// COPY batches in flight: one builds its rows while the other is in PostgreSQL; more
/// would only contend for the machine's two cores.
const COPIES_AT_ONCE: usize = 2;

/// Playlists whose page statements are explained at each size, before the cold reads.
pub const EXPLAINED: usize = 50;

/// Tables whose size is reported, in this order.
pub const TABLES: [&str; 3] = ["playlists", "playlist_items", "event_outbox"];

/// playlist-svc's store and cache in a fresh database and key prefix, growing.
pub struct PlaylistState {
    store: Arc<dyn PlaylistStore>,
    postgres: Arc<PostgresStore>,
    load: Load,
    copy_batch: usize,
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
    /// A cold read's statements explained, over [`EXPLAINED`] other playlists.
    pub explained: Explained,
}

impl PlaylistState {
    /// An empty playlist-svc with `per_user` playlists for each listener to come, written as
    /// `load` says (by COPY, `copy_batch` listeners per transaction).
    pub async fn new(
        population: Population,
        per_user: usize,
        concurrency: usize,
        load: Load,
        copy_batch: usize,
    ) -> anyhow::Result<Self> {
        let svc = PlaylistSvc::open(concurrency + 4).await?;
        let (sql, connection) =
            tokio_postgres::connect(svc.db.url(), tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        Ok(Self {
            store: svc.store,
            postgres: svc.postgres,
            load,
            copy_batch: copy_batch.max(1),
            cache: svc.cache,
            reads: svc.reads,
            population: Arc::new(population),
            db: svc.db,
            sql,
            client: tunemesh_testkit::redis_client().await?,
            prefix: svc.prefix,
            per_user,
            ids: Vec::new(),
            items: 0,
            users: 0,
        })
    }

    /// Adds listeners up to `users` in total, writing their playlists as the state's load
    /// says, then measures `queries` reads cold and warm.
    pub async fn grow(
        &mut self,
        users: usize,
        concurrency: usize,
        queries: usize,
    ) -> anyhow::Result<PlaylistStep> {
        let started = Instant::now();
        let step_playlists = users.saturating_sub(self.users) * self.per_user;
        let created = match self.load {
            Load::Store => self.create(users, concurrency).await?,
            Load::Copy => self.copy(users).await?,
        };
        for (id, n) in created {
            self.ids.push(id);
            self.items += n;
        }
        let step_time = started.elapsed();
        self.users = self.users.max(users);
        let explained = self.explain().await?;
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
            explained,
        })
    }

    /// New listeners' playlists through `PlaylistStore::create`, `concurrency` at a time;
    /// their ids and item counts.
    async fn create(
        &self,
        users: usize,
        concurrency: usize,
    ) -> anyhow::Result<Vec<(String, usize)>> {
        let playlists: Vec<(usize, usize)> = (self.users..users)
            .flat_map(|u| (0..self.per_user).map(move |k| (u, k)))
            .collect();
        let (store, population, per_user) =
            (self.store.clone(), self.population.clone(), self.per_user);
        all_of(playlists, concurrency, |(u, k)| {
            let (store, population) = (store.clone(), population.clone());
            async move {
                let new = new_playlist(&population, per_user, u, k);
                let n = new.track_ids.len();
                Ok(vec![(store.create(new).await?.id, n)])
            }
        })
        .await
    }

    /// New listeners' playlists by COPY, `copy_batch` listeners per transaction; their ids
    /// and item counts.
    async fn copy(&self, users: usize) -> anyhow::Result<Vec<(String, usize)>> {
        let batches: Vec<std::ops::Range<usize>> = (self.users..users)
            .step_by(self.copy_batch)
            .map(|first| first..(first + self.copy_batch).min(users))
            .collect();
        let (postgres, population, per_user) = (
            self.postgres.clone(),
            self.population.clone(),
            self.per_user,
        );
        all_of(batches, COPIES_AT_ONCE, |listeners| {
            let (postgres, population) = (postgres.clone(), population.clone());
            async move {
                let new = listeners
                    .flat_map(|u| (0..per_user).map(move |k| (u, k)))
                    .map(|(u, k)| new_playlist(&population, per_user, u, k))
                    .collect();
                let created = postgres.create_many(new).await?;
                Ok(created
                    .into_iter()
                    .map(|p| (p.id, p.item_count as usize))
                    .collect())
            }
        })
        .await
    }

    /// [`EXPLAINED`] playlists drawn uniformly (another draw than the reads'), their page
    /// statements explained.
    async fn explain(&self) -> anyhow::Result<Explained> {
        let mut rng = StdRng::seed_from_u64(!(self.ids.len() as u64));
        let ids: Vec<String> = (0..EXPLAINED.min(self.ids.len()))
            .map(|_| self.ids[rng.random_range(0..self.ids.len())].clone())
            .collect();
        explain::page_reads(&self.sql, &ids).await
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
        drop((self.reads, self.store, self.postgres, self.sql));
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

/// Runs `job` on each of `jobs`, `at_once` at a time; what they made, or the first failure.
async fn all_of<J, F, Fut>(
    jobs: Vec<J>,
    at_once: usize,
    job: F,
) -> anyhow::Result<Vec<(String, usize)>>
where
    F: FnMut(J) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Vec<(String, usize)>>>,
{
    let done: Vec<anyhow::Result<Vec<_>>> = futures::stream::iter(jobs)
        .map(job)
        .buffer_unordered(at_once.max(1))
        .collect()
        .await;
    let mut all = Vec::new();
    for made in done {
        all.extend(made?);
    }
    Ok(all)
}

/// Listener `u`'s playlist `k` (of `per_user`), with a fresh id: its tracks the population's
/// history number `u * per_user + k`, every duration known (as the catalogue check gives
/// them), public for even `k`.
pub fn new_playlist(population: &Population, per_user: usize, u: usize, k: usize) -> NewPlaylist {
    let track_ids: Vec<String> = population
        .history(u * per_user + k)
        .iter()
        .map(|p| track_id(p.track))
        .collect();
    let durations = track_ids
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), 150_000 + (i as u64 % 7) * 20_000))
        .collect();
    NewPlaylist {
        id: new_id(),
        owner_id: user_id(u),
        request_id: None,
        name: format!("Playlist {k}"),
        description: String::new(),
        public: k.is_multiple_of(2),
        collaborative: false,
        track_ids,
        durations,
    }
}

#[cfg(test)]
mod tests;
