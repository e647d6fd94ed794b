//! Mutual TLS on the standard gRPC server, with real handshakes: who gets in, what the
//! handler learns, and rotations under load. The embedded CA here; `mtls_consul` does the same
//! on a real Consul agent.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Response, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tunemesh_discovery::PeerService;
use tunemesh_discovery::connect::{EmbeddedCa, MeshTls, Policy};
use tunemesh_proto::reco::v1::recommendation_service_client::RecommendationServiceClient;
use tunemesh_proto::reco::v1::recommendation_service_server::{
    RecommendationService, RecommendationServiceServer,
};
use tunemesh_proto::reco::v1::{RecommendRequest, RecommendResponse};
use tunemesh_runtime::grpc::{GrpcServer, GrpcServerSettings};

/// Remembers who each call came from (the peer service the server passed on).
#[derive(Clone, Default)]
pub(crate) struct WhoCalls {
    pub(crate) seen: Arc<Mutex<Vec<Option<String>>>>,
    pub(crate) calls: Arc<AtomicUsize>,
}

#[tonic::async_trait]
impl RecommendationService for WhoCalls {
    async fn recommend(
        &self,
        request: Request<RecommendRequest>,
    ) -> Result<Response<RecommendResponse>, Status> {
        let peer = PeerService::of(&request).map(|p| p.name().to_owned());
        self.seen.lock().expect("not poisoned").push(peer);
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(Response::new(RecommendResponse::default()))
    }
}

