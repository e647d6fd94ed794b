//! Each service's memory as the catalogue grows, under `tunemesh serve` (issue 17 item 2).
//! `tunemesh up` runs every service in one process, so the catalogue benchmark
//! (`src/bin/catalogue.rs`) can only say what they cost together; here they run as production
//! runs them, one process each (`tunemesh cluster`'s topology, one replica of every service
//! and of the gateway, on Consul, JetStream, PostgreSQL and Redis), so each one's share shows.
//!
//! ```sh
//! bash scripts/servers.sh && bash scripts/testdata.sh
//! cargo build --release --bin tunemesh -p tunemesh-bench --bin cluster_size
//! ./target/release/cluster_size --sizes 10000,100000,1000000
//! ```
//!
//! A few real files are ingested first (`tunemesh ingest` against player-svc, as an operator
//! would); then, per size, the catalogue grows through player-svc's PostgreSQL store and
//! outbox (`tunemesh_bench::catalogue::add_until`: the rows and `TrackAdded` events of an
//! ingest, 5,000 tracks a transaction, the audio shared) while the cluster runs: player-svc's
//! own relay publishes the events, search-svc and reco-svc consume them live. Once the outbox
//! is empty and no consumer on the stream has anything pending, per process: resident memory
//! (now, peak, anonymous + file); per store: player-svc's and playlist-svc's databases,
//! reco-svc's Redis keys by kind, search-svc's index on disk, the JetStream stream. Then every
//! service is restarted in turn as an orchestrator would (SIGTERM, start, `/readyz`): time to
//! ready and its memory after.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use futures::TryStreamExt as _;
use tunemesh::cluster::{Cluster, ClusterOptions};
use tunemesh_bench::catalogue::{Growth, add_until, dir_size};
use tunemesh_bench::listeners::redis_memory;
use tunemesh_bench::{cpu, up};
use tunemesh_player::store::postgres::PostgresStore;
use tunemesh_runtime::postgres::{PostgresSettings, connect};
use tunemesh_testkit::{
    delete_nats_streams, delete_redis_keys, nats_client, redis_client, servers,
};

/// The services in the order they are restarted; the gateway last, as a rollout would.
const PROCESSES: [&str; 5] = ["player", "playlist", "search", "reco", "gateway"];

/// Command-line options.
#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    growth: Growth,
    /// Seconds to wait for the events of one size to be consumed.
    #[arg(long, default_value_t = 7200)]
    drain_timeout: u64,
    /// Only remove what an interrupted run of this name (`bench_size_<pid>`) left on the
    /// shared servers, its stream and Redis keys, and exit.
    #[arg(long, value_name = "NAME")]
    clean_up: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !args.clean_up.is_empty() {
        for name in &args.clean_up {
            clean_up(name).await?;
        }
        return Ok(());
    }
    let work = tempfile::tempdir()?;
    let (names, binary, library) = args.growth.prepare(work.path())?;
    let servers = servers();
    let name = format!("bench_size_{}", std::process::id());
    let mut cluster = Cluster::start(ClusterOptions {
        binary: binary.clone(),
        name: name.clone(),
        replicas: 1,
        dir: work.path().join("cluster"),
        postgres_url: servers.postgres_url.clone(),
        redis_url: servers.redis_url.clone(),
        nats_url: servers.nats_url.clone(),
        nats_bin: None,
        consul_bin: servers
            .consul_bin
            .clone()
            .context("no consul binary: run scripts/servers.sh")?,
        // One rung: the templates' ingest is not what is measured.
        settings_toml: "[player]\nqualities = [\"low\"]\n".to_owned(),
        env: Vec::new(),
    })
    .await?;
    let outcome = run(&args, &mut cluster, &binary, &library, &names).await;
    cluster.stop().await?;
    // The cluster drops its databases; its stream and keys on the shared servers go here
    // (at a million tracks they are ~0.5 GB each).
    clean_up(&name).await?;
    outcome
}

/// Deletes the JetStream stream and every Redis key of the cluster named `name`.
async fn clean_up(name: &str) -> anyhow::Result<()> {
    let jetstream = async_nats::jetstream::new(nats_client().await?);
    delete_nats_streams(&jetstream, &format!("{name}_")).await?;
    delete_redis_keys(&redis_client().await?, &format!("{name}:")).await?;
    Ok(())
}

