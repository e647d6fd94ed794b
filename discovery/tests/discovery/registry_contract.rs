//! One contract, two adapters: the same test functions run against Consul and the embedded
//! registry. Instances are real tonic health servers so Consul's gRPC checks pass.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use crate::support::harness::{eventually, servers, unique_prefix};
use anyhow::Context as _;
use tokio::sync::watch;
use tunemesh_discovery::{
    ConsulRegistry, ConsulSettings, EmbeddedRegistry, InstanceSet, Registry, ServiceInstance,
};

use crate::support::Server;

/// Consul needs a few check intervals to mark a new instance passing.
const WAIT: Duration = Duration::from_secs(15);

fn consul() -> anyhow::Result<Arc<dyn Registry>> {
    let settings = ConsulSettings {
        addr: servers().consul_addr.clone(),
        wait: Duration::from_secs(5),
        ..ConsulSettings::default()
    };
    Ok(Arc::new(ConsulRegistry::new(settings)?))
}

fn embedded() -> anyhow::Result<Arc<dyn Registry>> {
    Ok(Arc::new(EmbeddedRegistry::new()))
}

/// Runs every contract test against one adapter.
macro_rules! contract {
    ($adapter:ident) => {
        mod $adapter {
            #[tokio::test]
            async fn registered_instances_are_watched_with_tags_and_meta() -> anyhow::Result<()> {
                super::registered_instances_are_watched_with_tags_and_meta(super::$adapter()?).await
            }

            #[tokio::test]
            async fn deregistered_instance_leaves_the_watch() -> anyhow::Result<()> {
                super::deregistered_instance_leaves_the_watch(super::$adapter()?).await
            }

            #[tokio::test]
            async fn last_instance_leaving_keeps_the_last_set() -> anyhow::Result<()> {
                super::last_instance_leaving_keeps_the_last_set(super::$adapter()?).await
            }

            #[tokio::test]
            async fn registering_again_replaces_the_instance() -> anyhow::Result<()> {
                super::registering_again_replaces_the_instance(super::$adapter()?).await
            }

            #[tokio::test]
            async fn deregistering_an_unknown_instance_succeeds() -> anyhow::Result<()> {
                super::deregistering_an_unknown_instance_succeeds(super::$adapter()?).await
            }

            #[tokio::test]
            async fn an_instance_is_listed_before_its_first_check() -> anyhow::Result<()> {
                super::an_instance_is_listed_before_its_first_check(super::$adapter()?).await
            }

            #[tokio::test]
            async fn watches_of_one_service_agree() -> anyhow::Result<()> {
                super::watches_of_one_service_agree(super::$adapter()?).await
            }
        }
    };
}

contract!(consul);
contract!(embedded);

/// Waits until the watch holds exactly the instances with `ids`, and returns them.
async fn until_ids(rx: &watch::Receiver<InstanceSet>, ids: &[&str]) -> anyhow::Result<InstanceSet> {
    let want: BTreeSet<&str> = ids.iter().copied().collect();
    eventually(WAIT, || async {
        let set = rx.borrow().clone();
        let have: BTreeSet<&str> = set.iter().map(|i| i.id.as_str()).collect();
        anyhow::ensure!(have == want, "watch holds {have:?}, want {want:?}");
        Ok(set)
    })
    .await
}

async fn start(service: &str, ids: &[&str]) -> anyhow::Result<Vec<Server>> {
    let mut servers = Vec::new();
    for id in ids {
        servers.push(Server::start(&format!("{service}-{id}")).await?);
    }
    Ok(servers)
}

async fn registered_instances_are_watched_with_tags_and_meta(
    registry: Arc<dyn Registry>,
) -> anyhow::Result<()> {
    let service = unique_prefix("contract-watch");
    let other = unique_prefix("contract-other");
    let servers = start(&service, &["a", "b"]).await?;
    let mut canary = servers[1].registration(&service);
    canary.instance = canary
        .instance
        .with_tag("canary")
        .with_meta("version", "1.2.3")
        .with_meta("zone", "z1");
    registry
        .register(&servers[0].registration(&service))
        .await?;
    registry.register(&canary).await?;

    let rx = registry.watch(&service);
    let set = until_ids(&rx, &[&servers[0].id, &servers[1].id]).await?;
    let watched = set
        .iter()
        .find(|i| i.id == servers[1].id)
        .context("canary missing")?;
    assert_eq!(watched, &canary.instance);
    assert!(
        registry.watch(&other).borrow().is_empty(),
        "other services see nothing"
    );
    for server in &servers {
        registry.deregister(&server.id).await?;
    }
    Ok(())
}

