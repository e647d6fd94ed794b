//! Settings of the reco service (`[reco]`).

use std::time::Duration;

use serde::Deserialize;

use crate::mix::MixSettings;
use crate::model::ModelParams;

/// What the reco service can be configured with; the defaults serve `tunemesh up`.
///
/// Where the state lives follows the process's storage: in memory under `tunemesh up`
/// (saved to `<data_dir>/reco/model.bin` at a clean stop and loaded at the next start,
/// rebuilt by replay after a crash), in Redis under `<redis.key_prefix>reco:` in production.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecoSettings {
    /// The model's knobs (`[reco.model]`).
    pub model: ModelParams,
    /// Durable consumer names start with this, then `-play`, `-catalog` or `-playlist`
    /// (production, shared by replicas) or `-play-embedded` (embedded: reset to replay
    /// everything when there is no saved model).
    pub consumer_prefix: String,
    /// How long applied event ids are remembered in Redis to drop redeliveries (at least
    /// this, at most a seventh more: 14-byte digests in one expiring set per seventh, 50 to 60
    /// bytes of Redis an event, where a string key per id took 160; see `store/redis.rs`).
    #[serde(with = "humantime_serde")]
    pub dedup_ttl: Duration,
    /// How often the consumer lag gauge is refreshed.
    #[serde(with = "humantime_serde")]
    pub lag_interval: Duration,
    /// Events pulled from the bus per request (and twice that unsettled at most).
    pub batch_size: usize,
    /// The daily mixes (`[reco.mix]`).
    pub mix: MixSettings,
}

impl Default for RecoSettings {
    fn default() -> Self {
        Self {
            model: ModelParams::default(),
            consumer_prefix: "reco".to_owned(),
            dedup_ttl: Duration::from_secs(7 * 24 * 3600),
            lag_interval: Duration::from_secs(5),
            batch_size: 128,
            mix: MixSettings::default(),
        }
    }
}
