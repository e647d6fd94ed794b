//! One play followed across processes: a cluster exporting spans over OTLP/gRPC to a receiver
//! inside the test. player-svc's ReportPlayback span and the play event on JetStream (its
//! `traceparent` header, written to the outbox in the same transaction) share one trace, and
//! that trace runs gateway -> player-svc -> outbox -> JetStream -> reco-svc.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use tunemesh::cluster::Cluster;
use tunemesh_proto::tonic;

use crate::cluster::{Listener, ingest, test_options};

/// Every span received: (service name, trace id as hex, span name).
#[derive(Clone, Default)]
struct Receiver {
    spans: Arc<Mutex<Vec<(String, String, String)>>>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().expect("not poisoned");
        for resource in request.into_inner().resource_spans {
            let service = resource
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                    Value::StringValue(name) => Some(name.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            for scope in resource.scope_spans {
                for span in scope.spans {
                    spans.push((service.clone(), hex::encode(&span.trace_id), span.name));
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// Serves the OTLP trace collector on a free loopback port.
async fn start_receiver() -> anyhow::Result<(Receiver, SocketAddr)> {
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    let server = tonic::transport::Server::builder()
        .add_service(TraceServiceServer::new(receiver.clone()))
        .serve_with_incoming(incoming);
    tokio::spawn(server);
    Ok((receiver, addr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_play_report_s_trace_travels_with_its_event_through_the_outbox_and_jetstream()
-> anyhow::Result<()> {
    let services = traced_play().await?;
    assert!(services.contains("player-0"), "{services:?}");
    Ok(())
}

/// The whole chain: the gateway's request span (gateway/src/layers/observe.rs) is the root,
/// the mesh channel carries its `traceparent` to player-svc, the outbox row and the JetStream
/// message carry it on, and reco-svc's feed continues it when it applies the play.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_play_is_one_trace_from_the_gateway_through_jetstream_into_reco() -> anyhow::Result<()>
{
    let services = traced_play().await?;
    for service in ["gateway-0", "player-0", "reco-0"] {
        assert!(
            services.contains(service),
            "{service} missing: {services:?}"
        );
    }
    Ok(())
}

/// Runs one play on a one-replica cluster exporting spans to a receiver here; returns the
/// services that exported spans in the trace the play event carries on the bus.
async fn traced_play() -> anyhow::Result<BTreeSet<String>> {
    tunemesh_testkit::init_tracing();
    let (receiver, otlp) = start_receiver().await?;
    let dir = tempfile::tempdir()?;
    let mut options = test_options("trace", 1, dir.path(), &["low"])?;
    options.env = vec![
        (
            "TUNEMESH_TELEMETRY__OTLP_ENDPOINT".to_owned(),
            format!("http://{otlp}"),
        ),
        (
            "TUNEMESH_TELEMETRY__LOG_FILTER".to_owned(),
            "info".to_owned(),
        ),
    ];
    let cluster = Cluster::start(options).await?;
    let played = play_once(&cluster, dir.path()).await;
    let prefix = cluster.stream_prefix().to_owned();
    // Stopping flushes every process's span batch to the receiver.
    let stopped = cluster.stop().await;
    let js = async_nats::jetstream::new(tunemesh_testkit::nats_client().await?);
    let event_trace = match &played {
        Ok(session) => event_traceparent(&js, &prefix, session).await,
        Err(_) => Ok(None),
    };
    tunemesh_testkit::delete_nats_streams(&js, &prefix).await?;
    // Every process's Redis prefix starts with the cluster's name (`<name>:<service>:`).
    let redis = tunemesh_testkit::redis_client().await?;
    tunemesh_testkit::delete_redis_keys(&redis, &format!("{prefix}:")).await?;
    played?;
    stopped?;

    let spans = receiver.spans.lock().expect("not poisoned").clone();
    let mut services_by_trace: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (service, trace, _) in &spans {
        services_by_trace
            .entry(trace.clone())
            .or_default()
            .insert(service.clone());
    }
    // The trace the event on the bus carries, i.e. the one its ReportPlayback ran in.
    let event_trace = event_trace?.context("the play event has no traceparent")?;
    services_by_trace
        .remove(&event_trace)
        .with_context(|| format!("no span of the event's trace {event_trace}: {spans:?}"))
}

/// Signs up, ingests one track and reports one whole play; returns the play's session id.
async fn play_once(cluster: &Cluster, dir: &std::path::Path) -> anyhow::Result<String> {
    let listener = Listener::sign_up(cluster).await?;
    ingest(cluster, dir).await?;
    let page = listener.get_json("/v1/tracks").await?;
    let track = &page["tracks"][0];
    let id = track["id"].as_str().context("a track")?;
    let duration = track["duration_ms"].as_u64().context("a duration")?;
    anyhow::ensure!(
        listener.play("traced-play", id, duration).await?,
        "not counted"
    );
    // Wait until the relay published the event, then give consumers a moment before the stop.
    let js = async_nats::jetstream::new(tunemesh_testkit::nats_client().await?);
    tunemesh_testkit::eventually(Duration::from_secs(30), || async {
        let published = event_traceparent(&js, cluster.stream_prefix(), "traced-play").await?;
        anyhow::ensure!(published.is_some(), "the play event is not on the bus yet");
        Ok(())
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok("traced-play".to_owned())
}

/// The trace id in the `traceparent` header of the session's play event on the bus.
async fn event_traceparent(
    js: &async_nats::jetstream::Context,
    prefix: &str,
    session: &str,
) -> anyhow::Result<Option<String>> {
    let mut stream = js.get_stream(format!("{prefix}_events")).await?;
    let last = stream.info().await?.state.last_sequence;
    for sequence in 1..=last {
        let Ok(message) = stream.get_raw_message(sequence).await else {
            continue;
        };
        let is_play = message
            .subject
            .as_str()
            .ends_with(tunemesh_proto::subjects::PLAY);
        let header = message
            .headers
            .get("traceparent")
            .map(|v| v.as_str().to_owned());
        let payload = String::from_utf8_lossy(&message.payload).into_owned();
        if is_play && payload.contains(session) {
            // traceparent = 00-<trace id>-<span id>-<flags>
            return Ok(header.and_then(|h| h.split('-').nth(1).map(str::to_owned)));
        }
    }
    Ok(None)
}
