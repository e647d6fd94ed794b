//! reco-svc's state as listeners are added: the catalogue's facts first, then each new
//! listener's whole history through the consumer's own calls (`listeners` for their state,
//! `plan_listen`, one pipelined `apply_all` per round), then `Recommend` and `Radio` for a
//! sample of the listeners so far, then Redis memory by key kind.
//!
//! A round takes the next play of each of up to `batch` listeners, as the consumer's batches
//! do (`reco-svc/src/feed/plays.rs`): one read, one pipeline of Lua batches. There is no bus:
//! the rate is what the store sustains for one consumer replica, the ceiling of the real path
//! (`reco_stream` measures the bus on top).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use tokio::sync::watch;
use tunemesh_proto::catalog::v1::ArtistRef;
use tunemesh_proto::catalog::v1::{AlbumRef, Track};
use tunemesh_proto::prost_types::Timestamp;
use tunemesh_proto::reco::v1::{RadioRequest, RecommendRequest};
use tunemesh_reco::model::update::{plan_listen, plan_track};
use tunemesh_reco::model::{Listen, ListenKind, ModelParams};
use tunemesh_reco::service::{ModelRecommender, Recommender as _};
use tunemesh_reco::store::redis::RedisStore;
use tunemesh_reco::store::{Applied, RecoStore as _, WriteBatch};
use tunemesh_runtime::redis::{KeyPrefix, RedisSettings};

use super::latency::{Latencies, timed};
use super::redis_memory::{self, Kind};
use super::synth::{Population, track_id, user_id};

/// Tracks per artist and per album in the generated catalogue.
const TRACKS_PER_ALBUM: usize = 10;
const ALBUMS_PER_ARTIST: usize = 3;

/// reco-svc's Redis store under `prefix` on 4 connections, and the pool it uses.
pub async fn redis_store(
    prefix: &str,
    dedup_ttl: Duration,
) -> anyhow::Result<(RedisStore, fred::prelude::Pool)> {
    let settings = RedisSettings {
        url: tunemesh_testkit::servers().redis_url.clone().into(),
        key_prefix: prefix.to_owned(),
        pool_size: 4,
        ..RedisSettings::default()
    };
    let pool = tunemesh_runtime::redis::connect(&settings).await?;
    let store = RedisStore::new(pool.clone(), KeyPrefix::new(prefix), dedup_ttl);
    Ok((store, pool))
}

/// reco-svc's model in Redis under a prefix of its own, growing.
pub struct RecoState {
    store: Arc<RedisStore>,
    recommender: Arc<ModelRecommender>,
    population: Arc<Population>,
    params: ModelParams,
    prefix: String,
    client: fred::prelude::Client,
    store_pool: fred::prelude::Pool,
    dedup_ttl_ms: i64,
    /// `used_memory` before anything was written.
    memory_before: u64,
    users: usize,
    events: usize,
    _ready: watch::Sender<bool>,
}

impl std::fmt::Debug for RecoState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecoState")
            .field("prefix", &self.prefix)
            .field("users", &self.users)
            .finish_non_exhaustive()
    }
}

/// What one size measured.
#[derive(Debug, Clone)]
pub struct RecoStep {
    /// Listeners so far.
    pub users: usize,
    /// Play events applied so far.
    pub events: usize,
    /// Events applied in this step, and how long they took.
    pub step_events: usize,
    /// Time of this step's writes.
    pub step_time: Duration,
    /// Memory by key kind.
    pub kinds: BTreeMap<String, Kind>,
    /// `used_memory` now minus before the run.
    pub used_delta: i64,
    /// `Recommend` for a sample of listeners.
    pub recommend: Latencies,
    /// `Radio`'s first page from each sampled listener's latest track.
    pub radio: Latencies,
}

impl RecoState {
    /// An empty model under `prefix` holding the catalogue of `population`; event ids are
    /// remembered for `dedup_ttl`, as reco-svc's setting of that name says.
    pub async fn new(
        population: Population,
        prefix: &str,
        dedup_ttl: Duration,
    ) -> anyhow::Result<Self> {
        let client = tunemesh_testkit::redis_client().await?;
        let memory_before = redis_memory::used_memory(&client).await?;
        let (store, pool) = redis_store(prefix, dedup_ttl).await?;
        let store = Arc::new(store);
        let params = ModelParams::default();
        let (ready, ready_rx) = watch::channel(true);
        let recommender = Arc::new(ModelRecommender::new(
            store.clone(),
            params.clone(),
            ready_rx,
        ));
        let state = Self {
            store,
            recommender,
            population: Arc::new(population),
            params,
            prefix: prefix.to_owned(),
            client,
            store_pool: pool,
            dedup_ttl_ms: i64::try_from(dedup_ttl.as_millis())?,
            memory_before,
            users: 0,
            events: 0,
            _ready: ready,
        };
        state.load_catalogue().await?;
        Ok(state)
    }

