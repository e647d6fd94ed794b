//! Endpoints that fail or slow down while their health checks pass: the breaker and PeakEWMA.

use std::time::Duration;

use crate::support::harness::{assert_eventually, unique_prefix};
use tunemesh_discovery::{BreakerSettings, MeshSettings};

use super::{consul_mesh, deregister_all, retrying_client};
use crate::support::Server;
use crate::support::load::Load;

const PACE: Duration = Duration::from_millis(4);

/// Traffic calls each replica received.
fn calls(servers: &[Server]) -> Vec<u64> {
    servers.iter().map(|s| s.behaviour.calls()).collect()
}

fn delta(now: &[u64], before: &[u64]) -> Vec<u64> {
    now.iter().zip(before).map(|(n, b)| n - b).collect()
}

/// Waits until the replicas together received `more` calls beyond `from`.
async fn until_calls(servers: &[Server], from: &[u64], more: u64) -> Vec<u64> {
    let total = |c: &[u64]| c.iter().sum::<u64>();
    assert_eventually!(
        total(&calls(servers)) >= total(from) + more,
        timeout = Duration::from_secs(60)
    );
    calls(servers)
}

#[tokio::test]
async fn unavailable_replica_gets_almost_no_calls_and_traffic_again_once_healed()
-> anyhow::Result<()> {
    let service = unique_prefix("unavailable");
    // Penalties capped at 2 s keep the heal phase short; the doubling itself is unchanged.
    let breaker = BreakerSettings {
        max_penalty: Duration::from_secs(2),
        ..Default::default()
    };
    let settings = MeshSettings {
        breaker,
        ..Default::default()
    };
    let (servers, registry, mesh) = consul_mesh(&service, 3, settings).await?;
    servers[0].behaviour.set_unavailable(true);
    let load = Load::start(retrying_client(&mesh, &service), 4, PACE);

    let warm = until_calls(&servers, &[0, 0, 0], 500).await;
    let window = delta(&until_calls(&servers, &warm, 3000).await, &warm);
    let share = window[0] as f64 / window.iter().sum::<u64>() as f64;
    println!(
        "unavailable replica share {:.3}% of {window:?}",
        share * 100.0
    );
    assert!(
        share <= 0.02,
        "broken replica got {:.2}% of calls: {window:?}",
        share * 100.0
    );

    servers[0].behaviour.set_unavailable(false);
    let healed = servers[0].behaviour.calls();
    assert_eventually!(
        servers[0].behaviour.calls() >= healed + 100,
        timeout = Duration::from_secs(20)
    );

    let stats = load.stop().await;
    assert_eq!(
        stats.failed, 0,
        "retries hide the broken replica: {:?}",
        stats.errors
    );
    deregister_all(&*registry, &servers).await;
    Ok(())
}

#[tokio::test]
async fn replica_slowed_by_50ms_gets_a_small_share() -> anyhow::Result<()> {
    let service = unique_prefix("slow");
    let (servers, registry, mesh) = consul_mesh(&service, 3, MeshSettings::default()).await?;
    servers[0].behaviour.set_delay(Duration::from_millis(50));
    let load = Load::start(retrying_client(&mesh, &service), 4, PACE);

    let warm = until_calls(&servers, &[0, 0, 0], 500).await;
    let window = delta(&until_calls(&servers, &warm, 3000).await, &warm);
    let share = window[0] as f64 / window.iter().sum::<u64>() as f64;
    println!("slow replica share {:.3}% of {window:?}", share * 100.0);
    assert!(
        share <= 0.10,
        "slow replica got {:.2}% of calls: {window:?}",
        share * 100.0
    );

    let stats = load.stop().await;
    assert_eq!(stats.failed, 0, "{:?}", stats.errors);
    deregister_all(&*registry, &servers).await;
    Ok(())
}

#[tokio::test]
async fn application_errors_do_not_trip_the_breaker() -> anyhow::Result<()> {
    let service = unique_prefix("app-errors");
    // Were NOT_FOUND or UNIMPLEMENTED failures, 3 of them would bench the only endpoint for a
    // minute and the last call would time out.
    let breaker = BreakerSettings {
        failures: 3,
        min_penalty: Duration::from_secs(60),
        ..Default::default()
    };
    let settings = MeshSettings {
        breaker,
        ..Default::default()
    };
    let (servers, registry, mesh) = consul_mesh(&service, 1, settings).await?;
    let mut client = super::client(mesh.channel(&service));
    for _ in 0..10 {
        let status = client
            .watch(tonic_health::pb::HealthCheckRequest::default())
            .await;
        assert_eq!(
            status.map(drop).unwrap_err().code(),
            tonic::Code::Unimplemented
        );
    }
    client.check(super::traffic()).await?;
    deregister_all(&*registry, &servers).await;
    Ok(())
}
