//! The tracks being played, kept in memory: every audio read needs its track's manifest
//! (where the blobs are, how big, the seek index), and reading it from the catalogue store on
//! every byte range put a SQL query and a JSON decode of the whole manifest on the audio path
//! (under load, the one embedded SQLite connection queued every listener behind it).
//!
//! Entries are shared (`Arc`), bounded in number, and live at most `ttl`. A track re-ingested
//! by this process is forgotten at once; one re-ingested by another replica is seen within
//! `ttl`. Serving the older manifest meanwhile is safe: blobs of a version are never
//! overwritten (their prefix holds the source's hash), so it reads the older audio whole.
//! Concurrent misses on one track make one store read (moka's `try_get_with`).

use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;
use tunemesh_runtime::SharedError;

use crate::catalog::Catalog;
use crate::error::PlayerError;
use crate::store::TrackRecord;

/// Tracks by id, read through from the catalogue.
#[derive(Debug, Clone)]
pub(crate) struct TrackCache {
    catalog: Catalog,
    cache: Cache<String, Arc<TrackRecord>>,
}

impl TrackCache {
    /// At most `capacity` tracks of `catalog`, each kept at most `ttl`.
    pub(crate) fn new(catalog: Catalog, capacity: u64, ttl: Duration) -> Self {
        Self {
            catalog,
            cache: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
        }
    }

    /// The track, from memory or the catalogue; NOT_FOUND is not remembered, so a track
    /// plays as soon as it is ingested.
    pub(crate) async fn get(&self, id: &str) -> Result<Arc<TrackRecord>, PlayerError> {
        let catalog = &self.catalog;
        self.cache
            .try_get_with_by_ref(id, async { catalog.track(id).await.map(Arc::new) })
            .await
            .map_err(|shared| SharedError::of(&*shared).into())
    }

    /// Drops `id`, after it was stored anew.
    pub(crate) async fn forget(&self, id: &str) {
        self.cache.invalidate(id).await;
    }
}
