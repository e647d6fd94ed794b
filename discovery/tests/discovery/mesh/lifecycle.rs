//! Replicas coming, going and dying under load, with child processes and a real Consul.

use std::time::Duration;

use crate::support::harness::{assert_eventually, eventually, servers, unique_prefix};
use tunemesh_discovery::{MeshSettings, Registry};

use super::{Mesh, consul, retrying_client, until_watched};
use crate::support::ChildReplica;
use crate::support::load::{Load, Stats};

/// Load pace per worker: light enough for a loaded 2-core machine, steady enough to matter.
const PACE: Duration = Duration::from_millis(4);

async fn replicas(service: &str, n: usize) -> anyhow::Result<Vec<ChildReplica>> {
    let mut replicas = Vec::new();
    for i in 0..n {
        let id = format!("{service}-{i}");
        replicas.push(ChildReplica::start(&servers().consul_addr, service, &id, &[]).await?);
    }
    Ok(replicas)
}

/// Waits until `load` has answered `more` calls beyond `from`.
async fn until_answered(load: &Load, from: &Stats, more: u64) {
    assert_eventually!(
        load.snapshot().ok >= from.ok + more,
        timeout = Duration::from_secs(60)
    );
}

#[tokio::test]
async fn killed_replica_costs_no_calls_and_leaves_rotation_then_registry() -> anyhow::Result<()> {
    let service = unique_prefix("kill");
    let registry = consul()?;
    let mut replicas = replicas(&service, 3).await?;
    let watch = registry.watch(&service);
    let ids: Vec<String> = replicas.iter().map(|r| r.id.clone()).collect();
    until_watched(&watch, &ids).await?;
    let mesh = Mesh::new(registry.clone(), MeshSettings::default());
    let load = Load::start(retrying_client(&mesh, &service), 4, PACE);
    assert_eventually!(
        ids.iter().all(|id| load.snapshot().of(id) > 20),
        timeout = Duration::from_secs(30)
    );

    let victim = replicas[0].id.clone();
    replicas[0].kill().await?;
    let killed = load.snapshot();
    // The breaker takes it out of rotation long before Consul's check notices.
    until_answered(&load, &killed, 300).await;
    until_watched(&watch, &ids[1..]).await?;
    until_answered(&load, &load.snapshot(), 300).await;

    let stats = load.stop().await;
    let after = stats.since(&killed);
    assert_eq!(stats.failed, 0, "failed calls: {:?}", stats.errors);
    println!(
        "kill: {} ok, {} failed; after the kill {:?}",
        stats.ok, stats.failed, after.by_replica
    );
    assert_eq!(after.of(&victim), 0, "the dead replica answered nothing");
    assert!(after.ok >= 600, "{after:?}");
    deregister(&*registry, &ids).await
}

/// Consul keeps killed instances (critical) for a minute; tests clean up their own.
async fn deregister(registry: &dyn Registry, ids: &[String]) -> anyhow::Result<()> {
    for id in ids {
        registry.deregister(id).await?;
    }
    Ok(())
}

#[tokio::test]
async fn sigterm_under_load_costs_no_calls() -> anyhow::Result<()> {
    let service = unique_prefix("sigterm");
    let registry = consul()?;
    let mut replicas = replicas(&service, 3).await?;
    let watch = registry.watch(&service);
    let ids: Vec<String> = replicas.iter().map(|r| r.id.clone()).collect();
    until_watched(&watch, &ids).await?;
    let mesh = Mesh::new(registry.clone(), MeshSettings::default());
    let load = Load::start(retrying_client(&mesh, &service), 4, PACE);
    assert_eventually!(
        ids.iter().all(|id| load.snapshot().of(id) > 20),
        timeout = Duration::from_secs(30)
    );

    let status = replicas[0].terminate().await?;
    assert!(status.success(), "replica exits cleanly: {status}");
    until_watched(&watch, &ids[1..]).await?;
    until_answered(&load, &load.snapshot(), 300).await;

    let stats = load.stop().await;
    println!(
        "sigterm: {} ok, {} failed, {:?}",
        stats.ok, stats.failed, stats.by_replica
    );
    assert_eq!(stats.failed, 0, "failed calls: {:?}", stats.errors);
    deregister(&*registry, &ids).await
}

#[tokio::test]
async fn new_replica_receives_traffic_within_two_seconds_of_passing() -> anyhow::Result<()> {
    let service = unique_prefix("join");
    let registry = consul()?;
    let replicas = replicas(&service, 2).await?;
    let watch = registry.watch(&service);
    let mut ids: Vec<String> = replicas.iter().map(|r| r.id.clone()).collect();
    until_watched(&watch, &ids).await?;
    let mesh = Mesh::new(registry.clone(), MeshSettings::default());
    let load = Load::start(retrying_client(&mesh, &service), 4, PACE);
    until_answered(&load, &Stats::default(), 100).await;

    let newcomer = ChildReplica::start(
        &servers().consul_addr,
        &service,
        &format!("{service}-new"),
        &[],
    )
    .await?;
    ids.push(newcomer.id.clone());
    // The watch shares the mesh's Consul loop: this is when the mesh learns it passes.
    until_watched(&watch, &ids).await?;
    let served = eventually(Duration::from_secs(2), || async {
        let n = load.snapshot().of(&newcomer.id);
        anyhow::ensure!(n > 0, "no traffic yet");
        Ok(n)
    })
    .await;
    let stats = load.stop().await;
    served?;
    assert_eq!(stats.failed, 0, "failed calls: {:?}", stats.errors);
    deregister(&*registry, &ids).await
}
