//! The edge's sampling decision is its own: a client's `traceparent` with sampled=01 keeps
//! its trace id but does not force the span to be recorded and exported.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, SpanData, SpanExporter};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tunemesh_runtime::trace_context;

const CLIENT_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

fn sampled_client_headers() -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    let parent = format!("00-{CLIENT_TRACE}-00f067aa0ba902b7-01");
    headers.insert(
        trace_context::TRACEPARENT,
        parent.parse().expect("a valid header"),
    );
    headers
}

/// Counts exported spans. (The SDK's in-memory exporter needs its `testing` feature, which
/// would rebuild the SDK with other features for every crate: four lines are cheaper.)
#[derive(Debug, Clone, Default)]
struct Counting(Arc<AtomicUsize>);

impl SpanExporter for Counting {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.fetch_add(batch.len(), Ordering::SeqCst);
        Ok(())
    }
}

/// Runs `edge` on a fresh span under a tracer that samples nothing new (ratio 0), and returns
/// what was exported and the span's trace id.
fn exported_under_ratio_zero(edge: impl Fn(&tracing::Span)) -> (usize, String) {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let exporter = Counting::default();
    let provider = SdkTracerProvider::builder()
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            0.0,
        ))))
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("edge-test")));
    let trace_id = tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("http.server");
        edge(&span);
        let trace_id = span.context().span().span_context().trace_id().to_string();
        drop(span);
        trace_id
    });
    provider.force_flush().expect("flushes");
    (exporter.0.load(Ordering::SeqCst), trace_id)
}

#[test]
fn a_client_sampled_flag_does_not_force_export_when_the_edge_says_no() {
    let headers = sampled_client_headers();
    let (exported, trace_id) =
        exported_under_ratio_zero(|span| trace_context::continue_at_edge(span, &headers, false));
    assert_eq!(exported, 0, "the client's sampled=01 forced an export");
    assert_eq!(trace_id, CLIENT_TRACE, "the client's trace id is kept");
}

#[test]
fn the_edge_ratio_decides_for_untrusted_headers() {
    let headers = sampled_client_headers();
    trace_context::set_edge_sample_ratio(0.0);
    let (exported, _) =
        exported_under_ratio_zero(|span| trace_context::continue_untrusted(span, &headers));
    assert_eq!(exported, 0);
}

#[test]
fn inside_the_mesh_the_parent_s_flag_is_followed() {
    // The counter-check: the trusted path obeys sampled=01, which is why the edge must not
    // use it for a client's header.
    let headers = sampled_client_headers();
    let (exported, _) = exported_under_ratio_zero(|span| {
        trace_context::continue_from_headers(span, &headers);
    });
    assert_eq!(exported, 1);
}
