//! Streaming: N concurrent `StreamAudio` consumers, each playing at real-time pace, against a
//! player-svc in this process; and, in the same run, N readers of the same Ogg Opus files
//! straight from disk at the same pace. Doubles N until a consumer starves (or `--max`).
//!
//! A consumer keeps `--ahead` seconds of audio buffered, like a player: it asks for more only
//! when its buffer falls below that, and playback starts once 0.5 s is buffered. It is starved
//! when its buffered audio ahead of playback reaches zero before the track ends. Reported
//! per N: time to first chunk p50/p99, starved consumers, and CPU per stream (this process's
//! CPU from the kernel's accounting, server and clients together, over the phase).
//!
//! ```sh
//! bash scripts/music.sh
//! cargo run --release -p tunemesh-bench --bin stream -- [--seconds 20] [--start 16] [--max 4096]
//! ```
//!
//! By default a phase's N consumers start at the same moment, the worst case for a first
//! chunk; `--spread S` starts them evenly over S seconds instead, as listeners arrive.
//! `--mesh` calls through the mesh channel, as the gateway does (its streaming connection to
//! the one player-svc endpoint), instead of `--connections` tonic channels.
//! `--floor` adds a third phase, `call`: its consumers first make the cheapest gRPC call there
//! is (`grpc.health.v1.Health/Check`) on the same connections, timed as their "first chunk",
//! then play as the `grpc` ones do, so it runs under the same load: the floor of any call
//! across the socket, against which `StreamAudio`'s own part of a start shows.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use futures::StreamExt as _;
use tower::ServiceExt as _;
use tower::util::BoxCloneSyncService;
use tunemesh_discovery::mesh::BoxError;
use tunemesh_discovery::{
    EmbeddedRegistry, HealthCheck, Mesh, MeshSettings, Registration, Registry, ServiceInstance,
    Streaming,
};
use tunemesh_events::embedded::{EmbeddedBus, EmbeddedSettings};
use tunemesh_player::PlayerSettings;
use tunemesh_proto::catalog::v1::catalog_service_client::CatalogServiceClient;
use tunemesh_proto::catalog::v1::ingest_service_client::IngestServiceClient;
use tunemesh_proto::catalog::v1::{AudioQuality, ListTracksRequest, ScanLibraryRequest};
use tunemesh_proto::player::v1::player_service_client::PlayerServiceClient;
use tunemesh_proto::player::v1::{AudioContainer, StreamAudioRequest, stream_audio_response};
use tunemesh_proto::tonic::Request;
use tunemesh_proto::tonic::body::Body;
use tunemesh_proto::tonic::transport::Channel;
use tunemesh_runtime::identity::{
    ActAs, Asserting, AssertionSigner, Caller, IdentitySettings, MeshIdentity,
};
use tunemesh_runtime::{ServiceContext, Storage};
use tunemesh_testkit::{grpc_settings, spawn_app};

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tunemesh_bench::cpu;
use tunemesh_bench::paced::{Pacing, Phase, Rendition, Seen, disk_consumer, phase};

/// The allocator of the `tunemesh` binary (`src/main.rs`), so player-svc here allocates as
/// it does in production, transparent huge pages off as there (`TUNEMESH_BENCH_THP=1` keeps
/// them, to compare): see BENCHMARKS.md, "StreamAudio's first chunk".
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const MUSIC: &str = "/usr/share/games/singularity/music";

