//! Balancing over watched endpoints.

use crate::support::harness::unique_prefix;
use tunemesh_discovery::MeshSettings;

use super::{client, embedded_mesh, traffic};

#[tokio::test]
async fn mesh_channel_balances_calls_over_registered_replicas() -> anyhow::Result<()> {
    let service = unique_prefix("balance");
    let (servers, _registry, mesh) = embedded_mesh(&service, 2, MeshSettings::default()).await?;

    // Spawned calls prove the client futures are Send with the concrete error type.
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let mut client = client(mesh.channel(&service));
        calls.spawn(async move {
            for _ in 0..50 {
                client.check(traffic()).await?;
            }
            Ok::<_, tonic::Status>(())
        });
    }
    while let Some(done) = calls.join_next().await {
        done??;
    }

    let counts: Vec<u64> = servers.iter().map(|s| s.behaviour.calls()).collect();
    assert_eq!(
        counts.iter().sum::<u64>(),
        400,
        "every call answered once: {counts:?}"
    );
    assert!(
        counts.iter().all(|&n| n >= 40),
        "both replicas take a share: {counts:?}"
    );
    Ok(())
}

#[tokio::test]
async fn calls_wait_for_the_first_endpoint_then_succeed() -> anyhow::Result<()> {
    let service = unique_prefix("late");
    let (_none, registry, mesh) = embedded_mesh(&service, 0, MeshSettings::default()).await?;
    let mut client = client(mesh.channel(&service));
    let call = tokio::spawn(async move { client.check(traffic()).await });

    let server = crate::support::Server::start("late-0").await?;
    tunemesh_discovery::Registry::register(&*registry, &server.registration(&service)).await?;
    call.await??;
    assert_eq!(server.behaviour.calls(), 1);
    Ok(())
}

#[tokio::test]
async fn calls_fail_fast_with_deadline_exceeded_when_no_endpoint_exists() -> anyhow::Result<()> {
    let service = unique_prefix("nobody");
    let settings = MeshSettings {
        timeout: std::time::Duration::from_millis(200),
        ..Default::default()
    };
    let (_none, _registry, mesh) = embedded_mesh(&service, 0, settings).await?;
    let status = client(mesh.channel(&service))
        .check(traffic())
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded, "{status:?}");
    Ok(())
}
