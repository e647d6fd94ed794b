//! Mesh settings: timeouts, load estimation, breaker, retry budget and canary shares.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

/// How the mesh channel calls other services. Defaults follow linkerd's.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MeshSettings {
    /// Fail-fast bound on one call, including time spent queueing for an endpoint;
    /// a shorter caller deadline wins.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Bound on opening a connection to one endpoint.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// HTTP/2 keep-alive ping interval, so dead peers are noticed on idle connections.
    #[serde(with = "humantime_serde")]
    pub keep_alive_interval: Duration,
    /// Requests that may wait for an endpoint at once, per service.
    pub buffer: usize,
    /// PeakEWMA latency assumed for an endpoint before it answered.
    #[serde(with = "humantime_serde")]
    pub default_rtt: Duration,
    /// PeakEWMA decay: how fast an old latency peak is forgotten.
    #[serde(with = "humantime_serde")]
    pub decay: Duration,
    /// The per-endpoint circuit breaker.
    pub breaker: BreakerSettings,
    /// Retries of idempotent calls.
    pub retry: RetrySettings,
    /// The timeout of one try of a retryable call, from the endpoint's observed latency.
    pub per_try: PerTrySettings,
    /// Share of a service's calls (0.0 to 1.0) sent to its instances tagged `canary`.
    pub canary: BTreeMap<String, f64>,
    /// HTTP/2 receive window of one call: how much of a response may wait unread. Streams
    /// share their connection's window, so a few listeners who pause (or a slow browser
    /// behind the gateway) each holding hyper's default 2 MiB would exhaust the 5 MiB
    /// connection window and stall every other stream on it.
    pub stream_window_bytes: u32,
    /// HTTP/2 receive window of a connection: room for `stream_window_bytes` on each of
    /// the 256 streams a server allows (`grpc.max_concurrent_streams`), so no stream waits
    /// on another one's unread data.
    pub connection_window_bytes: u32,
    /// Long streams (audio) one connection to an endpoint carries at once; the next opens
    /// another connection. At most the servers' `grpc.max_concurrent_streams` (256), below
    /// it so a stream just ended on this side is not still counted on the server's.
    pub streams_per_connection: usize,
}

impl Default for MeshSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(1),
            keep_alive_interval: Duration::from_secs(10),
            buffer: 1024,
            default_rtt: Duration::from_millis(30),
            decay: Duration::from_secs(10),
            breaker: BreakerSettings::default(),
            retry: RetrySettings::default(),
            per_try: PerTrySettings::default(),
            canary: BTreeMap::new(),
            stream_window_bytes: 128 * 1024,
            connection_window_bytes: 256 * 128 * 1024,
            streams_per_connection: 200,
        }
    }
}

/// Consecutive-failure breaker: after `failures` failures in a row an endpoint leaves the
/// rotation for a penalty, then gets one probe call.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BreakerSettings {
    /// Consecutive failures that open the breaker.
    pub failures: u32,
    /// First penalty; each failed probe doubles it.
    #[serde(with = "humantime_serde")]
    pub min_penalty: Duration,
    /// Longest penalty.
    #[serde(with = "humantime_serde")]
    pub max_penalty: Duration,
    /// Random extra penalty, as a fraction of the penalty, so endpoints do not probe in step.
    pub jitter: f64,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            failures: 7,
            min_penalty: Duration::from_secs(1),
            max_penalty: Duration::from_secs(60),
            jitter: 0.5,
        }
    }
}

/// Retry budget and backoff for idempotent calls.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetrySettings {
    /// Window over which the budget counts calls (1 s to 60 s).
    #[serde(with = "humantime_serde")]
    pub budget_window: Duration,
    /// Retries per second always allowed.
    pub min_per_sec: u32,
    /// Extra retries allowed as a fraction of calls.
    pub ratio: f32,
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// First backoff; doubles per attempt, with full jitter.
    #[serde(with = "humantime_serde")]
    pub backoff: Duration,
    /// Longest backoff.
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self {
            budget_window: Duration::from_secs(10),
            min_per_sec: 10,
            ratio: 0.2,
            max_attempts: 3,
            backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(200),
        }
    }
}

/// Per-try timeout of retryable calls: `factor` × the endpoint's peak-weighted latency,
/// clamped to `[min, max]`, so a replica that hangs (a GC pause, a stopped host) costs one
/// short wait and a retry elsewhere instead of the caller's whole deadline.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PerTrySettings {
    /// Multiple of the endpoint's latency estimate a try may take.
    pub factor: f64,
    /// Shortest per-try timeout: below it, ordinary jitter would cause retries.
    #[serde(with = "humantime_serde")]
    pub min: Duration,
    /// Longest per-try timeout, and the one used before an endpoint has answered once.
    #[serde(with = "humantime_serde")]
    pub max: Duration,
}

impl Default for PerTrySettings {
    fn default() -> Self {
        Self {
            factor: 4.0,
            min: Duration::from_millis(200),
            max: Duration::from_secs(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_read_human_durations_and_canary_shares_and_default_the_rest() {
        let json =
            r#"{"timeout": "500ms", "breaker": {"max_penalty": "2s"}, "canary": {"player": 0.1}}"#;
        let settings: MeshSettings = serde_json::from_str(json).expect("valid settings");
        assert_eq!(settings.timeout, Duration::from_millis(500));
        assert_eq!(settings.breaker.max_penalty, Duration::from_secs(2));
        assert_eq!(settings.breaker.failures, 7);
        assert_eq!(settings.canary.get("player"), Some(&0.1));
        assert_eq!(settings.retry, RetrySettings::default());
    }

    #[test]
    fn unknown_settings_are_rejected() {
        let error = serde_json::from_str::<MeshSettings>(r#"{"timeuot": "1s"}"#).unwrap_err();
        assert!(error.to_string().contains("timeuot"), "{error}");
    }
}