/// A running server requiring mutual TLS with `tls`.
pub(crate) struct Served {
    pub(crate) addr: SocketAddr,
    pub(crate) health: SocketAddr,
    pub(crate) who: WhoCalls,
    stop: CancellationToken,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub(crate) async fn serve(tls: MeshTls) -> Served {
    let settings = GrpcServerSettings {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        drain_grace: Duration::from_millis(100),
        ..GrpcServerSettings::default()
    };
    let mut server = GrpcServer::bind(tls.service(), &settings)
        .await
        .expect("binds");
    let who = WhoCalls::default();
    server.add_service(RecommendationServiceServer::new(who.clone()));
    server.with_tls(tls).expect("health listener binds");
    let (addr, health) = (server.local_addr(), server.health_addr().expect("tls"));
    let stop = CancellationToken::new();
    tokio::spawn(server.run(None, stop.clone()));
    Served {
        addr,
        health,
        who,
        stop,
    }
}

/// A channel to `addr` presenting `tls`'s leaf and expecting the service `callee`.
pub(crate) fn channel(tls: &MeshTls, callee: &str, addr: SocketAddr) -> Channel {
    tunemesh_testkit::mesh::channel_as(tls, callee, addr).expect("service name")
}

pub(crate) async fn recommend(channel: Channel) -> Result<(), Status> {
    RecommendationServiceClient::new(channel)
        .recommend(RecommendRequest::default())
        .await
        .map(drop)
}

/// Closed-loop callers of `callee` at `addr` as `tls`'s service, until stopped: one on a shared
/// channel, `fresh` more each on a new channel per call (a new handshake with whatever leaf and
/// roots are current).
pub(crate) struct Load {
    stop: CancellationToken,
    failures: Arc<AtomicUsize>,
    calls: Arc<AtomicUsize>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    pub(crate) fn start(tls: &MeshTls, callee: &str, addr: SocketAddr, fresh: usize) -> Self {
        let (stop, failures) = (CancellationToken::new(), Arc::new(AtomicUsize::new(0)));
        let calls = Arc::new(AtomicUsize::new(0));
        let shared = channel(tls, callee, addr);
        let tasks = (0..=fresh)
            .map(|i| {
                let (tls, callee) = (tls.clone(), callee.to_owned());
                let (stop, failures, shared) = (stop.clone(), failures.clone(), shared.clone());
                let calls = calls.clone();
                tokio::spawn(async move {
                    while !stop.is_cancelled() {
                        let channel = match i {
                            0 => shared.clone(),
                            _ => channel(&tls, &callee, addr),
                        };
                        if let Err(error) = recommend(channel).await {
                            eprintln!("failed call: {error:?}");
                            failures.fetch_add(1, Ordering::SeqCst);
                        }
                        calls.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        Self {
            stop,
            failures,
            calls,
            tasks,
        }
    }

    /// Returns once `more` calls have ended (answered or failed) since it was called: the
    /// load's progress, so a test spaces its events by calls, not by a time that a loaded
    /// machine fills with fewer of them.
    pub(crate) async fn after(&self, more: usize) {
        let target = self.calls.load(Ordering::SeqCst) + more;
        let reached = tunemesh_testkit::eventually(Duration::from_secs(60), || async {
            let calls = self.calls.load(Ordering::SeqCst);
            anyhow::ensure!(calls >= target, "{calls} calls of {target}");
            Ok(())
        })
        .await;
        reached.expect("the load keeps calling");
    }

    /// Stops the callers: (calls, failed calls).
    pub(crate) async fn stop(self) -> (usize, usize) {
        self.stop.cancel();
        for task in self.tasks {
            task.await.expect("load ran");
        }
        let calls = self.calls.load(Ordering::SeqCst);
        (calls, self.failures.load(Ordering::SeqCst))
    }
}

/// `service`'s identity from `ca`, under the architecture's policy.
fn leaf(ca: &EmbeddedCa, service: &str) -> MeshTls {
    tunemesh_testkit::mesh::leaf(ca, service).expect("leaf")
}

fn ca() -> EmbeddedCa {
    EmbeddedCa::generate(Duration::from_secs(3600)).expect("a CA")
}

#[tokio::test]
async fn an_allowed_caller_gets_in_and_the_handler_knows_which_service_it_is() {
    let ca = ca();
    let player = serve(leaf(&ca, "player")).await;
    let gateway = leaf(&ca, "gateway");

    recommend(channel(&gateway, "player", player.addr))
        .await
        .expect("the gateway may call player");
    let seen = player.who.seen.lock().expect("not poisoned").clone();
    assert_eq!(seen, vec![Some("gateway".to_owned())]);
}

#[tokio::test]
async fn a_caller_the_policy_does_not_allow_is_refused_naming_both_identities() {
    let ca = ca();
    let player = serve(leaf(&ca, "player")).await;
    let search = leaf(&ca, "search");

    let refused = recommend(channel(&search, "player", player.addr))
        .await
        .expect_err("search may not call player");
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let message = refused.message();
    assert!(message.contains(&search.id().to_string()), "{message}");
    assert!(
        message.contains(&format!("call player ({})", ca_id(&ca, "player"))),
        "{message}"
    );
    assert_eq!(player.who.calls.load(Ordering::SeqCst), 0);
}

/// The server closed the connection during or right after the handshake. A client that has
/// finished its side of the handshake when the server refuses (plaintext, or TLS 1.3 where the
/// client's certificate is checked after the client is done) sees a broken connection
/// (UNKNOWN); one whose handshake fails sees UNAVAILABLE. Either way no handler ran.
fn assert_refused_at_handshake(error: &Status) {
    assert!(
        matches!(error.code(), Code::Unavailable | Code::Unknown),
        "{error:?}"
    );
}

fn ca_id(ca: &EmbeddedCa, service: &str) -> String {
    ca.issue(service).expect("leaf").id.to_string()
}

#[tokio::test]
async fn a_caller_without_a_certificate_or_with_another_cas_is_refused() {
    let ca = ca();
    let player = serve(leaf(&ca, "player")).await;

    // Plaintext HTTP/2 to a TLS port.
    let plain = Endpoint::from_shared(format!("http://{}", player.addr))
        .expect("uri")
        .connect_lazy();
    let error = recommend(plain).await.expect_err("no TLS");
    assert_refused_at_handshake(&error);

    // TLS, but no client certificate.
    let error = recommend(no_client_certificate(player.addr).await)
        .await
        .expect_err("no client certificate");
    assert_refused_at_handshake(&error);

    // A gateway certificate, from another CA.
    let stranger = MeshTls::embedded(&self::ca(), "gateway", Policy::architecture()).expect("leaf");
    let error = recommend(channel(&stranger, "player", player.addr))
        .await
        .expect_err("another CA");
    assert_refused_at_handshake(&error);
    assert_eq!(player.who.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_caller_trusts_only_the_service_it_meant_to_call() {
    let ca = ca();
    // A search replica where the caller expects player (a stale address, a hijacked one).
    let search = serve(leaf(&ca, "search")).await;
    let gateway = leaf(&ca, "gateway");
    let error = recommend(channel(&gateway, "player", search.addr))
        .await
        .expect_err("not player");
    assert_eq!(error.code(), Code::Unavailable, "{error:?}");
    assert_eq!(search.who.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn health_is_served_in_plaintext_on_its_own_port_only() {
    let ca = ca();
    let player = serve(leaf(&ca, "player")).await;
    let plain = Endpoint::from_shared(format!("http://{}", player.health))
        .expect("uri")
        .connect_lazy();
    let mut health = HealthClient::new(plain.clone());
    let status = tunemesh_testkit::eventually(Duration::from_secs(5), || {
        let mut health = health.clone();
        async move {
            let answer = health.check(HealthCheckRequest::default()).await?;
            anyhow::ensure!(
                answer.get_ref().status() == ServingStatus::Serving,
                "not yet"
            );
            Ok(())
        }
    })
    .await;
    assert!(status.is_ok(), "{status:?}");
    // Nothing but health there.
    let error = recommend(plain).await.expect_err("health only");
    assert_eq!(error.code(), Code::Unimplemented, "{error:?}");
    health
        .check(HealthCheckRequest::default())
        .await
        .expect("still fine");
}

#[tokio::test]
async fn rotations_of_the_ca_under_load_lose_no_call() {
    let ca = ca();
    let player = serve(leaf(&ca, "player")).await;
    let gateway = leaf(&ca, "gateway");
    let before = gateway.id();
    let load = Load::start(&gateway, "player", player.addr, 3);
    // Calls before, between and after the rotations, however loaded the machine is.
    for _ in 0..3 {
        load.after(15).await;
        ca.rotate().expect("rotates");
    }
    load.after(15).await;
    let (calls, failures) = load.stop().await;
    assert_eq!(failures, 0, "of {calls} calls");
    assert_eq!(gateway.id(), before, "same identity, new leaf");
    assert_eq!(ca.roots_pem().len(), 3, "the old roots stay trusted");
}

/// A channel that speaks TLS, trusts anything, and presents no certificate.
async fn no_client_certificate(addr: SocketAddr) -> Channel {
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};

    #[derive(Debug)]
    struct TrustAnything;
    impl ServerCertVerifier for TrustAnything {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }
        fn verify_tls13_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            rustls::crypto::ring::default_provider()
                .signature_verification_algorithms
                .supported_schemes()
        }
    }

    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .dangerous()
    .with_custom_certificate_verifier(Arc::new(TrustAnything))
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let config = Arc::new(config);
    let connector = tower::service_fn(move |uri: http::Uri| {
        let config = config.clone();
        async move {
            let host = uri.host().unwrap_or("127.0.0.1").to_owned();
            let tcp = tokio::net::TcpStream::connect((host, uri.port_u16().unwrap_or(80))).await?;
            let name = ServerName::try_from("player").expect("name");
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await?;
            Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(tls))
        }
    });
    Endpoint::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect_with_connector_lazy(connector)
}