#[derive(Debug, Parser)]
struct Args {
    /// Wall-clock seconds each consumer plays.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Seconds of audio a consumer keeps buffered ahead of playback.
    #[arg(long, default_value_t = 10.0)]
    ahead: f64,
    /// First N; then doubled.
    #[arg(long, default_value_t = 16)]
    start: usize,
    /// Largest N tried.
    #[arg(long, default_value_t = 4096)]
    max: usize,
    /// Tracks streamed (the first of singularity-music); consumers take them in turn.
    #[arg(long, default_value_t = 4)]
    tracks: usize,
    /// gRPC connections the consumers share (HTTP/2 multiplexes the rest).
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// player-svc's read-ahead per stream, in chunks (`stream_buffer_chunks`; its default
    /// when not given).
    #[arg(long)]
    buffer_chunks: Option<usize>,
    /// player-svc's start-up first bound, ms (`stream_start_priority`; its default when not
    /// given, 0 turns it off).
    #[arg(long)]
    start_priority_ms: Option<u64>,
    /// HTTP/2 receive window of one call, bytes (the mesh's `stream_window_bytes` when not
    /// given).
    #[arg(long)]
    stream_window: Option<u32>,
    /// Seconds over which a phase's N consumers start, evenly spaced (0: all at once, the
    /// worst case). Listeners do not all press play in the same millisecond: spread, a
    /// first chunk measures one start among N playing streams, not a queue of N starts.
    #[arg(long, default_value_t = 0.0)]
    spread: f64,
    /// Call player-svc through the mesh channel (the gateway's path) instead of
    /// `--connections` tonic channels.
    #[arg(long)]
    mesh: bool,
    /// Also time a bare unary call's round trip under the same load (the `call` phase).
    #[arg(long)]
    floor: bool,
}

/// How the consumers reach player-svc: a tonic channel or the mesh, signed as the gateway.
type Upstream =
    Asserting<BoxCloneSyncService<http::Request<Body>, http::Response<Body>, UpstreamError>>;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if std::env::var_os("TUNEMESH_BENCH_THP").is_none_or(|v| v != "1") {
        tunemesh_runtime::memory::no_transparent_huge_pages();
    }
    let work = tempfile::tempdir()?;
    let (channels, renditions) = start_player(&args, work.path()).await?;
    println!(
        "{} tracks at very_high 160 kbit/s Ogg Opus ({} connections); each consumer plays {} s \
         keeping {} s ahead",
        renditions.len(),
        channels.len(),
        args.seconds,
        args.ahead
    );
    println!("load before: {}", cpu::load());
    let mut n = args.start;
    let mut largest_ok = (0, 0);
    let (ahead, window) = (args.ahead, Duration::from_secs(args.seconds));
    while n <= args.max {
        let spread = Duration::from_secs_f64(args.spread.max(0.0));
        let grpc = phase(n, spread, |i| {
            let client = PlayerServiceClient::new(channels[i % channels.len()].clone());
            let request = request(&renditions[i % renditions.len()].track_id);
            grpc_consumer(client, request, ahead, window)
        })
        .await;
        let call = if args.floor {
            let call = phase(n, spread, |i| {
                let channel = channels[i % channels.len()].clone();
                let request = request(&renditions[i % renditions.len()].track_id);
                call_then_play(channel, request, ahead, window)
            });
            Some(call.await)
        } else {
            None
        };
        let disk = phase(n, spread, |i| {
            disk_consumer(renditions[i % renditions.len()].clone(), ahead, window)
        })
        .await;
        println!("{}", grpc.line("grpc", n));
        if let Some(call) = &call {
            println!("{}", call.line("call", n));
        }
        println!("{}", disk.line("disk", n));
        let p50 = |phase: &Phase| phase.percentile(0.5).as_secs_f64();
        match &call {
            Some(call) => println!(
                "   p50 ratios: grpc / disk {:.1}, call / disk {:.1}, grpc / call {:.1}",
                p50(&grpc) / p50(&disk),
                p50(call) / p50(&disk),
                p50(&grpc) / p50(call)
            ),
            None => println!("   p50 ratio: grpc / disk {:.1}", p50(&grpc) / p50(&disk)),
        }
        if grpc.starved == 0 && grpc.failed == 0 {
            largest_ok.0 = n;
        }
        if disk.starved == 0 && disk.failed == 0 {
            largest_ok.1 = n;
        }
        if grpc.starved > 0 || grpc.failed > 0 {
            break;
        }
        n *= 2;
    }
    println!("load after: {}", cpu::load());
    println!(
        "largest N with no consumer starved: grpc {}, disk {} (tried up to {})",
        largest_ok.0,
        largest_ok.1,
        n.min(args.max)
    );
    Ok(())
}

