//! A replica that hangs costs no call (issue 16 item 7): under steady load through the
//! gateways, one replica of each service in turn is frozen with SIGSTOP for eight seconds
//! (it answers nothing but keeps its connections, like a long GC pause or a hung host), then
//! woken with SIGCONT. No request may fail, and reads that start during a freeze keep their
//! 99th percentile under a second: calls that reach the frozen replica lose one per-try
//! timeout and are retried on the other, which the breaker keeps them on. Playlist additions
//! carry an idempotency key, so their retries add nothing twice; a playlist replica frozen
//! inside a transaction holds its playlist's row lock until PostgreSQL ends the idle
//! transaction (`postgres.idle_in_transaction_timeout`, 1 s), so each worker adds to a
//! playlist of its own and only that worker's additions wait.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::time::Instant;
use tunemesh::cluster::{Cluster, SERVICES};

use super::{Listener, first_listens, ingest, load, test_options};

/// How long each replica stays frozen.
const FREEZE: Duration = Duration::from_secs(8);

/// Time for the mesh to take a woken replica back before the next one freezes.
const SETTLE: Duration = Duration::from_secs(3);

/// The read latency no freeze may push the 99th percentile past.
const READ_P99: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_frozen_replica_of_each_service_costs_no_request_and_reads_stay_under_a_second()
-> anyhow::Result<()> {
    tunemesh_testkit::init_tracing();
    let dir = tempfile::tempdir()?;
    let options = test_options("freeze", 2, dir.path(), &["low", "normal"])?;
    let mut cluster = Cluster::start(options).await?;
    let result = scenario(&mut cluster, dir.path()).await;
    let stream_prefix = cluster.stream_prefix().to_owned();
    // `stop` wakes a replica a failed scenario left frozen before it terminates it.
    let stopped = cluster.stop().await;
    let js = async_nats::jetstream::new(tunemesh_testkit::nats_client().await?);
    tunemesh_testkit::delete_nats_streams(&js, &stream_prefix).await?;
    let redis = tunemesh_testkit::redis_client().await?;
    tunemesh_testkit::delete_redis_keys(&redis, &format!("{stream_prefix}:")).await?;
    if result.is_err() {
        eprintln!("cluster logs kept in {}", dir.keep().display());
    }
    result.and(stopped)
}

async fn scenario(cluster: &mut Cluster, dir: &std::path::Path) -> anyhow::Result<()> {
    let listener = Listener::sign_up(cluster).await?;
    ingest(cluster, dir).await?;
    // Keyed playlist additions are the load's writes besides play reports. A write whose
    // first try froze inside its transaction leaves its rows locked until PostgreSQL ends
    // that transaction (1 s); its retry waits on them, which is why a retry's per-try bound
    // is the patient one (`discovery/src/mesh/per_try.rs`).
    let fixture = load::Fixture {
        additions: true,
        ..first_listens(&listener).await?
    };

    let stop = Arc::new(AtomicBool::new(false));
    let load = load::run(listener.clone(), fixture, 4, stop.clone());
    let load = tokio::spawn(load);
    tokio::time::sleep(SETTLE).await;
    let mut windows = Vec::new();
    for service in SERVICES {
        let from = Instant::now();
        cluster.freeze(service, 0).await?;
        tokio::time::sleep(FREEZE).await;
        cluster.thaw(service, 0).await?;
        windows.push((service, from, Instant::now()));
        tokio::time::sleep(SETTLE).await;
    }
    stop.store(true, Ordering::Relaxed);
    let outcome = load.await?;

    let failures = outcome.failures.lock().expect("not poisoned").clone();
    let requests = outcome.requests.load(Ordering::Relaxed);
    let mut report = Vec::new();
    for (service, from, to) in windows {
        let (reads, [p50, p99, max]) = outcome.reads_between(from, to);
        println!("{service} frozen: {reads} reads, p50 {p50:?}, p99 {p99:?}, slowest {max:?}");
        if reads < 50 || p99 >= READ_P99 {
            report.push(format!("{service}: {reads} reads, p99 {p99:?}"));
        }
    }
    println!("{requests} requests, {} failed", failures.len());
    anyhow::ensure!(
        failures.is_empty(),
        "{} of {requests} requests failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    anyhow::ensure!(
        report.is_empty(),
        "reads too few or too slow during a freeze: {report:?}"
    );
    // Additions whose first try met a frozen replica were retried with their key: each
    // acknowledged one is there once, and none is there twice.
    let added = outcome.added.load(Ordering::Relaxed);
    let mut present = 0;
    let playlists = outcome.playlists.lock().expect("not poisoned").clone();
    for playlist in playlists {
        present += u64::from(listener.playlist_items(&playlist).await?);
    }
    println!("{added} additions acknowledged, {present} present");
    anyhow::ensure!(
        present == added,
        "{added} additions acknowledged, {present} present"
    );
    Ok(())
}
