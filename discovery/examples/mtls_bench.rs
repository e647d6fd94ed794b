//! What mutual TLS costs a mesh call: the mesh channel over mTLS against the same channel in
//! plaintext, same server code, same process, runs interleaved (plain, tls, plain, tls, ...)
//! so drift on a busy machine hits both alike. Then the handshake alone: a fresh connection
//! and one call, plaintext against mutual TLS.
//!
//! `cargo run --release -p tunemesh-discovery --example mtls_bench -- [seconds] [rounds]`
//! (defaults: 3 s per run, 3 rounds). Latency is measured with 1 closed-loop caller on reused
//! connections, throughput with 16.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::time::Instant;
use tonic::transport::Endpoint;
use tonic::transport::server::TcpIncoming;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::health_server::HealthServer;
use tunemesh_discovery::connect::{self, EmbeddedCa, MeshTls, Policy};
use tunemesh_discovery::testsuite;
use tunemesh_discovery::{
    EmbeddedRegistry, HealthCheck, Mesh, MeshChannel, MeshSettings, Registration, Registry,
    ServiceInstance,
};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The service name the bench calls; the policy lets `gateway` call it.
const SERVICE: &str = "bench";

fn replica() -> Result<HealthServer<testsuite::Replica>, Error> {
    let behaviour = Arc::new(testsuite::Behaviour::default());
    Ok(HealthServer::new(testsuite::Replica::new(
        SERVICE, behaviour,
    )?))
}

async fn serve_plain() -> Result<SocketAddr, Error> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    // As the runtime's plaintext server does (and as `connect::incoming` does for TLS).
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let server = tonic::transport::Server::builder()
        .add_service(replica()?)
        .serve_with_incoming(incoming);
    tokio::spawn(server);
    Ok(addr)
}

async fn serve_tls(tls: MeshTls) -> Result<SocketAddr, Error> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tonic::transport::Server::builder()
        .add_service(replica()?)
        .serve_with_incoming(connect::incoming(listener, tls));
    tokio::spawn(server);
    Ok(addr)
}

async fn mesh_to(addr: SocketAddr, tls: Option<MeshTls>) -> Result<MeshChannel, Error> {
    let registry = Arc::new(EmbeddedRegistry::new());
    let instance = ServiceInstance::new(format!("{SERVICE}-0"), SERVICE, addr);
    registry
        .register(&Registration {
            instance,
            check: HealthCheck::default(),
        })
        .await?;
    let mesh = match tls {
        Some(tls) => Mesh::with_tls(registry, MeshSettings::default(), tls),
        None => Mesh::new(registry, MeshSettings::default()),
    };
    Ok(mesh.channel(SERVICE))
}

fn request() -> HealthCheckRequest {
    HealthCheckRequest {
        service: testsuite::TRAFFIC.into(),
    }
}

/// (calls/s, p50 µs) of `workers` closed-loop callers for `duration`.
async fn run(channel: &MeshChannel, workers: usize, duration: Duration) -> (f64, u32) {
    let started = Instant::now();
    let until = started + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let mut client = HealthClient::new(channel.clone());
        tasks.spawn(async move {
            let mut micros = Vec::new();
            while Instant::now() < until {
                let sent = Instant::now();
                if client.check(request()).await.is_ok() {
                    micros.push(sent.elapsed().as_micros() as u32);
                }
            }
            micros
        });
    }
    let mut micros = Vec::new();
    while let Some(Ok(run)) = tasks.join_next().await {
        micros.extend(run);
    }
    micros.sort_unstable();
    let p50 = micros.get(micros.len() / 2).copied().unwrap_or(0);
    (micros.len() as f64 / started.elapsed().as_secs_f64(), p50)
}

/// Median µs of a fresh connection plus one call, over `n` connections.
async fn handshakes(addr: SocketAddr, tls: Option<&MeshTls>, n: usize) -> Result<u32, Error> {
    let mut micros = Vec::with_capacity(n);
    for _ in 0..n {
        let endpoint = Endpoint::from_shared(format!("http://{addr}"))?.tcp_nodelay(true);
        let started = Instant::now();
        let channel = match tls {
            Some(tls) => {
                endpoint
                    .connect_with_connector(connect::connector(tls, SERVICE)?)
                    .await?
            }
            None => endpoint.connect().await?,
        };
        HealthClient::new(channel).check(request()).await?;
        micros.push(started.elapsed().as_micros() as u32);
    }
    micros.sort_unstable();
    Ok(micros[n / 2])
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(3);
    let rounds: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(3);
    let duration = Duration::from_secs(seconds);

    let ca = EmbeddedCa::generate(connect::LEAF_TTL)?;
    let policy = Policy::default().allow("gateway", SERVICE);
    let server_tls = MeshTls::embedded(&ca, SERVICE, policy.clone())?;
    let client_tls = MeshTls::embedded(&ca, "gateway", policy)?;
    let (plain_addr, tls_addr) = (serve_plain().await?, serve_tls(server_tls).await?);
    let plain = mesh_to(plain_addr, None).await?;
    let tls = mesh_to(tls_addr, Some(client_tls.clone())).await?;
    // Warm both: connections open, PeakEWMA settled.
    run(&plain, 4, Duration::from_millis(500)).await;
    run(&tls, 4, Duration::from_millis(500)).await;

    println!("round  stack   p50 µs (1 caller)   calls/s (16 callers)");
    let (mut deltas, mut ratios) = (Vec::new(), Vec::new());
    for round in 1..=rounds {
        let (_, plain_p50) = run(&plain, 1, duration).await;
        let (_, tls_p50) = run(&tls, 1, duration).await;
        let (plain_rps, _) = run(&plain, 16, duration).await;
        let (tls_rps, _) = run(&tls, 16, duration).await;
        println!("{round:>5}  plain   {plain_p50:>17}   {plain_rps:>20.0}");
        println!("{round:>5}  mtls    {tls_p50:>17}   {tls_rps:>20.0}");
        deltas.push(f64::from(tls_p50) - f64::from(plain_p50));
        ratios.push(tls_rps / plain_rps);
    }
    println!(
        "\nmTLS p50 added per call (median of rounds): {:+.0} µs; throughput mTLS / plain: {:.2}",
        median(deltas),
        median(ratios)
    );
    let plain_hs = handshakes(plain_addr, None, 200).await?;
    let tls_hs = handshakes(tls_addr, Some(&client_tls), 200).await?;
    println!(
        "new connection + first call, median of 200: plain {plain_hs} µs, mTLS {tls_hs} µs ({:+} µs)",
        i64::from(tls_hs) - i64::from(plain_hs)
    );
    Ok(())
}
