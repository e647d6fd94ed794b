//! The mesh's metrics through the `metrics` facade: per-endpoint requests, errors and latency,
//! breaker transitions and endpoint counts. A test recorder is installed process-wide, so this
//! module holds one test; it reads only its own service's series, so the other tests that
//! share the process under `cargo test` cannot move its numbers.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::harness::{assert_eventually, unique_prefix};
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tunemesh_discovery::{EmbeddedRegistry, Mesh, MeshSettings, Registry};

use crate::support::{Server, TRAFFIC};

/// Every series as `name{label=value,...}` → its atomic value (gauges as f64 bits).
#[derive(Debug, Default, Clone)]
struct TestRecorder {
    series: Arc<Mutex<BTreeMap<String, Arc<AtomicU64>>>>,
}

/// Counts histogram samples.
#[derive(Debug)]
struct Samples(Arc<AtomicU64>);

impl metrics::HistogramFn for Samples {
    fn record(&self, _value: f64) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl TestRecorder {
    fn slot(&self, key: &Key) -> Arc<AtomicU64> {
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        let id = format!("{}{{{}}}", key.name(), labels.join(","));
        let mut series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        series.entry(id).or_default().clone()
    }

    /// Sum of every series of `name` whose labels include all of `labels`.
    fn sum(&self, name: &str, labels: &[&str], gauge: bool) -> f64 {
        let series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        series
            .iter()
            .filter(|(id, _)| {
                id.starts_with(&format!("{name}{{")) && labels.iter().all(|l| id.contains(l))
            })
            .map(|(_, v)| v.load(Ordering::SeqCst))
            .map(|v| if gauge { f64::from_bits(v) } else { v as f64 })
            .sum()
    }
}

impl Recorder for TestRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.slot(key))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.slot(key))
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(Arc::new(Samples(self.slot(key))))
    }
}

#[tokio::test]
async fn mesh_reports_endpoint_traffic_errors_breaker_transitions_and_endpoint_counts()
-> anyhow::Result<()> {
    let recorder = TestRecorder::default();
    metrics::set_global_recorder(recorder.clone())?;
    let service = unique_prefix("metrics");
    let registry = Arc::new(EmbeddedRegistry::new());
    let (good, broken) = (Server::start("good").await?, Server::start("broken").await?);
    broken.behaviour.set_unavailable(true);
    for server in [&good, &broken] {
        registry.register(&server.registration(&service)).await?;
    }
    let mesh = Mesh::new(registry, MeshSettings::default());
    let mut client =
        HealthClient::new(mesh.channel(&service).retrying(["/grpc.health.v1.Health/"]));
    for _ in 0..200 {
        client
            .check(HealthCheckRequest {
                service: TRAFFIC.into(),
            })
            .await?;
    }

    let svc = format!("service={service}");
    let (good_ep, broken_ep) = (
        format!("endpoint={}", good.addr),
        format!("endpoint={}", broken.addr),
    );
    let requests =
        |ep: &str| recorder.sum("tunemesh_mesh_endpoint_requests_total", &[&svc, ep], false);
    assert!(
        requests(&good_ep) >= 200.0,
        "good endpoint answered every call"
    );
    assert!(requests(&broken_ep) >= 1.0, "the broken one was tried");
    let unavailable = recorder.sum(
        "tunemesh_mesh_endpoint_errors_total",
        &[&svc, &broken_ep, "kind=unavailable"],
        false,
    );
    assert_eq!(unavailable, requests(&broken_ep), "every call to it failed");
    assert!(
        recorder.sum(
            "tunemesh_mesh_endpoint_latency_seconds",
            &[&svc, &good_ep],
            false
        ) >= 200.0
    );
    assert!(recorder.sum("tunemesh_mesh_retries_total", &[&svc], false) >= 1.0);
    assert_eventually!(
        recorder.sum("tunemesh_mesh_endpoints", &[&svc, "pool=all"], true) == 2.0,
        timeout = Duration::from_secs(10)
    );

    // Alone in its own service, the broken replica fails seven calls in a row.
    let alone = format!("{service}-alone");
    let registry = Arc::new(EmbeddedRegistry::new());
    registry.register(&broken.registration(&alone)).await?;
    let mesh = Mesh::new(registry, MeshSettings::default());
    let mut client = HealthClient::new(mesh.channel(&alone));
    for _ in 0..7 {
        let status = client
            .check(HealthCheckRequest {
                service: TRAFFIC.into(),
            })
            .await;
        assert_eq!(
            status.map(drop).unwrap_err().code(),
            tonic::Code::Unavailable
        );
    }
    let opened = format!("service={alone}");
    let open = recorder.sum(
        "tunemesh_mesh_breaker_transitions_total",
        &[&opened, "to=open"],
        false,
    );
    assert_eq!(open, 1.0, "seven failures open the breaker once");

    // A slow replica: a call past the mesh's own timeout is the endpoint's timeout, one past
    // the caller's shorter deadline is the caller's (neither answered, both counted once).
    let slow = Server::start("slow").await?;
    slow.behaviour.set_delay(Duration::from_secs(2));
    let lagging = format!("{service}-slow");
    let registry = Arc::new(EmbeddedRegistry::new());
    registry.register(&slow.registration(&lagging)).await?;
    let settings = MeshSettings {
        timeout: Duration::from_millis(200),
        ..MeshSettings::default()
    };
    let mesh = Mesh::new(registry, settings);
    let mut client = HealthClient::new(mesh.channel(&lagging));
    let traffic = || HealthCheckRequest {
        service: TRAFFIC.into(),
    };
    let timed_out = client.check(traffic()).await.map(drop).unwrap_err();
    assert_eq!(timed_out.code(), tonic::Code::DeadlineExceeded);
    let mut hurried = tonic::Request::new(traffic());
    hurried.set_timeout(Duration::from_millis(50));
    let hurried = client.check(hurried).await.map(drop).unwrap_err();
    assert_eq!(hurried.code(), tonic::Code::DeadlineExceeded);
    let (svc, ep) = (
        format!("service={lagging}"),
        format!("endpoint={}", slow.addr),
    );
    let errors = |kind: &str| {
        recorder.sum(
            "tunemesh_mesh_endpoint_errors_total",
            &[&svc, &ep, kind],
            false,
        )
    };
    assert_eq!(errors("kind=timeout"), 1.0, "the mesh's timeout");
    assert_eq!(errors("kind=caller_deadline"), 1.0, "the caller's deadline");
    Ok(())
}
