//! Telemetry, initialised once per process: `tracing` logs to a writer of the caller's choice,
//! and spans exported over OTLP when an endpoint is configured.
//!
//! The W3C trace-context propagator is installed globally either way, so `traceparent` flows
//! through gRPC metadata and event headers even when this process exports nothing.

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use serde::Deserialize;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// How logs are formatted.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines, for terminals.
    #[default]
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Logging and tracing settings (`[telemetry]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetrySettings {
    /// An `EnvFilter` directive, e.g. `info,tunemesh_player=debug`.
    pub log_filter: String,
    /// Line format of the logs.
    pub log_format: LogFormat,
    /// OTLP/gRPC collector endpoint (e.g. `http://127.0.0.1:4317`); no export when unset.
    pub otlp_endpoint: Option<String>,
    /// Service name reported in exported spans.
    pub service_name: String,
    /// Share of traces recorded and exported, 0.0 to 1.0. The edge decides for each request
    /// (a client's sampled flag is not obeyed); services follow the decision they receive.
    pub sample_ratio: f64,
    /// How long shutdown waits for the last spans to be exported.
    #[serde(with = "humantime_serde")]
    pub export_timeout: Duration,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            log_filter: "info".into(),
            log_format: LogFormat::Pretty,
            otlp_endpoint: None,
            service_name: "tunemesh".into(),
            sample_ratio: 1.0,
            export_timeout: Duration::from_secs(3),
        }
    }
}

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The log filter does not parse.
    #[error("invalid log filter {filter:?}: {source}")]
    Filter {
        /// The directive as configured.
        filter: String,
        /// What the parser said.
        source: tracing_subscriber::filter::ParseError,
    },
    /// The OTLP exporter could not be built.
    #[error("cannot export traces to {endpoint}: {source}")]
    Exporter {
        /// The configured endpoint.
        endpoint: String,
        /// What the exporter said.
        source: opentelemetry_otlp::ExporterBuildError,
    },
    /// A global subscriber was installed already.
    #[error("telemetry was initialised twice")]
    AlreadyInitialised,
}

/// Keeps the exporter alive; dropping it flushes and stops span export.
#[derive(Debug)]
#[must_use = "dropping the guard stops trace export"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
    export_timeout: Duration,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(error) = provider.shutdown_with_timeout(self.export_timeout)
        {
            eprintln!("trace export did not shut down cleanly: {error}");
        }
    }
}

/// Initialises logging to stderr and, if configured, OTLP export. Call once from `main`.
/// Logs go to stderr so that stdout carries only what a command tells its user.
pub fn init(settings: &TelemetrySettings) -> Result<TelemetryGuard, TelemetryError> {
    init_with_writer(settings, std::io::stderr)
}

/// Like [`init`], writing logs to `writer` (tests pass a sink or the test writer).
pub fn init_with_writer<W>(
    settings: &TelemetrySettings,
    writer: W,
) -> Result<TelemetryGuard, TelemetryError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    crate::trace_context::set_edge_sample_ratio(settings.sample_ratio);
    let filter =
        EnvFilter::try_new(&settings.log_filter).map_err(|source| TelemetryError::Filter {
            filter: settings.log_filter.clone(),
            source,
        })?;
    let fmt = tracing_subscriber::fmt::layer().with_writer(writer);
    let fmt = match settings.log_format {
        LogFormat::Pretty => fmt.boxed(),
        LogFormat::Json => fmt.json().flatten_event(true).boxed(),
    };
    let provider = settings
        .otlp_endpoint
        .as_deref()
        .map(|endpoint| tracer_provider(endpoint, settings))
        .transpose()?;
    let otel = provider
        .as_ref()
        .map(|provider| tracing_opentelemetry::layer().with_tracer(provider.tracer("tunemesh")));
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init()
        .map_err(|_| TelemetryError::AlreadyInitialised)?;
    if let Some(provider) = &provider {
        opentelemetry::global::set_tracer_provider(provider.clone());
    }
    Ok(TelemetryGuard {
        provider,
        export_timeout: settings.export_timeout,
    })
}

/// A batch-exporting tracer provider sending OTLP/gRPC to `endpoint`: new traces are sampled
/// at `sample_ratio`, continued ones as their (edge-decided) parent says.
fn tracer_provider(
    endpoint: &str,
    settings: &TelemetrySettings,
) -> Result<SdkTracerProvider, TelemetryError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|source| TelemetryError::Exporter {
            endpoint: endpoint.to_owned(),
            source,
        })?;
    let resource = Resource::builder()
        .with_service_name(settings.service_name.clone())
        .build();
    let ratio = settings.sample_ratio.clamp(0.0, 1.0);
    Ok(SdkTracerProvider::builder()
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            ratio,
        ))))
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}