/// A bare unary round trip on `channel`, timed as the consumer's first chunk, then a play as
/// [`grpc_consumer`]'s (so the calls are timed under the `grpc` phase's load).
async fn call_then_play(
    channel: Upstream,
    request: Request<StreamAudioRequest>,
    ahead: f64,
    window: Duration,
) -> anyhow::Result<Seen> {
    let started = Instant::now();
    HealthClient::new(channel.clone())
        .check(HealthCheckRequest::default())
        .await?;
    let call = started.elapsed();
    let played = grpc_consumer(PlayerServiceClient::new(channel), request, ahead, window).await?;
    Ok(Seen {
        first_chunk: Some(call),
        ..played
    })
}

async fn grpc_consumer(
    mut client: PlayerServiceClient<Upstream>,
    request: Request<StreamAudioRequest>,
    ahead: f64,
    window: Duration,
) -> anyhow::Result<Seen> {
    let started = Instant::now();
    let mut stream = client.stream_audio(request).await?.into_inner();
    let (mut pacing, mut first_chunk) = (Pacing::new(ahead), None);
    let (mut total_bytes, mut duration) = (1u64, 0.0);
    while started.elapsed() < window {
        let deadline = pacing.want_more().await;
        let next = match deadline {
            None => stream.next().await,
            Some(limit) => match tokio::time::timeout(limit, stream.next()).await {
                Ok(next) => next,
                Err(_) => {
                    pacing.starved = true;
                    break;
                }
            },
        };
        match next.transpose()?.and_then(|m| m.message) {
            Some(stream_audio_response::Message::Header(h)) => {
                total_bytes = h.total_bytes.max(1);
                duration = h
                    .duration
                    .and_then(|d| Duration::try_from(d).ok())
                    .map_or(0.0, |d| d.as_secs_f64());
            }
            Some(stream_audio_response::Message::Chunk(c)) => {
                first_chunk.get_or_insert_with(|| started.elapsed());
                let end = (c.byte_offset + c.data.len() as u64) as f64 / total_bytes as f64;
                pacing.received(end * duration);
            }
            None => break, // the whole track arrived: nothing can starve it now
        }
    }
    Ok(pacing.seen(first_chunk))
}

/// Either upstream's error as one concrete type: with a bare `BoxError` the generated client's
/// futures cannot be shown to be `Send` (a known limit of the compiler's trait solver).
#[derive(Debug)]
struct UpstreamError(BoxError);

impl std::fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for UpstreamError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

fn boxed<E: std::error::Error + Send + Sync + 'static>(error: E) -> UpstreamError {
    UpstreamError(Box::new(error))
}

fn request(track_id: &str) -> Request<StreamAudioRequest> {
    let message = StreamAudioRequest {
        track_id: track_id.to_owned(),
        quality: AudioQuality::VeryHigh as i32,
        start_position: None,
        container: AudioContainer::Ogg as i32,
    };
    let mut request = admin(message);
    // Over the mesh, a stream takes the endpoint's streaming connection, as the gateway's do.
    request.extensions_mut().insert(Streaming);
    request
}

