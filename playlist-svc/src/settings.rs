//! Settings of the playlist service (`[playlist]`).

use std::time::Duration;

use serde::Deserialize;

/// What the playlist service can be configured with; the defaults serve `tunemesh up`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlaylistSettings {
    /// How long a cached playlist lives without being invalidated.
    #[serde(with = "humantime_serde")]
    pub cache_ttl: Duration,
    /// Playlists kept by the in-process cache (embedded mode).
    pub memory_cache_capacity: u64,
    /// Bound on each store call; past it the call answers UNAVAILABLE.
    #[serde(with = "humantime_serde")]
    pub store_timeout: Duration,
    /// Bound on each catalogue call (track id checks).
    #[serde(with = "humantime_serde")]
    pub catalog_timeout: Duration,
    /// Longest wait of the outbox relay between rounds when not poked.
    #[serde(with = "humantime_serde")]
    pub outbox_poll_interval: Duration,
    /// How long a relay's claim on outbox rows lasts; a relay that dies holding one delays
    /// those events by this much.
    #[serde(with = "humantime_serde")]
    pub outbox_lease: Duration,
    /// Wait between runs of the duration backfill (items stored before durations were kept,
    /// see `durations`); its first run starts with the service.
    #[serde(with = "humantime_serde")]
    pub duration_backfill_interval: Duration,
}

impl Default for PlaylistSettings {
    fn default() -> Self {
        Self {
            cache_ttl: Duration::from_secs(300),
            memory_cache_capacity: 10_000,
            store_timeout: Duration::from_secs(5),
            catalog_timeout: Duration::from_secs(2),
            outbox_poll_interval: Duration::from_secs(1),
            outbox_lease: Duration::from_secs(30),
            duration_backfill_interval: Duration::from_secs(600),
        }
    }
}
