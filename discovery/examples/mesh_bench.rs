//! Mesh channel vs a direct tonic channel vs tonic's `balance_list`: throughput and latency of a
//! small unary RPC, then client-visible errors over a fast/slow/broken replica mix.
//!
//! `cargo run --release -p tunemesh-discovery --example mesh_bench -- [seconds] [workers]
//! [rounds]` (defaults: 5 s per run, 16 closed-loop workers, 5 rounds).
//! Servers run in this process. The throughput ratio against the direct channel is taken
//! per round, direct and mesh runs alternating so drift of the machine hits both; its median
//! and spread over the rounds are what to quote.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::time::Instant;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::health_server::HealthServer;
use tunemesh_discovery::testsuite;
use tunemesh_discovery::{
    EmbeddedRegistry, HealthCheck, Mesh, MeshSettings, Registration, Registry, ServiceInstance,
};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The allocator the `tunemesh` binary runs with (`src/main.rs`): a unary call allocates and
/// frees dozens of small blocks, often on different threads, which glibc's malloc serialises
/// on its arenas' locks.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The RPC called, and the one the retrying stacks may retry.
const CHECK: &str = "/grpc.health.v1.Health/Check";

/// Counts and latencies (µs) of one run.
#[derive(Debug, Default)]
struct Run {
    ok: u64,
    errors: u64,
    micros: Vec<u32>,
    elapsed: Duration,
    /// CPU seconds the whole process (clients and servers) used during the run.
    cpu: f64,
}

impl Run {
    fn merge(&mut self, other: Run) {
        self.ok += other.ok;
        self.errors += other.errors;
        self.micros.extend(other.micros);
    }

    fn report(&mut self, stack: &str) -> f64 {
        self.micros.sort_unstable();
        let pct = |p: f64| {
            let i =
                ((self.micros.len() as f64 * p) as usize).min(self.micros.len().saturating_sub(1));
            self.micros.get(i).copied().unwrap_or(0)
        };
        let secs = self.elapsed.as_secs_f64();
        let rps = self.ok as f64 / secs;
        // CPU per call separates "each call costs more" from "the cores sat idle waiting".
        let calls = (self.ok + self.errors).max(1) as f64;
        println!(
            "{stack:<28} {rps:>9.0} calls/s   p50 {:>6} µs   p99 {:>6} µs   errors {}   CPU {:>5.1} µs/call, {:.2} cores busy",
            pct(0.50),
            pct(0.99),
            self.errors,
            self.cpu * 1e6 / calls,
            self.cpu / secs,
        );
        rps
    }
}

async fn serve(id: &str) -> Result<(SocketAddr, Arc<testsuite::Behaviour>), Error> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let behaviour = Arc::new(testsuite::Behaviour::default());
    let service = HealthServer::new(testsuite::Replica::new(id, behaviour.clone())?);
    // As the runtime serves: without TCP_NODELAY, small answers on one busy connection wait
    // for delayed ACKs (a p99 of 43 ms here with a single server).
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let server = tonic::transport::Server::builder()
        .add_service(service)
        .serve_with_incoming(incoming);
    tokio::spawn(server);
    Ok((addr, behaviour))
}

/// `workers` closed-loop callers for `duration` through clones of `client`.
async fn run<C>(client: HealthClient<C>, workers: usize, duration: Duration) -> Run
where
    C: tonic::client::GrpcService<tonic::body::Body> + Clone + Send + 'static,
    C::Future: Send,
    C::Error: Into<tonic::codegen::StdError>,
    C::ResponseBody: tonic::codegen::Body<Data = bytes::Bytes> + Send + 'static,
    <C::ResponseBody as tonic::codegen::Body>::Error: Into<tonic::codegen::StdError> + Send,
{
    let started = Instant::now();
    let cpu = cpu_seconds();
    let until = started + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let mut client = client.clone();
        tasks.spawn(async move {
            let mut run = Run::default();
            while Instant::now() < until {
                let request = HealthCheckRequest {
                    service: testsuite::TRAFFIC.into(),
                };
                let sent = Instant::now();
                match client.check(request).await {
                    Ok(_) => {
                        run.ok += 1;
                        run.micros
                            .push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
                    }
                    Err(_) => run.errors += 1,
                }
            }
            run
        });
    }
    let mut total = Run::default();
    while let Some(Ok(run)) = tasks.join_next().await {
        total.merge(run);
    }
    total.elapsed = started.elapsed();
    total.cpu = cpu_seconds() - cpu;
    total
}