    /// Every track's facts, as catalogue events would write them.
    async fn load_catalogue(&self) -> anyhow::Result<()> {
        let created = Some(Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        });
        let batches: Vec<_> = (0..self.population.tracks())
            .filter_map(|t| {
                let album = t / TRACKS_PER_ALBUM;
                let artist = album / ALBUMS_PER_ARTIST;
                let track = Track {
                    id: track_id(t),
                    title: format!("Track {t}"),
                    artists: vec![ArtistRef {
                        id: format!("ar{artist:030x}"),
                        name: format!("Artist {artist}"),
                    }],
                    album: Some(AlbumRef {
                        id: format!("al{album:030x}"),
                        title: format!("Album {album}"),
                    }),
                    create_time: created,
                    ..Track::default()
                };
                plan_track(&format!("catalogue-{t}"), &track, true, &self.params)
            })
            .collect();
        for chunk in batches.chunks(500) {
            self.store.apply_all(chunk).await?;
        }
        Ok(())
    }

    /// Adds listeners up to `users` in total, `batch` per round, then measures.
    pub async fn grow(
        &mut self,
        users: usize,
        batch: usize,
        queries: usize,
    ) -> anyhow::Result<RecoStep> {
        let started = Instant::now();
        let before = self.events;
        let new: Vec<usize> = (self.users..users).collect();
        for chunk in new.chunks(batch.max(1)) {
            self.events += self.apply_histories(chunk).await?;
        }
        let step_time = started.elapsed();
        self.users = self.users.max(users);
        let (recommend, radio) = self.query(queries).await?;
        let kinds = redis_memory::by_kind(&self.client, &self.prefix, 200).await?;
        let used = redis_memory::used_memory(&self.client).await?;
        Ok(RecoStep {
            users: self.users,
            events: self.events,
            step_events: self.events - before,
            step_time,
            kinds,
            used_delta: used as i64 - self.memory_before as i64,
            recommend,
            radio,
        })
    }

    /// The histories of `users`, round by round: the next play of each.
    async fn apply_histories(&self, users: &[usize]) -> anyhow::Result<usize> {
        let histories: Vec<(String, Vec<super::synth::Play>)> = users
            .iter()
            .map(|&u| (user_id(u), self.population.history(u)))
            .collect();
        let longest = histories.iter().map(|(_, h)| h.len()).max().unwrap_or(0);
        let mut applied = 0;
        for round in 0..longest {
            let listens: Vec<Listen> = histories
                .iter()
                .filter_map(|(user, history)| {
                    let play = history.get(round)?;
                    Some(Listen {
                        event_id: tunemesh_events::new_event_id(),
                        user_id: user.clone(),
                        track_id: track_id(play.track),
                        at_ms: play.at_ms,
                        kind: ListenKind::Play { weight: 1.0 },
                    })
                })
                .collect();
            let ids: Vec<&str> = listens.iter().map(|l| l.user_id.as_str()).collect();
            let listeners = self.store.listeners(&ids, self.params.recent_size).await?;
            let batches: Vec<_> = listens
                .iter()
                .zip(&listeners)
                .map(|(listen, listener)| plan_listen(listen, listener, &self.params))
                .collect();
            let outcomes = self.store.apply_all(&batches).await?;
            anyhow::ensure!(
                outcomes.iter().all(|o| *o == Applied::Done),
                "a play was not applied: {outcomes:?}"
            );
            applied += batches.len();
        }
        Ok(applied)
    }

    /// `Recommend` and `Radio` for `queries` listeners drawn from those so far.
    async fn query(&self, queries: usize) -> anyhow::Result<(Latencies, Latencies)> {
        let mut rng = StdRng::seed_from_u64(self.users as u64);
        let sample: Arc<Vec<(String, String)>> = Arc::new(
            (0..queries)
                .map(|_| {
                    let u = rng.random_range(0..self.users.max(1));
                    let last = self.population.history(u).last().map_or(0, |p| p.track);
                    (user_id(u), track_id(last))
                })
                .collect(),
        );
        let (r, s) = (self.recommender.clone(), sample.clone());
        let recommend = timed(queries, 8, move |i| {
            let (r, user) = (r.clone(), s[i].0.clone());
            async move {
                let request = RecommendRequest {
                    limit: 20,
                    ..RecommendRequest::default()
                };
                r.recommend(&user, request).await?;
                Ok(())
            }
        })
        .await?;
        let (r, s) = (self.recommender.clone(), sample);
        let radio = timed(queries, 8, move |i| {
            let (r, (user, seed)) = (r.clone(), s[i].clone());
            async move {
                let request = RadioRequest {
                    seed_track_id: seed,
                    limit: 10,
                    page_token: String::new(),
                };
                r.radio(&user, request).await?;
                Ok(())
            }
        })
        .await?;
        Ok((recommend, radio))
    }

    /// The bytes of each of one listener's own keys after `plays` plays of distinct tracks in
    /// sessions (the most a listener can cost: every per-listener set at its cap), by kind.
    pub async fn heaviest(&mut self, plays: usize) -> anyhow::Result<Vec<(String, u64)>> {
        let user = "heaviest-listener".to_owned();
        let tracks = self.population.tracks();
        let start = self.population.history(0).first().map_or(0, |p| p.at_ms);
        for (i, track) in (0..plays).map(|i| (i, (i * 7919) % tracks)) {
            let listen = Listen {
                event_id: tunemesh_events::new_event_id(),
                user_id: user.clone(),
                track_id: track_id(track),
                at_ms: start + i as i64 * 200_000,
                kind: ListenKind::Play { weight: 1.0 },
            };
            let listener = self.store.listener(&user, self.params.recent_size).await?;
            let planned = plan_listen(&listen, &listener, &self.params);
            anyhow::ensure!(self.store.apply(&planned).await? == Applied::Done);
        }
        let mut kinds = Vec::new();
        for kind in ["taste", "recent", "plays", "skips", "likes", "liked_at"] {
            let key = format!("{}{kind}:{user}", self.prefix);
            kinds.push((
                kind.to_owned(),
                redis_memory::key_bytes(&self.client, &key).await?,
            ));
        }
        Ok(kinds)
    }

    /// Bytes per applied event id of the two ways of remembering them, side by side on `ids`
    /// fresh ids: a string key per id with a TTL, as the store kept them before issue 17
    /// item 3 (written here with `SET .. PX`), and what the store keeps now (batches without
    /// writes applied through it, under a prefix of their own). Each as `used_memory`'s
    /// delta and as the `MEMORY USAGE` of its keys (which leaves out the TTL's own entry).
    pub async fn dedup_encodings(&self, ids: usize) -> anyhow::Result<[(f64, f64); 2]> {
        use fred::prelude::KeysInterface as _;
        let ttl_ms = self.dedup_ttl_ms;
        let old_prefix = format!("{}old-seen:", self.prefix);
        let before = redis_memory::used_memory(&self.client).await?;
        let names: Vec<String> = (0..ids)
            .map(|_| format!("{old_prefix}{}", tunemesh_events::new_event_id()))
            .collect();
        for chunk in names.chunks(1000) {
            let pipeline = self.client.pipeline();
            for name in chunk {
                let _: () = pipeline
                    .set(
                        name.as_str(),
                        "1",
                        Some(fred::types::Expiration::PX(ttl_ms)),
                        None,
                        false,
                    )
                    .await?;
            }
            let _: Vec<fred::types::Value> = pipeline.all().await?;
        }
        let old_used = redis_memory::used_memory(&self.client).await? as f64 - before as f64;
        let old_keys = redis_memory::by_kind(&self.client, &old_prefix, 1000).await?;
        let old_usage: f64 = old_keys.values().map(Kind::bytes).sum();
        tunemesh_testkit::delete_redis_keys(&self.client, &old_prefix).await?;

        let new_prefix = format!("{}new-seen:", self.prefix);
        let pool = self.store_pool.clone();
        let store = RedisStore::new(
            pool,
            KeyPrefix::new(new_prefix.clone()),
            Duration::from_millis(u64::try_from(ttl_ms)?),
        );
        let before = redis_memory::used_memory(&self.client).await?;
        let batches: Vec<WriteBatch> = (0..ids)
            .map(|_| WriteBatch {
                event_id: tunemesh_events::new_event_id(),
                guard: None,
                ops: Vec::new(),
            })
            .collect();
        for chunk in batches.chunks(500) {
            store.apply_all(chunk).await?;
        }
        let new_used = redis_memory::used_memory(&self.client).await? as f64 - before as f64;
        let new_keys = redis_memory::by_kind(&self.client, &new_prefix, 1000).await?;
        let new_usage: f64 = new_keys.values().map(Kind::bytes).sum();
        tunemesh_testkit::delete_redis_keys(&self.client, &new_prefix).await?;
        let per = |x: f64| x / ids.max(1) as f64;
        Ok([
            (per(old_used), per(old_usage)),
            (per(new_used), per(new_usage)),
        ])
    }

    /// Deletes every key of the run.
    pub async fn clean_up(&self) -> anyhow::Result<u64> {
        tunemesh_testkit::delete_redis_keys(&self.client, &self.prefix).await
    }
}
