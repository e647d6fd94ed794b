//! The production store on Redis (fred): sorted sets under one key prefix, so every replica
//! shares the model; each batch runs as one Lua script (atomic, deduplicated by event id).
//!
//! Keys under the prefix `p`: `p pop`, `p co:<track>`, `p next:<track>`, `p taste:<user>`,
//! `p recent:<user>`, `p skips:<user>`, `p artist:<artist>`, `p meta`, `p related:<track>`,
//! `p likes:<user>`, `p liked_at:<user>`, `p pl_items:<playlist>`, `p pl_joined:<playlist>`,
//! `p pl_pairs:<playlist>/<track>` (ids never hold `/`), `p pl_deleted`, `p plays:<user>`,
//! `p play_counts` (sorted sets);
//! `p landmarks` (key → decay landmark), `p tracks` (track → record), `p versions` (user →
//! version), `p pl_versions` (playlist → version) (hashes); `p seen:<bucket>` (sets of applied event
//! ids' digests, one per [`SEEN_BUCKETS`]th of the dedup TTL, each with a TTL; see
//! `apply.lua`). Scripts name keys in ARGV, so the store needs
//! a single Redis node (or a proxy that keeps one prefix on one node), not Redis Cluster.

use std::time::Duration;

use async_trait::async_trait;
use fred::prelude::{ClientLike as _, HashesInterface as _, Pool, SortedSetsInterface as _};
use fred::types::Value;
use fred::types::scripts::Script;
use fred::types::{ClusterHash, CustomCommand};
use tunemesh_runtime::redis::KeyPrefix;

use super::{
    Applied, Listener, Op, Ranked, RecoStore, SetKey, StoreError, TrackInfo, Versioned, WriteBatch,
    ZERO, decode_track, encode_track,
};
use crate::model::decay::REBASE_EXPONENT;

/// Sets the dedup TTL's applied event ids are spread over: each apply checks this many and
/// one more; an id is remembered for the TTL and at most a `SEEN_BUCKETS`th of it more.
pub const SEEN_BUCKETS: u128 = 7;

/// The model's state in Redis.
#[derive(Clone)]
pub struct RedisStore {
    pool: Pool,
    prefix: KeyPrefix,
    dedup_ttl: Duration,
    apply: Script,
    top: Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn failed(error: fred::error::Error) -> StoreError {
    StoreError(Box::new(error))
}

impl RedisStore {
    /// A store under `prefix`; applied event ids are remembered for `dedup_ttl` (longer
    /// than any redelivery can lag, shorter than forever).
    pub fn new(pool: Pool, prefix: KeyPrefix, dedup_ttl: Duration) -> Self {
        Self {
            pool,
            prefix,
            dedup_ttl,
            apply: Script::from_lua(include_str!("apply.lua")),
            top: Script::from_lua(include_str!("top.lua")),
        }
    }

    fn key(&self, key: &SetKey) -> String {
        match key {
            SetKey::Popularity => self.prefix.key("pop"),
            SetKey::Neighbours(track) => self.prefix.key(format_args!("co:{track}")),
            SetKey::Next(track) => self.prefix.key(format_args!("next:{track}")),
            SetKey::Taste(user) => self.prefix.key(format_args!("taste:{user}")),
            SetKey::Recent(user) => self.prefix.key(format_args!("recent:{user}")),
            SetKey::Skips(user) => self.prefix.key(format_args!("skips:{user}")),
            SetKey::ArtistTracks(artist) => self.prefix.key(format_args!("artist:{artist}")),
            SetKey::Meta => self.prefix.key("meta"),
            SetKey::Related(track) => self.prefix.key(format_args!("related:{track}")),
            SetKey::Likes(user) => self.prefix.key(format_args!("likes:{user}")),
            SetKey::LikedAt(user) => self.prefix.key(format_args!("liked_at:{user}")),
            SetKey::PlaylistItems(id) => self.prefix.key(format_args!("pl_items:{id}")),
            SetKey::PlaylistJoined(id) => self.prefix.key(format_args!("pl_joined:{id}")),
            SetKey::PlaylistPairs(id, track) => {
                self.prefix.key(format_args!("pl_pairs:{id}/{track}"))
            }
            SetKey::DeletedPlaylists => self.prefix.key("pl_deleted"),
            SetKey::Plays(user) => self.prefix.key(format_args!("plays:{user}")),
            SetKey::PlayCounts => self.prefix.key("play_counts"),
            SetKey::TasteChanges => self.prefix.key("taste_changes"),
            SetKey::MixedTaste => self.prefix.key("mixed_taste"),
            SetKey::MixedAt => self.prefix.key("mixed_at"),
        }
    }

