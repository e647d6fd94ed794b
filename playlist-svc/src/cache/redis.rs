//! The cache on Redis (fred). Values are `<revision>|<json page>`; a tombstone is
//! `<revision>|`. Fills and tombstones go through one Lua compare-and-set, so a fill never
//! overwrites a newer revision and an invalidation never lets an older one back in.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use fred::prelude::{KeysInterface as _, LuaInterface as _, Pool};
use tunemesh_runtime::redis::KeyPrefix;

use super::{PlaylistCache, cache_error};
use crate::model::PlaylistPage;

/// KEYS[1]: the entry; ARGV[1]: revision; ARGV[2]: value; ARGV[3]: TTL in ms; ARGV[4]: 1 for
/// a tombstone. A fill loses to an equal or newer fill and to a newer tombstone; a tombstone
/// loses only to a newer tombstone or fill. Returns 1 when stored.
const SET_IF_NEWER: &str = r"
local current = redis.call('GET', KEYS[1])
if current then
  local sep = string.find(current, '|', 1, true)
  local revision = tonumber(string.sub(current, 1, (sep or 1) - 1)) or 0
  local incoming = tonumber(ARGV[1])
  local is_tomb = sep == #current
  if revision > incoming then return 0 end
  if revision == incoming and (ARGV[4] == '1' or not is_tomb) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
";

/// Playlist pages in Redis under `<prefix>playlist:<id>`.
#[derive(Clone)]
pub struct RedisCache {
    pool: Pool,
    prefix: KeyPrefix,
    ttl: Duration,
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCache")
            .field("prefix", &self.prefix)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl RedisCache {
    /// A cache on `pool`; commands are bounded by the pool's command timeout.
    pub fn new(pool: Pool, prefix: &KeyPrefix, ttl: Duration) -> Self {
        Self {
            pool,
            prefix: prefix.scoped("playlist"),
            ttl,
        }
    }

    async fn set_if_newer(&self, id: &str, revision: u64, value: String, tomb: bool) {
        let ttl_ms = u64::try_from(self.ttl.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let args = vec![
            revision.to_string(),
            value,
            ttl_ms.to_string(),
            if tomb { "1" } else { "0" }.to_owned(),
        ];
        let result: Result<i64, _> = self
            .pool
            .eval(SET_IF_NEWER, vec![self.prefix.key(id)], args)
            .await;
        if let Err(error) = result {
            cache_error(if tomb { "invalidate" } else { "fill" }, &error);
        }
    }
}

#[async_trait]
impl PlaylistCache for RedisCache {
    async fn get(&self, id: &str) -> Option<Arc<PlaylistPage>> {
        let value: Option<String> = match self.pool.get(self.prefix.key(id)).await {
            Ok(value) => value,
            Err(error) => {
                cache_error("get", &error);
                return None;
            }
        };
        let value = value?;
        let (_, json) = value.split_once('|')?;
        if json.is_empty() {
            return None; // a tombstone
        }
        match serde_json::from_str::<PlaylistPage>(json) {
            Ok(page) => Some(Arc::new(page)),
            Err(error) => {
                cache_error("decode", &error);
                None
            }
        }
    }

    async fn fill(&self, page: Arc<PlaylistPage>) {
        let json = match serde_json::to_string(&*page) {
            Ok(json) => json,
            Err(error) => return cache_error("encode", &error),
        };
        let revision = page.playlist.revision;
        self.set_if_newer(
            &page.playlist.id,
            revision,
            format!("{revision}|{json}"),
            false,
        )
        .await;
    }

    async fn invalidate(&self, id: &str, revision: u64) {
        self.set_if_newer(id, revision, format!("{revision}|"), true)
            .await;
    }
}
