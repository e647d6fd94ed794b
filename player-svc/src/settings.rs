//! Settings of the player service (`[player]`).

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

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
    /// Directories `IngestService.ScanLibrary` may read; the library is always allowed.
    pub scan_roots: Vec<PathBuf>,
    /// Transcoding threads; 0 means one less than the machine's cores (at least one), so
    /// ingest never takes the core that serves live streams.
    pub ingest_workers: usize,
    /// The quality ladder to encode (`low`, `normal`, `high`, `very_high`).
    pub qualities: Vec<String>,
    /// Largest upload accepted by `UploadTrack`.
    pub max_upload_bytes: u64,
    /// Chunks of audio a stream may hold ready ahead of its consumer: the only read-ahead.
    pub stream_buffer_chunks: usize,
    /// A play session without a report for this long is closed as timed out.
    #[serde(with = "humantime_serde")]
    pub session_timeout: Duration,
}

impl Default for PlayerSettings {
    fn default() -> Self {
        Self {
            library: None,
            rescan_interval: Duration::from_secs(30),
            blob_dir: None,
            scan_roots: Vec::new(),
            ingest_workers: 0,
            qualities: ["low", "normal", "high", "very_high"]
                .map(str::to_owned)
                .to_vec(),
            max_upload_bytes: 2 << 30,
            stream_buffer_chunks: 4,
            session_timeout: Duration::from_secs(600),
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
