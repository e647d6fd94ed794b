//! Hostile: metrics. Whatever paths and methods a client invents, the gateway's and the
//! services' metrics keep a bounded set of series, and `/metrics` is not on the public port.

use tunemesh_proto::catalog::v1::GetTrackRequest;
use tunemesh_proto::tonic;

use crate::support::RunningMesh;

/// Requests in the flood: each with its own path and method, so a raw label would add one
/// series per request.
const FLOOD: usize = 60;

/// The series of `metric` in a Prometheus text body.
fn series<'a>(body: &'a str, metric: &str) -> Vec<&'a str> {
    let prefix = format!("{metric}{{");
    body.lines().filter(|l| l.starts_with(&prefix)).collect()
}

async fn scrape(mesh: &RunningMesh) -> anyhow::Result<String> {
    let response = mesh.http.get(mesh.admin_url("/metrics")).send().await?;
    anyhow::ensure!(
        response.status() == 200,
        "admin /metrics: {}",
        response.status()
    );
    Ok(response.text().await?)
}

#[tokio::test]
async fn metrics_are_served_on_the_admin_port_and_not_on_the_public_one() -> anyhow::Result<()> {
    let mesh = RunningMesh::start().await?;
    mesh.wait_ready().await?;
    let public = mesh.http.get(mesh.url("/metrics")).send().await?;
    let body = public.text().await?;
    assert!(
        !body.contains("tunemesh_") && !body.contains("# TYPE"),
        "the public port serves metrics: {body}"
    );
    let admin = scrape(&mesh).await?;
    assert!(admin.contains("tunemesh_gateway_requests_total"), "{admin}");
    // The probes stay public: load balancers ask the public port.
    assert_eq!(
        mesh.http.get(mesh.url("/readyz")).send().await?.status(),
        200
    );
    assert_eq!(
        mesh.http.get(mesh.url("/healthz")).send().await?.status(),
        200
    );
    mesh.stop().await
}

#[tokio::test]
async fn a_flood_of_invented_paths_and_methods_adds_no_series() -> anyhow::Result<()> {
    let mesh = RunningMesh::start().await?;
    mesh.wait_ready().await?;
    let marker = format!("zq{}", std::process::id());
    let before = scrape(&mesh).await?;
    let gateway_before = series(&before, "tunemesh_gateway_requests_total").len();
    let services_before = series(&before, "tunemesh_grpc_server_requests_total").len();

    for i in 0..FLOOD {
        let method = reqwest::Method::from_bytes(format!("{marker}M{i}").as_bytes())?;
        let path = format!("/{marker}/p{i}/../x{i}");
        let _ = mesh.http.request(method, mesh.url(&path)).send().await?;
    }
    // Straight at a service's gRPC port (over mutual TLS, as the gateway), on paths no
    // contract defines.
    let channel = mesh.channel_as("gateway", "player");
    for i in 0..FLOOD {
        let mut grpc = tonic::client::Grpc::new(channel.clone());
        grpc.ready().await?;
        let path: tonic::codegen::http::uri::PathAndQuery =
            format!("/{marker}.S{i}/M{i}").parse()?;
        let codec = tonic_prost::ProstCodec::<GetTrackRequest, GetTrackRequest>::default();
        let answer = grpc
            .unary(tonic::Request::new(GetTrackRequest::default()), path, codec)
            .await;
        assert_eq!(
            answer.err().map(|s| s.code()),
            Some(tonic::Code::Unimplemented)
        );
    }

    let after = scrape(&mesh).await?;
    assert!(
        !after.contains(&marker),
        "a client's path or method became a label: {}",
        after
            .lines()
            .filter(|l| l.contains(&marker))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let gateway_added = series(&after, "tunemesh_gateway_requests_total")
        .len()
        .saturating_sub(gateway_before);
    let services_added = series(&after, "tunemesh_grpc_server_requests_total")
        .len()
        .saturating_sub(services_before);
    // Other tests share the recorder, so a few new series may be theirs; the flood alone
    // would have added one per request.
    assert!(
        gateway_added < FLOOD / 2,
        "{gateway_added} gateway series added"
    );
    assert!(
        services_added < FLOOD / 2,
        "{services_added} service series added"
    );
    mesh.stop().await
}