/// Starts the player, ingests the tracks, and finds their renditions on disk.
async fn start_player(args: &Args, work: &Path) -> anyhow::Result<(Vec<Upstream>, Vec<Rendition>)> {
    let library = work.join("library");
    std::fs::create_dir_all(&library)?;
    let mut sources: Vec<PathBuf> = std::fs::read_dir(MUSIC)
        .map_err(|e| anyhow::anyhow!("{MUSIC}: {e}: run scripts/music.sh"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "ogg"))
        .collect();
    sources.sort();
    for source in sources.iter().take(args.tracks) {
        std::fs::copy(source, library.join(source.file_name().unwrap_or_default()))?;
    }
    let blobs = work.join("blobs");
    let settings = PlayerSettings {
        blob_dir: Some(blobs.clone()),
        scan_roots: vec![library.clone()],
        qualities: vec!["very_high".to_owned()],
        stream_buffer_chunks: args
            .buffer_chunks
            .unwrap_or(PlayerSettings::default().stream_buffer_chunks),
        stream_start_priority: args.start_priority_ms.map_or(
            PlayerSettings::default().stream_start_priority,
            Duration::from_millis,
        ),
        ..PlayerSettings::default()
    };
    let identity = MeshIdentity::new(&IdentitySettings::for_tests()).expect("the test key");
    let ctx = ServiceContext {
        grpc: grpc_settings(),
        storage: Storage::Embedded {
            data_dir: work.to_owned(),
        },
        identity,
        mesh: Mesh::new(
            Arc::new(EmbeddedRegistry::default()),
            MeshSettings::default(),
        ),
        // One service alone, called directly: plaintext.
        connect: None,
        tls: None,
    };
    let bus =
        Arc::new(EmbeddedBus::open(&EmbeddedSettings::new(work.join("events.sqlite"))).await?);
    let app = spawn_app(tunemesh_player::build(&settings, &ctx, bus).await?, None);
    // Flow-control windows as the mesh's (the gateway's connections to player-svc).
    let mut mesh = MeshSettings::default();
    if let Some(window) = args.stream_window {
        mesh.stream_window_bytes = window;
    }
    let mut upstreams = Vec::new();
    if args.mesh {
        let registry = Arc::new(EmbeddedRegistry::default());
        let service = tunemesh_player::SERVICE_NAME;
        registry
            .register(&Registration {
                instance: ServiceInstance::new("player-0", service, app.addr()),
                check: HealthCheck::default(),
            })
            .await?;
        let channel = Mesh::new(registry, mesh).channel(service);
        upstreams.push(BoxCloneSyncService::new(channel.map_err(boxed)));
    } else {
        for _ in 0..args.connections.max(1) {
            let channel = Channel::from_shared(format!("http://{}", app.addr()))?
                .initial_stream_window_size(mesh.stream_window_bytes)
                .initial_connection_window_size(mesh.connection_window_bytes)
                .connect()
                .await?;
            upstreams.push(BoxCloneSyncService::new(channel.map_err(boxed)));
        }
    }
    // The benchmark stands in for the gateway: it signs each call as its admin.
    let channels: Vec<Upstream> = upstreams
        .into_iter()
        .map(|upstream| {
            let signer = AssertionSigner::for_tests();
            Asserting::new(upstream, signer, tunemesh_player::SERVICE_NAME)
        })
        .collect();
    // Leaked: the server runs until the process exits.
    std::mem::forget(app);
    let mut scan = IngestServiceClient::new(channels[0].clone())
        .scan_library(admin(ScanLibraryRequest {
            path: library.display().to_string(),
        }))
        .await?
        .into_inner();
    while let Some(message) = scan.next().await {
        let message = message?;
        println!("ingested {}", message.file_path);
    }
    let tracks = CatalogServiceClient::new(channels[0].clone())
        .list_tracks(admin(ListTracksRequest::default()))
        .await?
        .into_inner()
        .tracks;
    let files = ogg_files(&blobs)?;
    let renditions = tracks
        .iter()
        .filter_map(|t| {
            let file = files
                .iter()
                .find(|f| f.to_string_lossy().contains(&format!("/{}/", t.id)))?;
            Some(Rendition {
                track_id: t.id.clone(),
                file: file.clone(),
                duration: t
                    .duration
                    .and_then(|d| Duration::try_from(d).ok())
                    .map_or(0.0, |d| d.as_secs_f64()),
            })
        })
        .collect::<Vec<_>>();
    anyhow::ensure!(!renditions.is_empty(), "no track was ingested");
    Ok((channels, renditions))
}

/// `message` from an admin of this benchmark.
fn admin<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    let caller = Caller::new("bench".to_owned(), vec!["admin".to_owned()]);
    request.extensions_mut().insert(ActAs(caller));
    request
}

fn ogg_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            found.extend(ogg_files(&path)?);
        } else if path.file_name().is_some_and(|n| n == "audio.ogg") {
            found.push(path);
        }
    }
    Ok(found)
}