    /// How much wall-clock time one set of applied event ids covers (ms, at least 1).
    fn seen_bucket_ms(&self) -> String {
        (self.dedup_ttl.as_millis() / SEEN_BUCKETS)
            .max(1)
            .to_string()
    }

    /// The hash holding the version of `of`, and its field there.
    fn version_field(&self, of: &Versioned) -> (String, String) {
        match of {
            Versioned::Listener(user) => (self.prefix.key("versions"), user.clone()),
            Versioned::Playlist(id) => (self.prefix.key("pl_versions"), id.clone()),
        }
    }

    /// The script's arguments: a fixed header, then each op's code and operands.
    fn apply_args(&self, batch: &WriteBatch) -> Vec<String> {
        let ttl = self.dedup_ttl.as_millis().max(1).to_string();
        let (versions, field, version) = match &batch.guard {
            Some((of, version)) => {
                let (hash, field) = self.version_field(of);
                (hash, field, version.to_string())
            }
            None => (String::new(), String::new(), String::new()),
        };
        let mut args = vec![
            self.prefix.key("seen:"),
            ttl,
            versions,
            field,
            version,
            self.prefix.key("landmarks"),
            self.prefix.key("tracks"),
            self.prefix.key("artist:"),
            REBASE_EXPONENT.to_string(),
            float(ZERO),
            batch.event_id.clone(),
            self.seen_bucket_ms(),
        ];
        for op in &batch.ops {
            match op {
                Op::Decay {
                    key,
                    member,
                    weight,
                    at_ms,
                    half_life_ms,
                } => args.extend([
                    "D".to_owned(),
                    self.key(key),
                    member.clone(),
                    float(*weight),
                    at_ms.to_string(),
                    half_life_ms.to_string(),
                ]),
                Op::Max { key, member, score } => {
                    args.extend(["M".to_owned(), self.key(key), member.clone(), float(*score)])
                }
                Op::Trim { key, keep } => {
                    args.extend(["T".to_owned(), self.key(key), keep.to_string()]);
                }
                Op::Track(info) => args.extend([
                    "K".to_owned(),
                    info.track_id.clone(),
                    encode_track(info),
                    info.artist_id.clone(),
                    info.updated_ms.to_string(),
                ]),
                Op::Count { key, member, delta } => args.extend([
                    "C".to_owned(),
                    self.key(key),
                    member.clone(),
                    delta.to_string(),
                ]),
                Op::Add {
                    key,
                    member,
                    weight,
                } => args.extend([
                    "A".to_owned(),
                    self.key(key),
                    member.clone(),
                    float(*weight),
                ]),
                Op::TakeBack {
                    key,
                    member,
                    weight,
                    at_ms,
                    half_life_ms,
                } => args.extend([
                    "B".to_owned(),
                    self.key(key),
                    member.clone(),
                    float(*weight),
                    at_ms.to_string(),
                    half_life_ms.to_string(),
                ]),
                Op::Remove { key, member } => {
                    args.extend(["R".to_owned(), self.key(key), member.clone()]);
                }
                Op::Delete { key } => args.extend(["X".to_owned(), self.key(key)]),
            }
        }
        args
    }
}

/// The apply script's answer: 1 applied, 0 seen before, -1 the guard's version moved.
fn applied(outcome: i64) -> Applied {
    match outcome {
        1 => Applied::Done,
        0 => Applied::Duplicate,
        _ => Applied::Conflict,
    }
}

/// A float as Redis reads it back bit for bit.
fn float(value: f64) -> String {
    format!("{value:e}")
}

#[async_trait]
impl RecoStore for RedisStore {
    async fn apply(&self, batch: &WriteBatch) -> Result<Applied, StoreError> {
        let args = self.apply_args(batch);
        let outcome: i64 = self
            .apply
            .evalsha_with_reload(self.pool.next(), Vec::<String>::new(), args)
            .await
            .map_err(failed)?;
        Ok(applied(outcome))
    }

    /// One pipeline of scripts: one round trip, each batch still atomic and in order.
    async fn apply_all(&self, batches: &[WriteBatch]) -> Result<Vec<Applied>, StoreError> {
        // fred's pipelines have no script interface: EVALSHA as a plain command.
        let evalsha = CustomCommand::new_static("EVALSHA", ClusterHash::FirstKey, false);
        let pipeline = self.pool.next().pipeline();
        for batch in batches {
            let mut args = vec![self.apply.sha1().to_string(), "0".to_owned()];
            args.extend(self.apply_args(batch));
            let _: () = pipeline
                .custom(evalsha.clone(), args)
                .await
                .map_err(failed)?;
        }
        let mut outcomes = Vec::with_capacity(batches.len());
        for (batch, reply) in batches.iter().zip(pipeline.try_all::<i64>().await) {
            outcomes.push(match reply {
                Ok(outcome) => applied(outcome),
                // A pipeline cannot reload a script Redis lost (first use, a restart, SCRIPT
                // FLUSH): that batch, applied nowhere, goes again alone, which loads it.
                Err(_) => self.apply(batch).await?,
            });
        }
        Ok(outcomes)
    }