/// CPU seconds this process has used, all threads (utime + stime of `/proc/self/stat`, the
/// counters `getrusage` reads; 10 ms ticks, so runs of seconds resolve it to under 1 %).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name: state is 0, utime 11, stime 12.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // The kernel's USER_HZ is 100 on every Linux this runs on.
    (ticks(11) + ticks(12)) / 100.0
}

/// hyper's HTTP/2 client with nothing in front: what a call costs without tonic's channel,
/// whose queue hands every call to a worker task (a reference, not a stack to ship: it never
/// reconnects).
#[derive(Clone)]
struct Bare {
    sender: hyper::client::conn::http2::SendRequest<tonic::body::Body>,
    origin: http::uri::Authority,
}

impl Bare {
    async fn connect(addr: SocketAddr) -> Result<Self, Error> {
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                .timer(hyper_util::rt::TokioTimer::new())
                .handshake(hyper_util::rt::TokioIo::new(tcp))
                .await?;
        tokio::spawn(connection);
        Ok(Self {
            sender,
            origin: addr.to_string().parse()?,
        })
    }
}

impl tower::Service<http::Request<tonic::body::Body>> for Bare {
    type Response = http::Response<tonic::body::Body>;
    type Error = Error;
    type Future = futures::future::BoxFuture<'static, Result<Self::Response, Error>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Error>> {
        self.sender.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut req: http::Request<tonic::body::Body>) -> Self::Future {
        let mut uri = http::uri::Parts::from(std::mem::take(req.uri_mut()));
        uri.scheme = Some(http::uri::Scheme::HTTP);
        uri.authority = Some(self.origin.clone());
        if let Ok(uri) = http::Uri::from_parts(uri) {
            *req.uri_mut() = uri;
        }
        let answer = self.sender.send_request(req);
        Box::pin(async move { Ok(answer.await?.map(tonic::body::Body::new)) })
    }
}

/// Prints the median, min and max of per-round `ratios`.
fn spread(what: &str, mut ratios: Vec<f64>) {
    ratios.sort_by(f64::total_cmp);
    let (Some(min), Some(max)) = (ratios.first(), ratios.last()) else {
        return;
    };
    let median = ratios[ratios.len() / 2];
    let all: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
    println!(
        "{what}: median {median:.2}, min {min:.2}, max {max:.2} ({})",
        all.join(" ")
    );
}

/// The three stacks over `addrs`; `direct` goes to the first address only.
struct Stacks {
    direct: HealthClient<Channel>,
    balance_list: HealthClient<Channel>,
    mesh: HealthClient<tunemesh_discovery::MeshChannel>,
    mesh_single: HealthClient<tunemesh_discovery::MeshChannel>,
    mesh_single_retrying: HealthClient<tunemesh_discovery::RetryChannel>,
    mesh_retrying: HealthClient<tunemesh_discovery::RetryChannel>,
    bare: HealthClient<Bare>,
}

async fn stacks(addrs: &[SocketAddr], service: &str) -> Result<Stacks, Error> {
    let endpoint = |addr: &SocketAddr| Endpoint::from_shared(format!("http://{addr}"));
    let direct = endpoint(&addrs[0])?.connect().await?;
    let list = addrs.iter().map(endpoint).collect::<Result<Vec<_>, _>>()?;
    let balance_list = Channel::balance_list(list.into_iter());
    let registry = Arc::new(EmbeddedRegistry::new());
    for (i, addr) in addrs.iter().enumerate() {
        let instance = ServiceInstance::new(format!("{service}-{i}"), service, *addr);
        registry
            .register(&Registration {
                instance,
                check: HealthCheck::default(),
            })
            .await?;
    }
    let single = format!("{service}-single");
    let instance = ServiceInstance::new(format!("{single}-0"), single.as_str(), addrs[0]);
    registry
        .register(&Registration {
            instance,
            check: HealthCheck::default(),
        })
        .await?;
    let mesh = Mesh::new(registry, MeshSettings::default());
    Ok(Stacks {
        mesh_single: HealthClient::new(mesh.channel(&single)),
        mesh_single_retrying: HealthClient::new(mesh.channel(&single).retrying([CHECK])),
        direct: HealthClient::new(direct),
        balance_list: HealthClient::new(balance_list),
        mesh: HealthClient::new(mesh.channel(service)),
        mesh_retrying: HealthClient::new(mesh.channel(service).retrying([CHECK])),
        bare: HealthClient::new(Bare::connect(addrs[0]).await?),
    })
}

