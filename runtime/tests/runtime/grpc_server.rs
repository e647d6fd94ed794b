//! The standard gRPC server against real tonic clients: health, reflection, registration,
//! admin endpoints, and a drain that lets in-flight calls finish.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tunemesh_discovery::{EmbeddedRegistry, HealthCheck, Registration, Registry, ServiceInstance};
use tunemesh_proto::reco::v1::recommendation_service_client::RecommendationServiceClient;
use tunemesh_proto::reco::v1::recommendation_service_server::{
    RecommendationService, RecommendationServiceServer,
};
use tunemesh_proto::reco::v1::{RecommendRequest, RecommendResponse};
use tunemesh_runtime::admin::{self, Readiness};
use tunemesh_runtime::grpc::{GrpcServer, GrpcServerSettings};
use tunemesh_testkit::{assert_eventually, unique_prefix};

/// A service that takes `delay` to answer and counts its calls; it stands in for any
/// application service (the server under test does not care what it serves).
#[derive(Clone)]
struct Slow {
    delay: Duration,
    calls: Arc<AtomicUsize>,
}

#[tonic::async_trait]
impl RecommendationService for Slow {
    async fn recommend(
        &self,
        _request: Request<RecommendRequest>,
    ) -> Result<Response<RecommendResponse>, Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        Ok(Response::new(RecommendResponse::default()))
    }
}

fn settings() -> GrpcServerSettings {
    GrpcServerSettings {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        drain_grace: Duration::from_secs(5),
        ..GrpcServerSettings::default()
    }
}

async fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .expect("valid uri")
        .connect()
        .await
        .expect("server accepts connections")
}

async fn status_of(channel: Channel, service: &str) -> Option<ServingStatus> {
    let request = HealthCheckRequest {
        service: service.to_owned(),
    };
    let response = HealthClient::new(channel).check(request).await.ok()?;
    Some(response.get_ref().status())
}

#[tokio::test]
async fn a_running_server_reports_serving_over_grpc_health() {
    let server = GrpcServer::bind("player", &settings())
        .await
        .expect("binds");
    let addr = server.local_addr();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(server.run(None, shutdown.clone()));

    let channel = channel(addr).await;
    assert_eventually!(status_of(channel.clone(), "").await == Some(ServingStatus::Serving));
    shutdown.cancel();
    task.await.expect("joins").expect("drains cleanly");
}

#[tokio::test]
async fn reflection_describes_the_tunemesh_contracts() {
    let server = GrpcServer::bind("player", &settings())
        .await
        .expect("binds");
    let addr = server.local_addr();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(server.run(None, shutdown.clone()));

    let mut client = ServerReflectionClient::new(channel(addr).await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::FileContainingSymbol(
            "tunemesh.player.v1.PlayerService".into(),
        )),
    };
    let mut answers = client
        .server_reflection_info(tokio_stream::once(request))
        .await
        .expect("reflection answers")
        .into_inner();
    let answer = answers
        .message()
        .await
        .expect("a message")
        .expect("not empty");
    assert!(
        matches!(
            answer.message_response,
            Some(MessageResponse::FileDescriptorResponse(_))
        ),
        "{answer:?}"
    );
    shutdown.cancel();
    task.await.expect("joins").expect("drains cleanly");
}