async fn run(
    args: &Args,
    cluster: &mut Cluster,
    binary: &std::path::Path,
    library: &std::path::Path,
    names: &tunemesh_bench::names::Names,
) -> anyhow::Result<()> {
    ingest(cluster, binary, library).await?;
    let player = PostgresStore::migrate(
        connect(&PostgresSettings {
            url: cluster.database_url("player")?.into(),
            ..PostgresSettings::default()
        })
        .await?,
    )
    .await?;
    let admin = connect(&PostgresSettings {
        url: servers().postgres_url.clone().into(),
        ..PostgresSettings::default()
    })
    .await?;
    let redis = redis_client().await?;
    let jetstream = async_nats::jetstream::new(nats_client().await?);
    let stream_name = format!("{}_events", cluster.stream_prefix());
    println!("load before: {}", cpu::load());

    let mut sizes = Vec::new();
    let mut memory = Vec::new();
    let mut restarts = Vec::new();
    for &size in &args.growth.sizes {
        let started = Instant::now();
        let stored = add_until(&player, names, size).await?;
        let deadline = started + Duration::from_secs(args.drain_timeout);
        let relayed = wait_for(deadline, || outbox_empty(&player)).await? - started;
        let consumed = wait_for(deadline, || drained(&jetstream, &stream_name)).await? - started;
        eprintln!("{size}: stored {stored:?}, relayed {relayed:?}, consumed {consumed:?}");
        for service in PROCESSES {
            memory.push(memory_row(size, "after the load", service, cluster));
        }
        let mut stream = jetstream.get_stream(&stream_name).await?;
        let stream_bytes = stream.info().await?.state.bytes;
        // The cluster's prefix for reco-svc's processes, then the store's own scope.
        let reco_prefix = format!("{}reco:reco:", cluster.redis_prefix());
        // Every key measured, not a sample: an artist's set holds one track or hundreds, and
        // a 200-key sample was 16 % off at 1M.
        let kinds = redis_memory::by_kind(&redis, &reco_prefix, u64::MAX).await?;
        let reco_redis: f64 = kinds.values().map(redis_memory::Kind::bytes).sum();
        let kinds: Vec<String> = kinds
            .iter()
            .map(|(kind, k)| format!("{kind} {} keys {:.1} MiB", k.keys, k.bytes() / MIB))
            .collect();
        let client = admin.get().await?;
        let mut db_bytes = Vec::new();
        for service in ["player", "playlist"] {
            let row = client
                .query_one("SELECT pg_database_size($1)", &[&cluster.database(service)])
                .await?;
            db_bytes.push(row.get::<_, i64>(0) as f64);
        }
        sizes.push(format!(
            "| {size} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} ({}) | {} |",
            stored.as_secs_f64(),
            relayed.as_secs_f64(),
            consumed.as_secs_f64(),
            db_bytes[0] / MIB,
            db_bytes[1] / MIB,
            dir_size(&cluster.dir().join("search-0")) as f64 / MIB,
            stream_bytes as f64 / MIB,
            reco_redis / MIB,
            kinds.join(", "),
            cpu::load()
        ));
        for service in PROCESSES {
            cluster.terminate(service, 0).await?;
            let started = Instant::now();
            cluster.restart(service, 0).await?;
            let ready = started.elapsed();
            let row = memory_row(size, "restarted", service, cluster);
            restarts.push(format!("{row} {:.2} |", ready.as_secs_f64()));
        }
        print_tables(&sizes, &memory, &restarts);
    }
    Ok(())
}

const MIB: f64 = 1024.0 * 1024.0;

/// `tunemesh ingest` of `library` against player-svc, as an operator would; it returns once
/// every file is stored.
async fn ingest(
    cluster: &Cluster,
    binary: &std::path::Path,
    library: &std::path::Path,
) -> anyhow::Result<()> {
    let player = cluster.of("player").next().context("a player")?.addr;
    let output = tokio::process::Command::new(binary)
        .arg("ingest")
        .arg(library)
        .args(["--server", &format!("http://{player}")])
        .env("TUNEMESH_CONSUL__ADDR", cluster.consul_addr())
        .current_dir(cluster.dir())
        .output()
        .await?;
    anyhow::ensure!(
        output.status.success(),
        "ingest: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

/// Polls `check` every 200 ms until it holds; answers when it first did. Not testkit's
/// `eventually`, which polls every 20 ms: a `COUNT(*)` over a million-row outbox that often
/// would load the very database being measured.
async fn wait_for<F, Fut>(deadline: Instant, mut check: F) -> anyhow::Result<Instant>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    loop {
        if check().await? {
            return Ok(Instant::now());
        }
        anyhow::ensure!(Instant::now() < deadline, "not drained in time");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Whether player-svc's relay has published every event of the load.
async fn outbox_empty(player: &PostgresStore) -> anyhow::Result<bool> {
    let client = player.pool().get().await?;
    let row = client
        .query_one("SELECT COUNT(*) FROM event_outbox", &[])
        .await?;
    Ok(row.get::<_, i64>(0) == 0)
}

/// Whether every consumer on the stream has taken and acknowledged everything in it.
async fn drained(jetstream: &async_nats::jetstream::Context, stream: &str) -> anyhow::Result<bool> {
    let stream = jetstream.get_stream(stream).await?;
    let consumers: Vec<_> = stream.consumers().try_collect().await?;
    anyhow::ensure!(!consumers.is_empty(), "no consumer on the stream");
    Ok(consumers
        .iter()
        .all(|c| c.num_pending == 0 && c.num_ack_pending == 0))
}

/// One row of the memory table: the process of `service` now.
fn memory_row(size: usize, when: &str, service: &str, cluster: &Cluster) -> String {
    let pid = cluster
        .of(service)
        .next()
        .and_then(|r| r.pid())
        .unwrap_or(0);
    let [now, peak, anon, file] = up::memory(pid);
    format!("| {size} | {when} | {service} | {now:.0} | {peak:.0} | {anon:.0} + {file:.0} |")
}

fn print_tables(sizes: &[String], memory: &[String], restarts: &[String]) {
    println!(
        "| tracks | bulk store s | relayed s | consumed s | player db MiB | playlist db MiB | search index MiB | stream MiB | reco Redis MiB (by kind) | load |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---|---|");
    sizes.iter().for_each(|r| println!("{r}"));
    println!("| tracks | when | process | RSS MiB | peak MiB | anon + file MiB |");
    println!("|---:|---|---|---:|---:|---|");
    memory.iter().for_each(|r| println!("{r}"));
    println!("| tracks | when | process | RSS MiB | peak MiB | anon + file MiB | ready s |");
    println!("|---:|---|---|---:|---:|---|---:|");
    restarts.iter().for_each(|r| println!("{r}"));
}
