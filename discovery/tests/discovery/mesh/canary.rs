//! Canary routing: a configured share of a service's calls goes to instances tagged `canary`.

use std::collections::BTreeMap;

use crate::support::harness::unique_prefix;
use tunemesh_discovery::{MeshSettings, Registry};

use super::{consul, deregister_all, until_watched};
use crate::support::Server;

#[tokio::test]
async fn canary_gets_its_configured_share_of_ten_thousand_calls() -> anyhow::Result<()> {
    let service = unique_prefix("canary");
    let registry = consul()?;
    let mut servers = Vec::new();
    for (i, canary) in [false, false, true].into_iter().enumerate() {
        let server = Server::start(&format!("{service}-{i}")).await?;
        let mut registration = server.registration(&service);
        if canary {
            registration.instance = registration.instance.with_tag("canary");
        }
        registry.register(&registration).await?;
        servers.push(server);
    }
    let ids: Vec<&str> = servers.iter().map(|s| s.id.as_str()).collect();
    until_watched(&registry.watch(&service), &ids).await?;
    let settings = MeshSettings {
        canary: BTreeMap::from([(service.clone(), 0.1)]),
        ..Default::default()
    };
    let mesh = tunemesh_discovery::Mesh::new(registry.clone(), settings);

    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let mut client = super::client(mesh.channel(&service));
        calls.spawn(async move {
            for _ in 0..1250 {
                client.check(super::traffic()).await?;
            }
            Ok::<_, tonic::Status>(())
        });
    }
    while let Some(done) = calls.join_next().await {
        done??;
    }

    let counts: Vec<u64> = servers.iter().map(|s| s.behaviour.calls()).collect();
    assert_eq!(counts.iter().sum::<u64>(), 10_000);
    let share = counts[2] as f64 / 10_000.0;
    println!("canary share {:.2}% of {counts:?}", share * 100.0);
    assert!(
        (0.07..=0.13).contains(&share),
        "canary share {:.2}%: {counts:?}",
        share * 100.0
    );
    assert!(
        counts[0] > 0 && counts[1] > 0,
        "stable replicas share the rest: {counts:?}"
    );
    deregister_all(&*registry, &servers).await;
    Ok(())
}

#[tokio::test]
async fn without_canary_instances_the_stable_ones_take_everything() -> anyhow::Result<()> {
    let service = unique_prefix("no-canary");
    let registry = consul()?;
    let server = Server::start(&format!("{service}-0")).await?;
    registry.register(&server.registration(&service)).await?;
    until_watched(&registry.watch(&service), &[&server.id]).await?;
    let settings = MeshSettings {
        canary: BTreeMap::from([(service.clone(), 0.5)]),
        ..Default::default()
    };
    let mesh = tunemesh_discovery::Mesh::new(registry.clone(), settings);

    let mut client = super::client(mesh.channel(&service));
    for _ in 0..50 {
        client.check(super::traffic()).await?;
    }
    assert_eq!(server.behaviour.calls(), 50);
    deregister_all(&*registry, std::slice::from_ref(&server)).await;
    Ok(())
}