/// An instance registers once it serves, so it is listed at once, not after the registry's
/// first health check: Consul runs that at a random moment within the interval (ten minutes
/// here), and until then a critical instance is hidden from every caller.
async fn an_instance_is_listed_before_its_first_check(
    registry: Arc<dyn Registry>,
) -> anyhow::Result<()> {
    let service = unique_prefix("contract-first");
    let servers = start(&service, &["a"]).await?;
    let mut registration = servers[0].registration(&service);
    registration.check.interval = Duration::from_secs(600);
    registry.register(&registration).await?;
    let rx = registry.watch(&service);
    until_ids(&rx, &[&servers[0].id]).await?;
    registry.deregister(&servers[0].id).await?;
    Ok(())
}

async fn deregistered_instance_leaves_the_watch(registry: Arc<dyn Registry>) -> anyhow::Result<()> {
    let service = unique_prefix("contract-leave");
    let servers = start(&service, &["a", "b"]).await?;
    for server in &servers {
        registry.register(&server.registration(&service)).await?;
    }
    let rx = registry.watch(&service);
    until_ids(&rx, &[&servers[0].id, &servers[1].id]).await?;

    registry.deregister(&servers[0].id).await?;
    until_ids(&rx, &[&servers[1].id]).await?;
    registry.deregister(&servers[1].id).await?;
    Ok(())
}

async fn last_instance_leaving_keeps_the_last_set(
    registry: Arc<dyn Registry>,
) -> anyhow::Result<()> {
    let service = unique_prefix("contract-last");
    let servers = start(&service, &["a"]).await?;
    registry
        .register(&servers[0].registration(&service))
        .await?;
    let mut rx = registry.watch(&service);
    until_ids(&rx, &[&servers[0].id]).await?;
    rx.borrow_and_update();

    registry.deregister(&servers[0].id).await?;
    // Absence of a change can only be observed for a while; Consul answers a blocking query
    // within milliseconds of a change, so a few seconds is plenty.
    let changed = tokio::time::timeout(Duration::from_secs(3), rx.changed()).await;
    assert!(changed.is_err(), "the watch must not publish an empty set");
    assert_eq!(rx.borrow().len(), 1);
    Ok(())
}

async fn registering_again_replaces_the_instance(
    registry: Arc<dyn Registry>,
) -> anyhow::Result<()> {
    let service = unique_prefix("contract-again");
    let servers = start(&service, &["a"]).await?;
    let mut registration = servers[0].registration(&service);
    registry.register(&registration).await?;
    let rx = registry.watch(&service);
    until_ids(&rx, &[&servers[0].id]).await?;

    registration.instance = registration.instance.with_tag("v2");
    registry.register(&registration).await?;
    let tagged = |set: &[ServiceInstance]| set.len() == 1 && set[0].has_tag("v2");
    eventually(WAIT, || async {
        anyhow::ensure!(tagged(&rx.borrow()), "still {:?}", rx.borrow());
        Ok(())
    })
    .await?;
    registry.deregister(&servers[0].id).await?;
    Ok(())
}

async fn deregistering_an_unknown_instance_succeeds(
    registry: Arc<dyn Registry>,
) -> anyhow::Result<()> {
    registry
        .deregister(&unique_prefix("contract-unknown"))
        .await?;
    Ok(())
}

async fn watches_of_one_service_agree(registry: Arc<dyn Registry>) -> anyhow::Result<()> {
    let service = unique_prefix("contract-agree");
    let servers = start(&service, &["a"]).await?;
    let first = registry.watch(&service);
    registry
        .register(&servers[0].registration(&service))
        .await?;
    until_ids(&first, &[&servers[0].id]).await?;
    let second = registry.watch(&service);
    until_ids(&second, &[&servers[0].id]).await?;
    drop(first);
    drop(second);
    // A watch taken after every earlier one was dropped still works.
    let third = registry.watch(&service);
    until_ids(&third, &[&servers[0].id]).await?;
    registry.deregister(&servers[0].id).await?;
    Ok(())
}
