//! `tunemesh cluster` with its own NATS, run as production runs it (`tunemesh_events::access`):
//! each service connects as its own user allowed only its subjects and consumers, and events
//! still flow from the publisher to every consumer.

use std::time::Duration;

use anyhow::Context as _;
use tunemesh::cluster::Cluster;
use tunemesh_testkit::{eventually, servers};

use crate::cluster::{Listener, ingest, test_options};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_whose_services_have_their_own_nats_users_moves_events_end_to_end()
-> anyhow::Result<()> {
    tunemesh_testkit::init_tracing();
    let dir = tempfile::tempdir()?;
    let mut options = test_options("cluster_nats", 1, dir.path(), &["low"])?;
    options.nats_bin = Some(
        servers()
            .nats_bin
            .clone()
            .context("run scripts/servers.sh")?,
    );
    let cluster = Cluster::start(options).await?;
    let result = scenario(&cluster, dir.path()).await;
    let prefix = cluster.stream_prefix().to_owned();
    let stopped = cluster.stop().await;
    let redis = tunemesh_testkit::redis_client().await?;
    tunemesh_testkit::delete_redis_keys(&redis, &format!("{prefix}:")).await?;
    if result.is_err() {
        eprintln!("cluster logs kept in {}", dir.keep().display());
    }
    result.and(stopped)
}

async fn scenario(cluster: &Cluster, dir: &std::path::Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        cluster.nats_url() != servers().nats_url,
        "the cluster runs its own nats"
    );
    // Every replica became ready: search and reco made their consumers under their users.
    ingest(cluster, dir).await?;
    let listener = Listener::sign_up(cluster).await?;
    let page = listener.get_json("/v1/tracks").await?;
    let title = page["tracks"][0]["title"]
        .as_str()
        .context("a track title")?
        .to_owned();
    // player-svc published the catalogue events as `player`; search-svc read them as `search`.
    let query = title.split_whitespace().last().unwrap_or(&title).to_owned();
    eventually(Duration::from_secs(60), || async {
        let found = listener
            .get_json(&format!("/v1/search?q={}", urlencode(&query)))
            .await?;
        let hits = found["results"].as_array().map_or(0, Vec::len);
        anyhow::ensure!(hits > 0, "no search result for {query:?} yet: {found}");
        Ok(())
    })
    .await
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
