//! Settings of the player service (`[player]`).

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
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

/// An S3-compatible bucket for media blobs (`[player.s3]`, `TUNEMESH_PLAYER__S3__*`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Settings {
    /// The bucket (must exist).
    pub bucket: String,
    /// Its region; S3-compatible servers usually accept any.
    pub region: String,
    /// The server's URL for anything but AWS itself (e.g. `http://127.0.0.1:9000`).
    pub endpoint: Option<String>,
    /// Allows a plain-HTTP endpoint (a server on a private network or loopback).
    pub allow_http: bool,
    /// Access key id; unset uses the instance's or pod's role credentials.
    pub access_key_id: Option<String>,
    /// Secret access key: read from settings or env, never logged or printed.
    pub secret_access_key: Option<SecretString>,
    /// Bound on opening a connection to the server.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Bound on one request (a segment read or a rendition write).
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
}

impl Default for S3Settings {
    fn default() -> Self {
        Self {
            bucket: String::new(),
            region: "us-east-1".to_owned(),
            endpoint: None,
            allow_http: false,
            access_key_id: None,
            secret_access_key: None,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
        }
    }
}
