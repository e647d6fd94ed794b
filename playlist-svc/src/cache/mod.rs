//! The playlist read cache: a port with a Redis adapter (production) and an in-process moka
//! adapter (`tunemesh up`), and [`ReadThrough`], which reads through it with one loader per
//! key at a time.
//!
//! A cache entry is a playlist with its first [`CACHED_ITEMS`] items. Writers invalidate
//! after their commit by writing a *tombstone* carrying the playlist's new revision; a fill
//! is only stored if its revision is at least the tombstone's, so a reader that loaded the
//! old state before the commit cannot put it back after the invalidation. Cache failures
//! are logged and counted, never returned: the database answers instead.
//!
//! # Layout
//! - `mod.rs`: the port and the read-through with single-flight
//! - `redis.rs`: fred, a Lua compare-and-set for fills and tombstones
//! - `memory.rs`: moka

pub mod memory;
pub mod redis;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::FutureExt as _;
use futures::future::{BoxFuture, Shared};

use tunemesh_runtime::SharedError;

use crate::error::PlaylistError;
use crate::model::PlaylistPage;
use crate::store::PlaylistStore;

/// Items kept with a cached playlist: the largest page a client may ask for.
pub const CACHED_ITEMS: u32 = 500;

/// Revision of the tombstone a deletion leaves: above any real revision, and exact in Lua's
/// doubles, so nothing refills a deleted playlist before the tombstone expires.
pub const DELETED: u64 = 1 << 52;

/// A cache of playlist pages. Implementations never fail: errors are logged and counted
/// (`tunemesh_playlist_cache_errors_total`), and a failed read is a miss.
#[async_trait]
pub trait PlaylistCache: Send + Sync + std::fmt::Debug {
    /// The cached page, if any and not invalidated.
    async fn get(&self, id: &str) -> Option<Arc<PlaylistPage>>;

    /// Stores a page read from the store, unless a newer revision was invalidated since.
    async fn fill(&self, page: Arc<PlaylistPage>);

    /// Marks the playlist changed up to `revision` (after the commit).
    async fn invalidate(&self, id: &str, revision: u64);
}

/// Counts a cache failure and logs it; the caller carries on without the cache.
pub(crate) fn cache_error(operation: &'static str, error: &dyn std::fmt::Display) {
    metrics::counter!("tunemesh_playlist_cache_errors_total", "operation" => operation)
        .increment(1);
    tracing::warn!(operation, %error, "playlist cache failed; reading from the store");
}

type Load = Shared<BoxFuture<'static, Result<Option<Arc<PlaylistPage>>, Arc<PlaylistError>>>>;

/// Reads playlists through the cache; concurrent misses on one key share one store read
/// (stampede protection on hot playlists).
#[derive(Debug)]
pub struct ReadThrough {
    store: Arc<dyn PlaylistStore>,
    cache: Arc<dyn PlaylistCache>,
    /// Loads in flight by playlist id; an entry lives only while its load runs.
    loading: Mutex<HashMap<String, Load>>,
    /// Bound on a store read, so callers get UNAVAILABLE instead of waiting on a stuck store.
    timeout: Duration,
}

impl ReadThrough {
    /// Reads from `store` through `cache`.
    pub fn new(
        store: Arc<dyn PlaylistStore>,
        cache: Arc<dyn PlaylistCache>,
        timeout: Duration,
    ) -> Self {
        Self {
            store,
            cache,
            loading: Mutex::new(HashMap::new()),
            timeout,
        }
    }

    /// The cache, for invalidation after writes.
    pub fn cache(&self) -> &Arc<dyn PlaylistCache> {
        &self.cache
    }

    /// The playlist with its first [`CACHED_ITEMS`] items; `None` if it does not exist.
    pub async fn read(&self, id: &str) -> Result<Option<Arc<PlaylistPage>>, PlaylistError> {
        if let Some(page) = self.cache.get(id).await {
            metrics::counter!("tunemesh_playlist_cache_total", "result" => "hit").increment(1);
            return Ok(Some(page));
        }
        metrics::counter!("tunemesh_playlist_cache_total", "result" => "miss").increment(1);
        self.load(id)
            .await
            .map_err(|error| SharedError::of(&*error).into())
    }

    /// Reads from the store, bypassing the cache (and filling it).
    pub async fn reload(&self, id: &str) -> Result<Option<Arc<PlaylistPage>>, PlaylistError> {
        self.load(id)
            .await
            .map_err(|error| SharedError::of(&*error).into())
    }

    async fn load(&self, id: &str) -> Result<Option<Arc<PlaylistPage>>, Arc<PlaylistError>> {
        let load = {
            let mut loading = self
                .loading
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(load) = loading.get(id) {
                load.clone()
            } else {
                let load = self.start_load(id);
                loading.insert(id.to_owned(), load.clone());
                load
            }
        };
        let result = load.clone().await;
        // The first finisher removes the entry (only its own: a newer load may have taken
        // the key already); later callers start a fresh load.
        let mut loading = self
            .loading
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if loading.get(id).is_some_and(|current| current.ptr_eq(&load)) {
            loading.remove(id);
        }
        result
    }

    fn start_load(&self, id: &str) -> Load {
        let (store, cache, timeout, id) = (
            self.store.clone(),
            self.cache.clone(),
            self.timeout,
            id.to_owned(),
        );
        async move {
            let page = tokio::time::timeout(timeout, store.page(&id, 0, CACHED_ITEMS))
                .await
                .map_err(|_| PlaylistError::Unavailable {
                    what: "playlist store",
                    source: anyhow::anyhow!("no answer within {timeout:?}"),
                })
                .and_then(|page| page)
                .map_err(Arc::new)?;
            match page {
                Some(page) => {
                    let page = Arc::new(page);
                    cache.fill(page.clone()).await;
                    Ok(Some(page))
                }
                None => Ok(None),
            }
        }
        .boxed()
        .shared()
    }
}