#[tokio::test]
async fn reflection_answers_v1alpha_clients_too() {
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient as Alpha;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest as AlphaRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse as AlphaResponse;

    let server = GrpcServer::bind("player", &settings())
        .await
        .expect("binds");
    let addr = server.local_addr();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(server.run(None, shutdown.clone()));

    // What grpcio-reflection and older grpcurl ask first: the list of services.
    let request = tonic_reflection::pb::v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(AlphaRequest::ListServices(String::new())),
    };
    let mut answers = Alpha::new(channel(addr).await)
        .server_reflection_info(tokio_stream::once(request))
        .await
        .expect("v1alpha reflection answers")
        .into_inner();
    let answer = answers
        .message()
        .await
        .expect("a message")
        .expect("not empty");
    let Some(AlphaResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("a service list: {answer:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in ["tunemesh.player.v1.PlayerService", "grpc.health.v1.Health"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    shutdown.cancel();
    task.await.expect("joins").expect("drains cleanly");
}

#[tokio::test]
async fn registers_once_serving_and_deregisters_on_shutdown() {
    let registry = Arc::new(EmbeddedRegistry::default());
    let name = unique_prefix("player");
    let server = GrpcServer::bind(&name, &settings()).await.expect("binds");
    let addr = server.local_addr();
    // A peer keeps the set from going empty, which the registry never publishes.
    let peer = ServiceInstance {
        id: format!("{name}-peer"),
        service: name.clone(),
        addr: SocketAddr::from(([127, 0, 0, 1], 1)),
        tags: Vec::new(),
        meta: Default::default(),
    };
    let peer = Registration {
        instance: peer,
        check: HealthCheck::default(),
    };
    registry.register(&peer).await.expect("peer registers");
    let mut watch = registry.watch(&name);
    let shutdown = CancellationToken::new();
    let registry_dyn: Arc<dyn Registry> = registry.clone();
    let task = tokio::spawn(server.run(Some(registry_dyn), shutdown.clone()));

    assert_eventually!(watch.borrow_and_update().iter().any(|i| i.addr == addr));
    shutdown.cancel();
    task.await.expect("joins").expect("drains cleanly");
    assert!(
        registry
            .watch(&name)
            .borrow()
            .iter()
            .all(|i| i.addr != addr),
        "still registered after shutdown"
    );
}

#[tokio::test]
async fn a_server_gated_on_readiness_serves_and_registers_only_once_ready() {
    let registry = Arc::new(EmbeddedRegistry::default());
    let name = unique_prefix("search");
    let mut server = GrpcServer::bind(&name, &settings()).await.expect("binds");
    let (ready, gate) = tokio::sync::watch::channel(false);
    server.ready_when(gate);
    let addr = server.local_addr();
    let shutdown = CancellationToken::new();
    let registry_dyn: Arc<dyn Registry> = registry.clone();
    let task = tokio::spawn(server.run(Some(registry_dyn), shutdown.clone()));

    let channel = channel(addr).await;
    // Health answers (the server is up) but says NOT_SERVING, and nobody can discover it.
    assert_eq!(
        status_of(channel.clone(), "").await,
        Some(ServingStatus::NotServing)
    );
    assert!(registry.watch(&name).borrow().is_empty());

    ready.send(true).expect("the server waits");
    assert_eventually!(status_of(channel.clone(), "").await == Some(ServingStatus::Serving));
    assert_eventually!(
        registry
            .watch(&name)
            .borrow()
            .iter()
            .any(|i| i.addr == addr)
    );
    shutdown.cancel();
    task.await.expect("joins").expect("drains cleanly");
}

#[tokio::test]
async fn a_server_never_ready_still_shuts_down_cleanly() {
    let mut server = GrpcServer::bind("reco", &settings()).await.expect("binds");
    let (_ready, gate) = tokio::sync::watch::channel(false);
    server.ready_when(gate);
    let addr = server.local_addr();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(server.run(None, shutdown.clone()));
    let channel = channel(addr).await;
    assert_eq!(
        status_of(channel, "").await,
        Some(ServingStatus::NotServing)
    );
    shutdown.cancel();
    task.await.expect("joins").expect("drains cleanly");
}

#[tokio::test]
async fn shutdown_lets_in_flight_calls_finish() {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut server = GrpcServer::bind("slow", &settings()).await.expect("binds");
    server.add_service(RecommendationServiceServer::new(Slow {
        delay: Duration::from_millis(500),
        calls: calls.clone(),
    }));
    let addr = server.local_addr();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(server.run(None, shutdown.clone()));

    let mut client = RecommendationServiceClient::new(channel(addr).await);
    let in_flight =
        tokio::spawn(async move { client.recommend(RecommendRequest::default()).await });
    assert_eventually!(calls.load(Ordering::SeqCst) == 1);
    shutdown.cancel();
    let answer = in_flight.await.expect("joins");
    assert!(answer.is_ok(), "in-flight call failed: {answer:?}");
    task.await.expect("joins").expect("drains cleanly");
}

#[tokio::test]
async fn readiness_follows_the_server_and_admin_serves_it() {
    let server = GrpcServer::bind("player", &settings())
        .await
        .expect("binds");
    let server_addr = server.local_addr();
    let readiness: Arc<dyn Readiness> = Arc::new(server.health());
    let admin_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let admin_addr = admin_listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(admin_listener, admin::router(readiness)).await });

    let readyz = format!("http://{admin_addr}/readyz");
    let before = reqwest::get(&readyz).await.expect("answers");
    assert_eq!(before.status(), 503, "ready before serving");

    let shutdown = CancellationToken::new();
    let task = tokio::spawn(server.run(None, shutdown.clone()));
    assert_eventually!(async {
        reqwest::get(&readyz)
            .await
            .map(|r| r.status() == 200)
            .unwrap_or(false)
    });
    // One real call, so the metrics have something to count.
    let status = status_of(channel(server_addr).await, "").await;
    assert_eq!(status, Some(ServingStatus::Serving));
    let metrics = reqwest::get(format!("http://{admin_addr}/metrics"))
        .await
        .expect("answers");
    assert_eq!(metrics.status(), 200);
    let body = metrics.text().await.expect("a body");
    assert!(
        body.contains("tunemesh_grpc_server_requests_total{"),
        "{body}"
    );
    let live = reqwest::get(format!("http://{admin_addr}/healthz"))
        .await
        .expect("answers");
    assert_eq!(live.status(), 200);

    shutdown.cancel();
    task.await.expect("joins").expect("drains cleanly");
    let after = reqwest::get(&readyz).await.expect("answers");
    assert_eq!(after.status(), 503, "still ready after shutdown");
}

#[tokio::test]
async fn every_service_added_is_bounded_by_the_message_limit() {
    let settings = GrpcServerSettings {
        max_message_bytes: 1024,
        ..settings()
    };
    let calls = Arc::new(AtomicUsize::new(0));
    let mut server = GrpcServer::bind("small", &settings).await.expect("binds");
    // Added without any limit of its own: the server applies `max_message_bytes`.
    server.add_service(RecommendationServiceServer::new(Slow {
        delay: Duration::ZERO,
        calls: calls.clone(),
    }));
    let addr = server.local_addr();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(server.run(None, shutdown.clone()));
    let mut client = RecommendationServiceClient::new(channel(addr).await);

    let small = RecommendRequest {
        exclude_track_ids: vec!["t".repeat(100)],
        ..RecommendRequest::default()
    };
    client
        .recommend(small)
        .await
        .expect("a small request is served");
    let large = RecommendRequest {
        exclude_track_ids: vec!["t".repeat(2048)],
        ..RecommendRequest::default()
    };
    let refused = client.recommend(large).await.expect_err("too large");
    assert_eq!(refused.code(), tonic::Code::OutOfRange, "{refused:?}");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the large one reached the handler"
    );

    shutdown.cancel();
    task.await.expect("joins").expect("drains cleanly");
}
