//! The production topology on one machine (`tunemesh cluster`): two replicas of every service
//! and of the gateway as separate processes on real Consul, NATS, PostgreSQL and Redis. A
//! listener signs up, music is ingested, streamed, put in a playlist, searched and
//! recommended; then, under steady load, one replica of each service and then one gateway is
//! SIGKILLed in turn and no request may fail (an audio range may resume; the client, like a
//! load balancer, tries the other gateway when one gives no answer) and no counted play may
//! miss its event.

mod client;
mod freeze;
mod load;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use tunemesh::cluster::{Cluster, ClusterOptions, SERVICES};
use tunemesh_proto::events::v1::PlayEvent;
use tunemesh_proto::playlist::v1::playlist_service_client::PlaylistServiceClient;
use tunemesh_proto::playlist::v1::{AddPlaylistItemsRequest, CreatePlaylistRequest};
use tunemesh_proto::prost::Message as _;
use tunemesh_proto::reco::v1::RecommendRequest;
use tunemesh_proto::reco::v1::recommendation_service_client::RecommendationServiceClient;
use tunemesh_proto::search::v1::SearchRequest;
use tunemesh_proto::search::v1::search_result::Item;
use tunemesh_proto::search::v1::search_service_client::SearchServiceClient;
use tunemesh_proto::tonic::Code;
use tunemesh_testkit::{eventually, servers, unique_prefix};

pub(crate) use client::Listener;
use client::music_folder;
use load::Fixture;

/// Relies on the gateway retrying idempotent player calls on another replica (its player
/// channel `.retrying([...CatalogService/, ...PlayerService/])`): without that, calls the
/// gateway sends to a just-killed player fail with 503 until its breaker or Consul drops it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_two_replica_cluster_loses_no_request_and_no_event_when_replicas_are_killed()
-> anyhow::Result<()> {
    tunemesh_testkit::init_tracing();
    let dir = tempfile::tempdir()?;
    // Two rungs of the ladder are enough to stream and keep ingest short.
    let options = test_options("cluster", 2, dir.path(), &["low", "normal"])?;
    let mut cluster = Cluster::start(options).await?;
    let result = scenario(&mut cluster, dir.path()).await;
    let stream_prefix = cluster.stream_prefix().to_owned();
    let stopped = cluster.stop().await;
    let js = async_nats::jetstream::new(tunemesh_testkit::nats_client().await?);
    tunemesh_testkit::delete_nats_streams(&js, &stream_prefix).await?;
    // Every process's Redis prefix starts with the cluster's name (`<name>:<service>:`).
    let redis = tunemesh_testkit::redis_client().await?;
    tunemesh_testkit::delete_redis_keys(&redis, &format!("{stream_prefix}:")).await?;
    if result.is_err() {
        eprintln!("cluster logs kept in {}", dir.keep().display());
    }
    result.and(stopped)
}

/// A cluster of `replicas` on the test servers, named after `label`, in `dir`, encoding only
/// the given `qualities`.
pub(crate) fn test_options(
    label: &str,
    replicas: usize,
    dir: &std::path::Path,
    qualities: &[&str],
) -> anyhow::Result<ClusterOptions> {
    let servers = servers();
    Ok(ClusterOptions {
        binary: env!("CARGO_BIN_EXE_tunemesh").into(),
        name: unique_prefix(label),
        replicas,
        dir: dir.to_owned(),
        postgres_url: servers.postgres_url.clone(),
        redis_url: servers.redis_url.clone(),
        nats_url: servers.nats_url.clone(),
        nats_bin: None,
        consul_bin: servers
            .consul_bin
            .clone()
            .context("run scripts/servers.sh")?,
        // The listeners here report whole plays at once, and many of them: the clock and
        // budget checks of plays have their own tests (hostile::plays).
        settings_toml: format!(
            "[player]\nqualities = {qualities:?}\nplay_clock_slack = \"1h\"\nplay_budget_burst = \"10000h\"\n"
        ),
        env: Vec::new(),
    })
}

