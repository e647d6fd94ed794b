//! `tunemesh up` in-process: readiness, health, reflection, metrics and drain.

use std::time::Duration;

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tunemesh_proto::catalog::v1::GetTrackRequest;
use tunemesh_proto::catalog::v1::catalog_service_client::CatalogServiceClient;
use tunemesh_proto::player::v1::ReportPlaybackRequest;
use tunemesh_proto::player::v1::player_service_client::PlayerServiceClient;
use tunemesh_proto::reco::v1::RecommendRequest;
use tunemesh_proto::reco::v1::recommendation_service_client::RecommendationServiceClient;
use tunemesh_proto::tonic::Code;
use tunemesh_proto::tonic::transport::Channel;
use tunemesh_runtime::admin::ReadinessReport;

use crate::support::RunningMesh;

#[tokio::test]
async fn up_turns_ready_with_every_service_serving() -> anyhow::Result<()> {
    let mesh = RunningMesh::start().await?;
    mesh.wait_ready().await?;

    let report: ReadinessReport = mesh
        .http
        .get(mesh.url("/readyz"))
        .send()
        .await?
        .json()
        .await?;
    assert!(report.ready);
    let mut names: Vec<_> = report.components.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["player", "playlist", "reco", "search"]);
    assert!(
        report.components.iter().all(|c| c.status == "SERVING"),
        "{report:?}"
    );

    let health = mesh.http.get(mesh.url("/healthz")).send().await?;
    assert_eq!(health.status(), 200);
    mesh.stop().await
}

#[tokio::test]
async fn every_service_answers_grpc_health_on_its_own_port() -> anyhow::Result<()> {
    let mesh = RunningMesh::start().await?;
    mesh.wait_ready().await?;
    for (name, _) in &mesh.services {
        // Over mutual TLS, as the gateway.
        let channel = mesh.channel_as("gateway", name);
        let response = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await?;
        assert_eq!(
            response.get_ref().status(),
            ServingStatus::Serving,
            "{name}"
        );
    }
    mesh.stop().await
}

#[tokio::test]
async fn what_is_a_listeners_needs_the_gateways_assertion_and_no_certificate_gets_nothing()
-> anyhow::Result<()> {
    let mesh = RunningMesh::start().await?;
    mesh.wait_ready().await?;
    // A mesh certificate the policy allows and no assertion: the gateway calling for itself.
    // Catalogue reads are for services too (here: an empty id is a bad argument)...
    let error = CatalogServiceClient::new(mesh.channel_as("gateway", "player"))
        .get_track(GetTrackRequest::default())
        .await
        .expect_err("no such track");
    assert_eq!(error.code(), Code::InvalidArgument, "{error:?}");
    // ...but what acts for a listener needs a listener.
    let error = PlayerServiceClient::new(mesh.channel_as("gateway", "player"))
        .report_playback(ReportPlaybackRequest::default())
        .await
        .expect_err("no listener named");
    assert_eq!(error.code(), Code::Unauthenticated, "{error:?}");
    assert!(error.message().contains("gateway's assertion"), "{error:?}");
    // No certificate at all: refused before any handler.
    let plain = Channel::from_shared(format!("http://{}", mesh.service("player")))?.connect_lazy();
    let error = CatalogServiceClient::new(plain)
        .get_track(GetTrackRequest::default())
        .await
        .expect_err("no certificate");
    assert!(
        matches!(error.code(), Code::Unavailable | Code::Unknown),
        "{error:?}"
    );
    mesh.stop().await
}

#[tokio::test]
async fn reco_refuses_callers_without_a_listener_and_services_the_policy_does_not_allow()
-> anyhow::Result<()> {
    let mesh = RunningMesh::start().await?;
    mesh.wait_ready().await?;
    let error = RecommendationServiceClient::new(mesh.channel_as("gateway", "reco"))
        .recommend(RecommendRequest::default())
        .await
        .expect_err("no listener named");
    assert_eq!(error.code(), Code::Unauthenticated, "{error:?}");
    // search-svc calls nobody: its certificate gets it nowhere.
    let error = RecommendationServiceClient::new(mesh.channel_as("search", "reco"))
        .recommend(RecommendRequest::default())
        .await
        .expect_err("search may not call reco");
    assert_eq!(error.code(), Code::PermissionDenied, "{error:?}");
    assert!(
        error.message().contains("svc/search may not call reco"),
        "{error:?}"
    );
    mesh.stop().await
}

#[tokio::test]
async fn metrics_count_the_rpcs_readiness_made() -> anyhow::Result<()> {
    let mesh = RunningMesh::start().await?;
    mesh.wait_ready().await?;
    let body = mesh
        .http
        .get(mesh.admin_url("/metrics"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        body.contains("tunemesh_grpc_server_requests_total")
            && body.contains("service=\"grpc.health.v1.Health\""),
        "{body}"
    );
    mesh.stop().await
}

#[tokio::test]
async fn shutdown_drains_and_ends_cleanly_within_the_grace_period() -> anyhow::Result<()> {
    let mesh = RunningMesh::start().await?;
    mesh.wait_ready().await?;
    let gateway = mesh.gateway;
    // The grace period is 5 s (see support); the bound only keeps a hang from stalling CI.
    tokio::time::timeout(Duration::from_secs(15), mesh.stop()).await??;
    assert!(
        tokio::net::TcpStream::connect(gateway).await.is_err(),
        "gateway still accepts connections after shutdown"
    );
    Ok(())
}

#[tokio::test]
async fn a_service_that_cannot_start_is_named_in_ups_error() -> anyhow::Result<()> {
    // search-svc's index directory is a file: it can neither open nor replace it.
    let dir = tempfile::tempdir()?;
    let data_dir = dir.path().join("data");
    std::fs::create_dir_all(data_dir.join("search"))?;
    std::fs::write(data_dir.join("search").join("index"), "not an index")?;
    let Err(error) = RunningMesh::start_with(|settings| settings.data_dir = data_dir).await else {
        anyhow::bail!("up started with an unusable search index");
    };
    let message = format!("{error:#}");
    assert!(message.starts_with("cannot start search"), "{message}");
    Ok(())
}