/// `MESH_BENCH_ONLY=direct|mesh|retries|bare`: one stack alone for one run, to profile it (under
/// `perf` or `valgrind --tool=callgrind`, whose instruction counts divided by the calls printed
/// give a layer's cost per call without the machine's noise).
async fn profile(s: &Stacks, only: &str, workers: usize, duration: Duration) -> Result<(), Error> {
    let mut run = match only {
        "direct" => run(s.direct.clone(), workers, duration).await,
        "mesh" => run(s.mesh_single.clone(), workers, duration).await,
        "retries" => run(s.mesh_single_retrying.clone(), workers, duration).await,
        "bare" => run(s.bare.clone(), workers, duration).await,
        other => {
            return Err(format!("MESH_BENCH_ONLY={other}: direct, mesh, retries or bare").into());
        }
    };
    run.report(only);
    println!("calls {}", run.ok + run.errors);
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(5);
    let workers: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(16);
    let rounds: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(5);
    let duration = Duration::from_secs(seconds);
    let warmup = Duration::from_millis(500);
    println!("{workers} workers, {seconds} s per run, servers in-process\n");

    let mut healthy = Vec::new();
    for i in 0..3 {
        healthy.push(serve(&format!("healthy-{i}")).await?.0);
    }
    let s = stacks(&healthy, "bench").await?;
    if let Ok(only) = std::env::var("MESH_BENCH_ONLY") {
        return profile(&s, &only, workers, duration).await;
    }
    println!("# healthy replicas (direct: one of them), {rounds} rounds");
    let (mut plain, mut retrying) = (Vec::new(), Vec::new());
    for round in 1..=rounds {
        println!("round {round}");
        run(s.direct.clone(), workers, warmup).await;
        let direct = run(s.direct.clone(), workers, duration)
            .await
            .report("direct channel");
        run(s.mesh_single.clone(), workers, warmup).await;
        let single = run(s.mesh_single.clone(), workers, duration)
            .await
            .report("mesh channel (same one)");
        run(s.mesh_single_retrying.clone(), workers, warmup).await;
        let retried = run(s.mesh_single_retrying.clone(), workers, duration)
            .await
            .report("mesh + retries (same one)");
        plain.push(single / direct);
        retrying.push(retried / direct);
    }
    run(s.balance_list.clone(), workers, warmup).await;
    run(s.balance_list.clone(), workers, duration)
        .await
        .report("tonic balance_list (3)");
    run(s.mesh.clone(), workers, warmup).await;
    run(s.mesh.clone(), workers, duration)
        .await
        .report("mesh channel (3)");
    spread("mesh / direct throughput, same single server", plain);
    spread("mesh + retries / direct, same single server", retrying);
    println!();

    let mut mix = Vec::new();
    for (i, id) in ["fast", "slow", "broken"].into_iter().enumerate() {
        let (addr, behaviour) = serve(id).await?;
        match i {
            1 => behaviour.set_delay(Duration::from_millis(50)),
            2 => behaviour.set_unavailable(true),
            _ => {}
        }
        mix.push(addr);
    }
    let s = stacks(&mix, "mix").await?;
    println!("# fast / slow (+50 ms) / broken (UNAVAILABLE) mix, from a cold start");
    run(s.balance_list.clone(), workers, duration)
        .await
        .report("tonic balance_list (3)");
    run(s.mesh.clone(), workers, duration)
        .await
        .report("mesh channel (3)");
    let s = stacks(&mix, "mix-retrying").await?;
    run(s.mesh_retrying.clone(), workers, duration)
        .await
        .report("mesh channel + retries (3)");
    Ok(())
}
