//! Settings of the player service (`[player]`).

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
pub use tunemesh_runtime::blobs::S3Settings;

/// What the player service can be configured with; the defaults serve `tunemesh up`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlayerSettings {
    /// A music folder scanned at start and rescanned every `rescan_interval` (`tunemesh up
    /// --library DIR`); unset scans nothing.
    pub library: Option<PathBuf>,
    /// How often the library is rescanned for added or changed files.
    #[serde(with = "humantime_serde")]
    pub rescan_interval: Duration,
    /// Where media blobs live in production (a local or mounted directory); embedded mode
    /// keeps them under the data directory when unset.
    pub blob_dir: Option<PathBuf>,
    /// Media blobs in an S3-compatible bucket instead of `blob_dir` (`[player.s3]`).
    pub s3: Option<S3Settings>,
    /// Directories `IngestService.ScanLibrary` may read; the library is always allowed.
    pub scan_roots: Vec<PathBuf>,
    /// Transcoding threads; 0 means one less than the machine's cores (at least one), so
    /// ingest never takes the core that serves live streams.
    pub ingest_workers: usize,
    /// How much the transcoding threads lower their own priority (nice increment, 0 to 19),
    /// so serving always wins the CPU.
    pub ingest_nice: i32,
    /// Where `UploadTrack` spools incoming files (the system temp dir when unset).
    pub upload_dir: Option<PathBuf>,
    /// The quality ladder to encode (`low`, `normal`, `high`, `very_high`).
    pub qualities: Vec<String>,
    /// Largest upload accepted by `UploadTrack`.
    pub max_upload_bytes: u64,
    /// Chunks of audio a stream may hold ready ahead of its consumer: the only read-ahead.
    pub stream_buffer_chunks: usize,
    /// Longest a stream's read-ahead waits, per read, while other streams have not sent
    /// their first audio yet (start-up first, `starts.rs`); zero turns it off.
    #[serde(with = "humantime_serde")]
    pub stream_start_priority: Duration,
    /// Tracks whose manifests are kept in memory for delivery (see `track_cache.rs`).
    pub track_cache_capacity: u64,
    /// Longest a kept manifest is used: how soon a track re-ingested by another replica
    /// plays its new audio here.
    #[serde(with = "humantime_serde")]
    pub track_cache_ttl: Duration,
    /// A play session without a report for this long is closed as timed out.
    #[serde(with = "humantime_serde")]
    pub session_timeout: Duration,
    /// How often the sweeper looks for sessions past `session_timeout`.
    #[serde(with = "humantime_serde")]
    pub session_sweep_interval: Duration,
    /// Heard time a play session may claim beyond how long it has been open on the server's
    /// clock (report latency); anything more is not credited.
    #[serde(with = "humantime_serde")]
    pub play_clock_slack: Duration,
    /// Counted listening a user may have ahead of the wall clock, across all sessions: plays
    /// count against a budget refilled in real time up to this (never below one play).
    #[serde(with = "humantime_serde")]
    pub play_budget_burst: Duration,
}

impl Default for PlayerSettings {
    fn default() -> Self {
        Self {
            library: None,
            rescan_interval: Duration::from_secs(30),
            blob_dir: None,
            s3: None,
            scan_roots: Vec::new(),
            ingest_workers: 0,
            ingest_nice: 10,
            upload_dir: None,
            qualities: ["low", "normal", "high", "very_high"]
                .map(str::to_owned)
                .to_vec(),
            max_upload_bytes: 2 << 30,
            stream_buffer_chunks: 4,
            stream_start_priority: Duration::from_millis(200),
            track_cache_capacity: 10_000,
            track_cache_ttl: Duration::from_secs(30),
            session_timeout: Duration::from_secs(600),
            session_sweep_interval: Duration::from_secs(30),
            play_clock_slack: Duration::from_secs(5),
            play_budget_burst: Duration::from_secs(45),
        }
    }
}

impl PlayerSettings {
    /// The number of transcoding threads to run.
    pub fn workers(&self) -> usize {
        if self.ingest_workers > 0 {
            return self.ingest_workers;
        }
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        cores.saturating_sub(1).max(1)
    }
}
