//! Settings of the search service (`[search]`).

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// What the search service can be configured with; the defaults serve `tunemesh up`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchSettings {
    /// Where the index lives in production (local disk, kept across restarts; give each
    /// replica its own, e.g. a StatefulSet volume). Embedded mode uses
    /// `<data_dir>/search/index` and ignores this; unset in production means an in-memory
    /// index, rebuilt by replay at every start.
    pub index_dir: Option<PathBuf>,
    /// This replica's stable name: its durable consumers are
    /// `<consumer_prefix>-catalog-<replica>`, `<consumer_prefix>-play-<replica>` and
    /// `<consumer_prefix>-playlist-<replica>`, the same at every start, so a restart resumes
    /// them instead of adding new ones. Unset: the host
    /// name (a pod's name), so set it when several replicas share a host.
    pub replica: Option<String>,
    /// Longest time an event waits before its batch is committed and searchable. Well under
    /// the 1 s freshness target, leaving room for the commit itself.
    #[serde(with = "humantime_serde")]
    pub commit_interval: Duration,
    /// How long the bus must stay quiet before the feed checks whether it has caught up.
    #[serde(with = "humantime_serde")]
    pub idle_check: Duration,
    /// Events per commit at most (and unacknowledged deliveries per consumer at most).
    pub max_batch: usize,
    /// Events pulled from the bus per request.
    pub batch_size: usize,
    /// Indexing buffer of the writer, in bytes (tantivy needs at least 15 MB).
    pub writer_memory_bytes: usize,
    /// Play event ids remembered for deduplication.
    pub play_dedup_capacity: usize,
    /// Durable consumer names start with this, then `-catalog-`, `-play-` or `-playlist-` and
    /// the replica.
    pub consumer_prefix: String,
}

impl Default for SearchSettings {
    fn default() -> Self {
        Self {
            index_dir: None,
            commit_interval: Duration::from_millis(150),
            idle_check: Duration::from_millis(50),
            max_batch: 2048,
            batch_size: 256,
            writer_memory_bytes: 64 * 1024 * 1024,
            play_dedup_capacity: 200_000,
            consumer_prefix: "search".to_owned(),
            replica: None,
        }
    }
}

impl SearchSettings {
    /// The replica's name as consumer names allow it (`a-z`, `0-9`, `_`, `-`): the setting,
    /// else the host name, else `search`.
    pub fn replica_name(&self) -> String {
        let raw = match &self.replica {
            Some(name) => name.clone(),
            None => std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default(),
        };
        let name: String = raw
            .trim()
            .chars()
            .map(|c| match c.to_ascii_lowercase() {
                c @ ('a'..='z' | '0'..='9' | '_' | '-') => c,
                _ => '-',
            })
            .take(64)
            .collect();
        if name.is_empty() {
            "search".to_owned()
        } else {
            name
        }
    }
}
