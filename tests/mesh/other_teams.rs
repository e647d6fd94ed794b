//! Another team's service, written in Python with grpcio stubs generated from `proto/`, calls
//! tunemesh as `docs/other-teams.md` tells it to: a certificate from the local Consul agent,
//! mutual TLS, instances found through Consul. Refused (PERMISSION_DENIED, both identities
//! named) until an operator adds its intentions; then it lists the catalogue, searches and
//! reads the services' contracts through reflection (v1alpha, all grpcio-reflection speaks).

use std::time::Duration;

use anyhow::Context as _;
use serde_json::Value;
use tunemesh::cluster::Cluster;
use tunemesh_testkit::eventually;

use crate::cluster::{ingest, test_options};

/// The other team's service name, as it would register in Consul.
const TEAM: &str = "team-recs";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_teams_python_service_is_refused_until_an_intention_allows_it() -> anyhow::Result<()>
{
    tunemesh_testkit::init_tracing();
    let dir = tempfile::tempdir()?;
    let options = test_options("teams", 1, dir.path(), &["low"])?;
    let cluster = Cluster::start(options).await?;
    let result = scenario(&cluster, dir.path()).await;
    let stream_prefix = cluster.stream_prefix().to_owned();
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

async fn scenario(cluster: &Cluster, dir: &std::path::Path) -> anyhow::Result<()> {
    ingest(cluster, dir).await?;
    let stubs = dir.join("stubs");
    std::fs::create_dir_all(&stubs)?;

    // No intention names the team: the default deny refuses every call, saying who and whom.
    let refused = python_client(cluster, &stubs).await?;
    for call in ["catalog", "search", "reflection"] {
        let answer = &refused[call];
        assert_eq!(answer["ok"], false, "{call}: {answer}");
        assert_eq!(answer["code"], "PERMISSION_DENIED", "{call}: {answer}");
        let details = answer["details"].as_str().unwrap_or_default();
        assert!(
            details.contains(&format!("/svc/{TEAM} may not call")),
            "{call}: {details}"
        );
    }

    // The operator allows the team to call player and search, as docs/other-teams.md says.
    for to in ["player", "search"] {
        allow(cluster.consul_addr(), TEAM, to).await?;
    }
    // Search indexes the ingested tracks from the event stream: wait for them.
    let allowed = eventually(Duration::from_secs(30), || async {
        let answer = python_client(cluster, &stubs).await?;
        anyhow::ensure!(
            answer["search"]["hits"].as_u64() > Some(0),
            "not found yet: {answer}"
        );
        Ok(answer)
    })
    .await?;
    let titles = allowed["catalog"]["titles"]
        .as_array()
        .context("catalog titles")?;
    assert_eq!(titles.len(), 2, "{allowed}");
    let services = allowed["reflection"]["services"].to_string();
    assert!(
        services.contains("tunemesh.catalog.v1.CatalogService"),
        "{allowed}"
    );
    Ok(())
}

/// `tests/mesh/other_team_client.py` as the team's service; its one line of JSON.
async fn python_client(cluster: &Cluster, stubs: &std::path::Path) -> anyhow::Result<Value> {
    let root = env!("CARGO_MANIFEST_DIR");
    let output = tokio::process::Command::new("python3")
        .arg(format!("{root}/tests/mesh/other_team_client.py"))
        .arg(cluster.consul_addr())
        .arg(TEAM)
        .arg(format!("{root}/proto"))
        .arg(stubs)
        .arg("Apex")
        .output()
        .await
        .context("python3 (scripts/deps.sh installs grpcio)")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    anyhow::ensure!(
        output.status.success(),
        "the client failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(serde_json::from_str(
        stdout.lines().last().unwrap_or_default(),
    )?)
}

/// An intention allowing `from` to call `to`, through Consul's HTTP API.
async fn allow(consul: &str, from: &str, to: &str) -> anyhow::Result<()> {
    let body = serde_json::json!({
        "SourceName": from,
        "DestinationName": to,
        "Action": "allow",
    });
    let response = reqwest::Client::new()
        .post(format!("{consul}/v1/connect/intentions"))
        .json(&body)
        .send()
        .await?;
    anyhow::ensure!(response.status().is_success(), "{response:?}");
    Ok(())
}
