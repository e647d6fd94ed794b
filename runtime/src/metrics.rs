//! The process-wide Prometheus recorder behind the `metrics` facade.
//!
//! Every crate records through `metrics::counter!` and friends; this module installs the one
//! recorder that renders them for `/metrics`. Latency metrics end in `_seconds` and are rendered
//! as histograms with buckets that suit RPCs (100 µs to 10 s).

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Histogram buckets for every `*_seconds` metric.
const LATENCY_BUCKETS: &[f64] = &[
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The Prometheus handle, installing the global recorder on first use. When another recorder
/// was installed first (a test harness, say), the returned handle renders only its own metrics.
pub fn prometheus() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
            .expect("latency buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was installed elsewhere first");
        }
        handle
    })
}

/// The current metrics in the Prometheus text format.
pub fn render() -> String {
    let handle = prometheus();
    // Upkeep drains histogram samples into buckets; doing it per scrape avoids a thread.
    handle.run_upkeep();
    handle.render()
}
