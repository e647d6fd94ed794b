//! The cache in process (moka), for `tunemesh up`: the same tombstone rule as Redis, applied
//! atomically per key by moka's `and_compute_with`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use moka::future::Cache;
use moka::ops::compute::Op;

use super::PlaylistCache;
use crate::model::PlaylistPage;

#[derive(Debug, Clone)]
enum Entry {
    Page(Arc<PlaylistPage>),
    Tomb(u64),
}

impl Entry {
    fn revision(&self) -> u64 {
        match self {
            Self::Page(page) => page.playlist.revision,
            Self::Tomb(revision) => *revision,
        }
    }
}

/// Playlist pages in memory, bounded by entry count and TTL.
#[derive(Debug, Clone)]
pub struct MemoryCache {
    entries: Cache<String, Entry>,
}

impl MemoryCache {
    /// At most `capacity` playlists, each kept for `ttl`.
    pub fn new(capacity: u64, ttl: Duration) -> Self {
        Self {
            entries: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
        }
    }

    async fn set_if_newer(&self, id: &str, incoming: Entry) {
        let tomb = matches!(incoming, Entry::Tomb(_));
        self.entries
            .entry(id.to_owned())
            .and_compute_with(|current| {
                let keep = current.is_some_and(|current| {
                    let current = current.value();
                    let (have, want) = (current.revision(), incoming.revision());
                    have > want || (have == want && (tomb || matches!(current, Entry::Page(_))))
                });
                std::future::ready(if keep { Op::Nop } else { Op::Put(incoming) })
            })
            .await;
    }
}

#[async_trait]
impl PlaylistCache for MemoryCache {
    async fn get(&self, id: &str) -> Option<Arc<PlaylistPage>> {
        match self.entries.get(id).await? {
            Entry::Page(page) => Some(page),
            Entry::Tomb(_) => None,
        }
    }

    async fn fill(&self, page: Arc<PlaylistPage>) {
        let id = page.playlist.id.clone();
        self.set_if_newer(&id, Entry::Page(page)).await;
    }

    async fn invalidate(&self, id: &str, revision: u64) {
        self.set_if_newer(id, Entry::Tomb(revision)).await;
    }
}