    async fn top(&self, keys: &[SetKey], n: usize) -> Result<Vec<Ranked>, StoreError> {
        if keys.is_empty() || n == 0 {
            return Ok(vec![Ranked::default(); keys.len()]);
        }
        let stop = if n == usize::MAX {
            "-1".to_owned()
        } else {
            (n - 1).to_string()
        };
        let mut args = vec![stop, self.prefix.key("landmarks")];
        args.extend(keys.iter().map(|k| self.key(k)));
        let value: Value = self
            .top
            .evalsha_with_reload(self.pool.next(), Vec::<String>::new(), args)
            .await
            .map_err(failed)?;
        let Value::Array(per_key) = value else {
            return Err(StoreError("unexpected reply to the top script".into()));
        };
        Ok(per_key.into_iter().map(ranked).collect())
    }

    async fn scores(
        &self,
        key: &SetKey,
        members: &[String],
    ) -> Result<Vec<Option<f64>>, StoreError> {
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let values: Vec<Option<f64>> = self
            .pool
            .zmscore(self.key(key), members.to_vec())
            .await
            .map_err(failed)?;
        Ok(values)
    }

    async fn tracks(&self, ids: &[String]) -> Result<Vec<Option<TrackInfo>>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let records: Vec<Option<String>> = self
            .pool
            .hmget(self.prefix.key("tracks"), ids.to_vec())
            .await
            .map_err(failed)?;
        // HMGET of one field answers a bare value, which converts to a one-item list too.
        Ok(ids
            .iter()
            .zip(records)
            .map(|(id, record)| record.and_then(|r| decode_track(id, &r)))
            .collect())
    }

    async fn listener(&self, user_id: &str, recent: usize) -> Result<Listener, StoreError> {
        let mut listeners = self.listeners(&[user_id], recent).await?;
        Ok(listeners.pop().unwrap_or_default())
    }

    /// Every listener's version (one HMGET) and recent plays (one top script), concurrently.
    async fn listeners(
        &self,
        user_ids: &[&str],
        recent: usize,
    ) -> Result<Vec<Listener>, StoreError> {
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<SetKey> = user_ids
            .iter()
            .map(|user| SetKey::Recent((*user).to_owned()))
            .collect();
        let fields: Vec<String> = user_ids.iter().map(|user| (*user).to_owned()).collect();
        let versions = async {
            // HMGET of one field answers a bare value, which converts to a one-item list too.
            let versions: Vec<Option<u64>> = self
                .pool
                .hmget(self.prefix.key("versions"), fields)
                .await
                .map_err(failed)?;
            Ok::<_, StoreError>(versions)
        };
        let (versions, recents) = tokio::try_join!(versions, self.top(&keys, recent))?;
        Ok(versions
            .into_iter()
            .zip(recents)
            .map(|(version, recent)| Listener {
                version: version.unwrap_or(0),
                // times were written as whole ms
                recent: recent
                    .entries
                    .into_iter()
                    .map(|(t, at)| (t, at as i64))
                    .collect(),
            })
            .collect())
    }

    async fn version(&self, of: &Versioned) -> Result<u64, StoreError> {
        let (hash, field) = self.version_field(of);
        let version: Option<u64> = self.pool.hget(hash, field).await.map_err(failed)?;
        Ok(version.unwrap_or(0))
    }

    async fn sizes(&self, keys: &[SetKey]) -> Result<Vec<usize>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let pipeline = self.pool.next().pipeline();
        for key in keys {
            let _: () = pipeline.zcard(self.key(key)).await.map_err(failed)?;
        }
        let sizes: Vec<u64> = pipeline.all().await.map_err(failed)?;
        Ok(sizes
            .into_iter()
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
            .collect())
    }
}

/// One key's part of the top script's reply: `[landmark or "", member, score, ...]`.
fn ranked(value: Value) -> Ranked {
    let Value::Array(items) = value else {
        return Ranked::default();
    };
    let mut items = items.into_iter();
    let landmark_ms = items
        .next()
        .and_then(|v| v.as_string())
        .and_then(|s| s.parse().ok());
    let mut entries = Vec::with_capacity(items.len() / 2);
    while let (Some(member), Some(score)) = (items.next(), items.next()) {
        let score = score.as_string().and_then(|s| s.parse::<f64>().ok());
        if let (Some(member), Some(score)) = (member.as_string(), score) {
            entries.push((member, score));
        }
    }
    Ranked {
        landmark_ms,
        entries,
    }
}
