//! `tunemesh up`'s mode: the model in memory, fed by the embedded bus, saved at a clean stop
//! and loaded at the next start, rebuilt by replaying that bus from the start when there is
//! no saved model (a first start, a crash).

use std::sync::Arc;
use std::time::Duration;

use tunemesh_discovery::{EmbeddedRegistry, Mesh, MeshSettings};
use tunemesh_events::Envelope;
use tunemesh_events::EventBus;
use tunemesh_events::embedded::{EmbeddedBus, EmbeddedSettings};
use tunemesh_proto::events::v1::PlaylistChangeKind;
use tunemesh_proto::reco::v1::recommendation_service_client::RecommendationServiceClient;
use tunemesh_proto::reco::v1::{RecommendRequest, SimilarTracksRequest};
use tunemesh_proto::tonic;
use tunemesh_proto::tonic::transport::Channel;
use tunemesh_reco::RecoSettings;
use tunemesh_runtime::identity::{Asserting, IdentitySettings, MeshIdentity};
use tunemesh_runtime::{ServiceContext, Storage};
use tunemesh_testkit::{SpawnedApp, grpc_settings, spawn_app};

use crate::support::{liked, play, playlist_changed, seed_sessions_on, signed, signing};

/// A fresh embedded service on `bus`, and a client that signs as the test gateway.
async fn start(
    bus: Arc<dyn EventBus>,
    data: &std::path::Path,
) -> anyhow::Result<(SpawnedApp, RecommendationServiceClient<Asserting<Channel>>)> {
    let identity = MeshIdentity::new(&IdentitySettings::for_tests()).expect("the test key");
    let ctx = ServiceContext {
        grpc: grpc_settings(),
        storage: Storage::Embedded {
            data_dir: data.to_owned(),
        },
        identity,
        mesh: Mesh::new(Arc::new(EmbeddedRegistry::new()), MeshSettings::default()),
        // One service alone, called directly: plaintext.
        connect: None,
        tls: None,
    };
    let app = spawn_app(
        tunemesh_reco::build(&RecoSettings::default(), &ctx, bus).await?,
        None,
    );
    let client = RecommendationServiceClient::new(signing(app.channel().await?));
    Ok((app, client))
}

/// Recommendations for `user` from a fresh embedded service on `bus`, once it has replayed.
async fn answers_of_a_fresh_start(
    bus: Arc<dyn EventBus>,
    data: &std::path::Path,
    user: &str,
) -> anyhow::Result<Vec<String>> {
    let (app, client) = start(bus, data).await?;
    let ask = || {
        let mut client = client.clone();
        let request = RecommendRequest {
            limit: 10,
            exclude_track_ids: Vec::new(),
        };
        let request = signed(user, request);
        async move { client.recommend(request).await }
    };
    // UNAVAILABLE until the replay has caught up.
    let answer = tunemesh_testkit::eventually(Duration::from_secs(30), || async {
        ask().await.map(tonic::Response::into_inner)
    })
    .await?;
    app.stop().await?;
    Ok(answer
        .recommendations
        .into_iter()
        .map(|r| r.track_id)
        .collect())
}

/// An embedded bus in `dir` holding two sessions (a1 a2 a3, b1 b2) and `listener`'s play of b1.
async fn seeded_bus(dir: &std::path::Path) -> anyhow::Result<Arc<dyn EventBus>> {
    let bus: Arc<dyn EventBus> =
        Arc::new(EmbeddedBus::open(&EmbeddedSettings::new(dir.join("events.sqlite"))).await?);
    seed_sessions_on(&bus, &[&["a1", "a2", "a3"], &["b1", "b2"]]).await?;
    bus.publish(&Envelope::from_event(&play("listener", "b1"))?)
        .await?;
    Ok(bus)
}

#[tokio::test]
async fn an_embedded_restart_rebuilds_the_model_from_the_bus() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let bus = seeded_bus(data.path()).await?;
    let first = answers_of_a_fresh_start(bus.clone(), data.path(), "listener").await?;
    assert_eq!(first.first().map(String::as_str), Some("b2"), "{first:?}");
    let again = answers_of_a_fresh_start(bus, data.path(), "listener").await?;
    assert_eq!(first, again);
    Ok(())
}

#[tokio::test]
async fn a_restart_resumes_with_the_saved_model_and_a_crash_replays() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let saved = data.path().join("reco").join("model.bin");
    let bus = seeded_bus(data.path()).await?;
    let first = answers_of_a_fresh_start(bus.clone(), data.path(), "listener").await?;
    assert!(saved.exists(), "a clean stop saves the model");
    let resumed = answers_of_a_fresh_start(bus.clone(), data.path(), "listener").await?;
    assert_eq!(first, resumed);
    // A crash leaves no saved model: the consumers start over and the replay answers the same.
    std::fs::remove_file(&saved)?;
    let replayed = answers_of_a_fresh_start(bus, data.path(), "listener").await?;
    assert_eq!(first, replayed);
    Ok(())
}

#[tokio::test]
async fn embedded_playlists_and_likes_reach_the_model() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let bus: Arc<dyn EventBus> = Arc::new(
        EmbeddedBus::open(&EmbeddedSettings::new(data.path().join("events.sqlite"))).await?,
    );
    seed_sessions_on(&bus, &[&["a1", "a2"]]).await?;
    let events = [
        playlist_changed(
            "pl",
            "owner",
            PlaylistChangeKind::Created,
            &["e1", "e2", "e3"],
        ),
        playlist_changed("pl", "owner", PlaylistChangeKind::ItemsRemoved, &["e3"]),
        liked("fan", &["a1"], true),
    ];
    for event in &events {
        bus.publish(&Envelope::from_event(event)?).await?;
    }
    let (app, client) = start(bus, data.path()).await?;
    let similar = tunemesh_testkit::eventually(Duration::from_secs(30), || async {
        let request = SimilarTracksRequest {
            track_id: "e1".to_owned(),
            limit: 10,
        };
        let request = signed("someone", request);
        let answer = client.clone().similar_tracks(request).await?.into_inner();
        let ids: Vec<String> = answer.tracks.into_iter().map(|t| t.track_id).collect();
        anyhow::Ok(ids)
    })
    .await?;
    assert_eq!(similar, ["e2"]);
    let request = RecommendRequest {
        limit: 1,
        exclude_track_ids: Vec::new(),
    };
    let answer = client.clone().recommend(signed("fan", request)).await?;
    let first = answer.into_inner().recommendations;
    assert_eq!(first.first().map(|r| r.track_id.as_str()), Some("a2"));
    app.stop().await?;
    Ok(())
}
