//! Trace context: every call carries the current span's W3C `traceparent`.

use crate::support::harness::unique_prefix;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tunemesh_discovery::MeshSettings;

use super::{client, embedded_mesh, traffic};

// Current-thread runtime: the subscriber below is thread-local and every task must see it.
#[tokio::test(flavor = "current_thread")]
async fn calls_carry_the_current_span_trace_context() -> anyhow::Result<()> {
    // Global, but harmless to other tests: without an OpenTelemetry span nothing is injected.
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let provider = SdkTracerProvider::builder().build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("mesh-test"));
    let _subscriber = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));

    let service = unique_prefix("trace");
    let (servers, _registry, mesh) = embedded_mesh(&service, 1, MeshSettings::default()).await?;
    let span = tracing::info_span!("caller");
    let trace_id = span.context().span().span_context().trace_id();
    client(mesh.channel(&service))
        .check(traffic())
        .instrument(span)
        .await?;

    let traceparent = servers[0].behaviour.last_header("traceparent");
    assert!(
        traceparent
            .as_deref()
            .is_some_and(|t| t.contains(&trace_id.to_string())),
        "traceparent {traceparent:?} does not carry trace {trace_id}"
    );
    Ok(())
}