async fn scenario(cluster: &mut Cluster, dir: &std::path::Path) -> anyhow::Result<()> {
    let listener = Listener::sign_up(cluster).await?;
    ingest(cluster, dir).await?;
    let fixture = first_listens(&listener).await?;

    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(load::run(listener.clone(), fixture, 4, stop.clone()));
    tokio::time::sleep(Duration::from_secs(2)).await;
    for service in SERVICES.into_iter().chain(["gateway"]) {
        cluster.kill(service, 0).await?;
        tokio::time::sleep(Duration::from_secs(4)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let outcome = load.await?;

    let failures = outcome.failures.lock().expect("not poisoned").clone();
    let requests = outcome.requests.load(Ordering::Relaxed);
    // Errors, not panics: the caller then stops the cluster, cleans up and keeps the logs.
    anyhow::ensure!(
        failures.is_empty(),
        "{} of {requests} requests failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    if outcome.reco_unimplemented.load(Ordering::Relaxed) {
        eprintln!("NOTE: reco-svc answers UNIMPLEMENTED; recommendations were not checked");
    }
    let counted = outcome.counted.lock().expect("not poisoned").clone();
    anyhow::ensure!(counted.len() > 5, "only {} plays counted", counted.len());
    // A killed player may hold outbox claims for their lease (30 s) before another publishes.
    eventually(Duration::from_secs(60), || async {
        let published = play_sessions_on_bus(cluster.stream_prefix()).await?;
        let missing: Vec<_> = counted.difference(&published).collect();
        anyhow::ensure!(missing.is_empty(), "no event yet for {missing:?}");
        Ok(())
    })
    .await
}

/// `tunemesh ingest` against one player replica, as an operator would.
pub(crate) async fn ingest(cluster: &Cluster, dir: &std::path::Path) -> anyhow::Result<()> {
    let music = music_folder(dir)?;
    let player = cluster.of("player").next().context("a player")?.addr;
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_tunemesh"))
        .arg("ingest")
        .arg(&music)
        .args(["--server", &format!("http://{player}")])
        // Its certificate comes from the cluster's Consul agent, as every replica's does.
        .env("TUNEMESH_CONSUL__ADDR", cluster.consul_addr())
        .current_dir(dir)
        .output()
        .await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    anyhow::ensure!(
        output.status.success() && stdout.contains("ingested 2, skipped 0, failed 0"),
        "ingest: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

/// The listener's first minutes, before anything is killed: browse, stream, build a playlist,
/// search, ask for recommendations.
async fn first_listens(listener: &Listener) -> anyhow::Result<Fixture> {
    let page = listener.get_json("/v1/tracks").await?;
    let tracks: Vec<(String, u64)> = page["tracks"]
        .as_array()
        .context("tracks")?
        .iter()
        .filter_map(|t| Some((t["id"].as_str()?.to_owned(), t["duration_ms"].as_u64()?)))
        .collect();
    anyhow::ensure!(tracks.len() == 2, "catalogue lists {page}");
    let streamed = listener.audio_range(&tracks[0].0, 0, 256 * 1024).await?;
    anyhow::ensure!(streamed == 256 * 1024, "streamed {streamed} bytes");
    let counted = listener
        .play("first-play", &tracks[0].0, tracks[0].1)
        .await?;
    anyhow::ensure!(counted, "a whole play did not count");

    let mut playlists = PlaylistServiceClient::new(listener.channel("playlist"));
    let created = playlists
        .create_playlist(listener.signed(CreatePlaylistRequest {
            request_id: "first-playlist".to_owned(),
            name: "Singularity".to_owned(),
            track_ids: vec![tracks[0].0.clone()],
            ..CreatePlaylistRequest::default()
        })?)
        .await?
        .into_inner()
        .playlist
        .context("created playlist")?;
    let added = playlists
        .add_playlist_items(listener.signed(AddPlaylistItemsRequest {
            playlist_id: created.id.clone(),
            expected_version: Some(created.version),
            track_ids: vec![tracks[1].0.clone()],
            position: None,
            request_id: "first-add".to_owned(),
        })?)
        .await?
        .into_inner();
    anyhow::ensure!(
        added.version == created.version + 1,
        "version {}",
        added.version
    );

    let title = page["tracks"][0]["title"].as_str().context("a title")?;
    let search = SearchServiceClient::new(listener.channel("search"));
    eventually(Duration::from_secs(20), || async {
        let answer = search
            .clone()
            .search(listener.signed(SearchRequest {
                query: title.to_owned(),
                ..SearchRequest::default()
            })?)
            .await?
            .into_inner();
        let found = answer.results.iter().any(|r| match &r.item {
            Some(Item::Track(track)) => track.id == tracks[0].0,
            _ => false,
        });
        anyhow::ensure!(found, "search has not indexed the track yet");
        Ok(())
    })
    .await?;
    // Each search replica indexes on its own: the load below expects every one of them to
    // know the catalogue, so wait until a run of searches (spread over the replicas by the
    // balancer) all find the query the load uses.
    eventually(Duration::from_secs(20), || async {
        for _ in 0..8 {
            let answer = search
                .clone()
                .search(listener.signed(SearchRequest {
                    query: load::SEARCH_QUERY.to_owned(),
                    ..SearchRequest::default()
                })?)
                .await?
                .into_inner();
            anyhow::ensure!(!answer.results.is_empty(), "a search replica is behind");
        }
        Ok(())
    })
    .await?;

    let reco = RecommendationServiceClient::new(listener.channel("reco"))
        .recommend(listener.signed(RecommendRequest {
            limit: 10,
            ..RecommendRequest::default()
        })?)
        .await;
    match reco {
        Ok(_) => {}
        Err(status) if status.code() == Code::Unimplemented => {
            // reco-svc is being written (issue 7/8); this step checks it once it lands.
            eprintln!("NOTE: reco-svc answers UNIMPLEMENTED; recommendation step skipped");
        }
        Err(status) => return Err(status.into()),
    }
    Ok(Fixture {
        tracks,
        playlist_id: created.id,
        range_bytes: 64 * 1024,
        additions: false,
    })
}

/// The play session ids of every play event on the cluster's stream, read by sequence.
async fn play_sessions_on_bus(prefix: &str) -> anyhow::Result<BTreeSet<String>> {
    let js = async_nats::jetstream::new(tunemesh_testkit::nats_client().await?);
    let mut stream = js.get_stream(format!("{prefix}_events")).await?;
    let last = stream.info().await?.state.last_sequence;
    let subject = format!("{prefix}.{}", tunemesh_proto::subjects::PLAY);
    let mut sessions = BTreeSet::new();
    for sequence in 1..=last {
        let Ok(message) = stream.get_raw_message(sequence).await else {
            continue;
        };
        if message.subject.as_str() == subject {
            let event = PlayEvent::decode(message.payload)?;
            if event.counted {
                sessions.insert(event.play_session_id);
            }
        }
    }
    Ok(sessions)
}
