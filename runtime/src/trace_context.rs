//! W3C trace-context helpers: carry the current span's `traceparent` across gRPC metadata, HTTP
//! headers and event headers, and continue a trace from them on the receiving side.
//!
//! All of them go through the global propagator that [`crate::telemetry`] installs, so the wire
//! format is defined in one place.
//!
//! Inside the mesh a `traceparent` is trusted, sampled flag included: the gateway wrote it.
//! At the edge it comes from a client, so [`continue_untrusted`] keeps the client's trace id
//! (for correlation) but replaces its sampled flag with the edge's own decision: a client
//! cannot force every request it sends to be recorded and exported.

use std::sync::atomic::{AtomicU64, Ordering};

use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{SpanContext, TraceContextExt as _, TraceFlags};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The header (and metadata key) that carries the trace parent.
pub const TRACEPARENT: &str = "traceparent";
/// The header that carries vendor trace state.
pub const TRACESTATE: &str = "tracestate";

/// Writes the context of `span` into `carrier`.
pub fn inject_span(span: &Span, carrier: &mut dyn Injector) {
    let context = span.context();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, carrier);
    });
}

/// Writes the current span's context into HTTP headers (also gRPC metadata on the wire).
pub fn inject_headers(headers: &mut http::HeaderMap) {
    inject_span(&Span::current(), &mut HeaderInjector(headers));
}

/// The remote context found in `carrier`; empty when it carries none or a malformed one.
pub fn extract(carrier: &dyn Extractor) -> Context {
    opentelemetry::global::get_text_map_propagator(|propagator| propagator.extract(carrier))
}

/// The remote context found in HTTP headers.
pub fn extract_headers(headers: &http::HeaderMap) -> Context {
    extract(&HeaderExtractor(headers))
}

/// Makes `span` a child of the trace that `headers` carry, if they carry one.
pub fn continue_from_headers(span: &Span, headers: &http::HeaderMap) {
    let parent = extract_headers(headers);
    // A span can only be re-parented before it is entered; a failure means it was already
    // recorded under another parent, which is harmless for the request itself.
    let _ = span.set_parent(parent);
}

/// The share of traces the edge records, as `f64` bits; 1.0 until telemetry says otherwise.
static EDGE_SAMPLE_RATIO: AtomicU64 = AtomicU64::new(0x3FF0_0000_0000_0000);

/// Sets the share of requests (0.0 to 1.0) whose traces the edge records; [`crate::telemetry`]
/// calls it with `telemetry.sample_ratio`.
pub fn set_edge_sample_ratio(ratio: f64) {
    EDGE_SAMPLE_RATIO.store(ratio.clamp(0.0, 1.0).to_bits(), Ordering::Relaxed);
}

/// Makes `span` continue the trace a client's `headers` carry, sampled by the edge's own
/// decision (see the module's notes) at the configured ratio.
pub fn continue_untrusted(span: &Span, headers: &http::HeaderMap) {
    let ratio = f64::from_bits(EDGE_SAMPLE_RATIO.load(Ordering::Relaxed));
    continue_at_edge(span, headers, rand::random::<f64>() < ratio);
}

/// Makes `span` continue the trace in `headers` with `sampled` as the decision, whatever the
/// client's flag said. Without a valid `traceparent` the span starts its own trace.
pub fn continue_at_edge(span: &Span, headers: &http::HeaderMap, sampled: bool) {
    let remote = extract_headers(headers);
    let client = remote.span().span_context().clone();
    if !client.is_valid() {
        // A root span: the tracer's own sampler decides.
        return;
    }
    let flags = if sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    let decided = SpanContext::new(
        client.trace_id(),
        client.span_id(),
        flags,
        true,
        // Vendor state is the client's too: dropped rather than carried into the mesh.
        opentelemetry::trace::TraceState::default(),
    );
    let _ = span.set_parent(Context::new().with_remote_span_context(decided));
}

/// The current span's `traceparent`, for messages (events) that carry it as a field.
pub fn current_traceparent() -> Option<String> {
    let mut headers = http::HeaderMap::new();
    inject_headers(&mut headers);
    headers
        .get(TRACEPARENT)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// A carrier over a plain list of pairs, for transports with their own header types.
#[derive(Debug, Default)]
pub struct PairCarrier(pub Vec<(String, String)>);

impl Injector for PairCarrier {
    fn set(&mut self, key: &str, value: String) {
        self.0.push((key.to_owned(), value));
    }
}

impl Extractor for PairCarrier {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(k, _)| k.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::TraceContextExt;
    use opentelemetry_sdk::propagation::TraceContextPropagator;

    use super::*;

    const SAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn extracts_a_w3c_traceparent_and_writes_it_back() {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let mut headers = http::HeaderMap::new();
        headers.insert(TRACEPARENT, SAMPLE.parse().expect("valid header"));
        let context = extract_headers(&headers);
        let span_context = context.span().span_context().clone();
        assert!(span_context.is_valid());
        assert_eq!(
            span_context.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );

        let mut out = PairCarrier::default();
        opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&context, &mut out));
        assert_eq!(out.get(TRACEPARENT), Some(SAMPLE));
    }

    #[test]
    fn malformed_traceparent_gives_an_empty_context() {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let mut headers = http::HeaderMap::new();
        headers.insert(TRACEPARENT, "garbage".parse().expect("valid header"));
        let context = extract_headers(&headers);
        assert!(!context.span().span_context().is_valid());
    }
}
