//! A replica that hangs (answers nothing, keeps its connections, passes no judgement through
//! its health check): retryable calls lose a per-try timeout at most, never their deadline,
//! and the replica is ejected; calls that hang to the mesh's own timeout count against it too.

use std::time::Duration;

use tokio::time::Instant;
use tunemesh_discovery::{MeshSettings, PerTrySettings};

use super::{client, embedded_mesh, retrying_client, traffic};
use crate::support::harness::unique_prefix;

/// Longer than any test here runs: the replica is as good as stopped.
const HUNG: Duration = Duration::from_secs(600);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_replica_costs_retryable_calls_one_short_wait_and_is_ejected() -> anyhow::Result<()>
{
    let service = unique_prefix("hung");
    let per_try = PerTrySettings::default();
    let (servers, _registry, mesh) = embedded_mesh(&service, 3, MeshSettings::default()).await?;
    let client = retrying_client(&mesh, &service);
    // Every replica answers a few calls first, so each has a latency estimate.
    for _ in 0..60 {
        client.clone().check(traffic()).await?;
    }
    anyhow::ensure!(servers.iter().all(|s| s.behaviour.calls() > 0));

    servers[0].behaviour.set_delay(HUNG);
    let frozen_at = servers[0].behaviour.calls();
    let mut slowest = Duration::ZERO;
    let mut tasks = tokio::task::JoinSet::new();
    // Four callers at once, as a gateway would have, for about two seconds.
    for _ in 0..4 {
        let client = client.clone();
        tasks.spawn(async move {
            let mut times = Vec::new();
            for _ in 0..100 {
                let started = Instant::now();
                let result = client.clone().check(traffic()).await;
                times.push((started.elapsed(), result.map(drop)));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            times
        });
    }
    let mut calls = 0;
    while let Some(times) = tasks.join_next().await {
        for (took, result) in times? {
            result?;
            slowest = slowest.max(took);
            calls += 1;
        }
    }
    let reached = servers[0].behaviour.calls() - frozen_at;
    println!("{calls} calls, slowest {slowest:?}, {reached} reached the hung replica");
    // A try that reached it waited the per-try timeout (at most `max`), then a retry answered.
    anyhow::ensure!(
        slowest < per_try.max + Duration::from_millis(500),
        "a call took {slowest:?}"
    );
    // Seven timeouts open its breaker; then only probes, one per penalty, reach it.
    anyhow::ensure!(
        reached <= 12,
        "{reached} of {calls} calls reached the hung replica"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_hangs_until_the_mesh_timeout_fails_alone_and_ranks_the_replica_last()
-> anyhow::Result<()> {
    let service = unique_prefix("hung-unary");
    let settings = MeshSettings {
        timeout: Duration::from_millis(300),
        ..MeshSettings::default()
    };
    let (servers, _registry, mesh) = embedded_mesh(&service, 2, settings).await?;
    servers[0].behaviour.set_delay(HUNG);
    // Not retrying: each call that reaches the hung replica fails at the mesh timeout.
    let client = client(mesh.channel(&service));
    let mut failed = 0;
    for _ in 0..60 {
        if client.clone().check(traffic()).await.is_err() {
            failed += 1;
        }
    }
    let reached = servers[0].behaviour.calls();
    println!("{failed} of 60 failed, {reached} reached the hung replica");
    // The timeout counts against the replica (`breaker::tests` has the breaker opening after
    // seven of them): p2c ranks it last, so the calls after it go to the other one.
    anyhow::ensure!(reached <= 12, "{reached} calls reached the hung replica");
    anyhow::ensure!(failed == reached, "{failed} failed, {reached} reached it");
    Ok(())
}
