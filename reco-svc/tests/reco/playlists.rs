//! Likes and playlists teach the model (`events.playlist` over real JetStream, state in
//! Redis): what they add shows in `Recommend`, `Radio` and `SimilarTracks`, a redelivery
//! changes nothing twice, and an unlike, a removal or a deletion takes the signal back.

use std::time::Duration;

use tunemesh_proto::events::v1::PlaylistChangeKind::{Created, Deleted, ItemsAdded, ItemsRemoved};
use tunemesh_proto::reco::v1::RecommendationReasonKind;
use tunemesh_reco::model::playlist::pair_weight;
use tunemesh_reco::store::{RecoStore as _, SetKey};

use crate::support::{TestBus, TestReco, ids, liked, playlist_changed, seed_sessions, track_added};

/// Catalogue facts for `tracks`, each by an artist of its own (no same-artist pull).
async fn catalogue(bus: &TestBus, tracks: &[&str]) -> anyhow::Result<()> {
    for track in tracks {
        bus.publish(&track_added(track, &format!("artist-{track}")))
            .await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_like_steers_recommend_and_radio_and_an_unlike_takes_it_back() -> anyhow::Result<()> {
    let bus = TestBus::new("reco likes").await?;
    catalogue(&bus, &["s", "x", "y", "a1", "a2"]).await?;
    // On s's station x leads y clearly (played with s half as often again); a1 goes with a2.
    seed_sessions(
        &bus,
        &[
            &["s", "x", "y"],
            &["s", "x", "y"],
            &["s", "x"],
            &["a1", "a2"],
        ],
    )
    .await?;
    let reco = TestReco::start(&bus, "reco likes").await?;
    reco.settled(&bus).await?;
    let (recommended, radio) = (reco.ids("fan", 10).await?, reco.radio("fan", "s").await?);
    assert_eq!(ids(&radio)[..3], ["s", "x", "y"], "{radio:?}");

    bus.publish(&liked("fan", &["a1"], true)).await?;
    reco.settled(&bus).await?;
    let now = reco.recommend("fan", 10).await?;
    let first = now.first().expect("recommendations");
    assert_eq!(first.track_id, "a2", "{now:?}");
    let reason = first.reason.clone().unwrap_or_default();
    assert_eq!(reason.kind(), RecommendationReasonKind::BecauseYouPlayed);
    assert_eq!(reason.related_id, "a1");

    bus.publish(&liked("fan", &["y"], true)).await?;
    reco.settled(&bus).await?;
    // The liked y now comes before x on the fan's station, and only on theirs.
    let station = ids(&reco.radio("fan", "s").await?);
    assert_eq!(station[..3], ["s", "y", "x"], "{station:?}");
    assert_eq!(ids(&reco.radio("stranger", "s").await?), ids(&radio));

    bus.publish(&liked("fan", &["a1", "y"], false)).await?;
    reco.settled(&bus).await?;
    assert_eq!(reco.ids("fan", 10).await?, recommended);
    assert_eq!(ids(&reco.radio("fan", "s").await?), ids(&radio));
    let taste = reco.store.top(&[SetKey::Taste("fan".into())], 10).await?;
    assert!(taste[0].entries.is_empty(), "{taste:?}");
    reco.cleanup().await?;
    bus.cleanup().await
}

#[tokio::test]
async fn tracks_sharing_playlists_become_similar_until_taken_out() -> anyhow::Result<()> {
    let bus = TestBus::new("reco playlists").await?;
    catalogue(&bus, &["p1", "p2", "p3", "q1", "q2"]).await?;
    let reco = TestReco::start(&bus, "reco playlists").await?;
    reco.settled(&bus).await?;
    assert!(reco.similar("p1").await?.is_empty());
    let before = reco.ids("curator", 10).await?;

    bus.publish(&playlist_changed("pl-a", "curator", Created, &["p1", "p2"]))
        .await?;
    bus.publish(&playlist_changed("pl-b", "someone", Created, &["q1", "q2"]))
        .await?;
    bus.publish(&playlist_changed(
        "pl-b",
        "someone",
        ItemsAdded,
        &["p1", "p3"],
    ))
    .await?;
    reco.settled(&bus).await?;
    let similar = reco.similar("p1").await?;
    let mut found = ids(&similar);
    found.sort();
    assert_eq!(found, ["p2", "p3", "q1", "q2"], "{similar:?}");
    let reason = similar[0].reason.clone().unwrap_or_default();
    assert_eq!(reason.kind(), RecommendationReasonKind::InSamePlaylists);
    // A two-track playlist's pair outweighs one formed in a bigger playlist.
    assert_eq!(similar[0].track_id, "p2");
    // The curator's own playlist is their taste: its tracks lead their recommendations.
    let personal = reco.recommend("curator", 10).await?;
    assert_eq!(
        personal[0].reason.clone().unwrap_or_default().kind(),
        RecommendationReasonKind::InSamePlaylists,
        "{personal:?}"
    );
    let radio = ids(&reco.radio("anyone", "p1").await?);
    assert_eq!(radio[..2], ["p1", "p2"], "{radio:?}");

    bus.publish(&playlist_changed("pl-a", "curator", ItemsRemoved, &["p2"]))
        .await?;
    bus.publish(&playlist_changed("pl-b", "someone", Deleted, &[]))
        .await?;
    reco.settled(&bus).await?;
    assert!(reco.similar("p1").await?.is_empty());
    assert_eq!(reco.ids("curator", 10).await?, before);
    for track in ["p1", "p2", "p3", "q1", "q2"] {
        let related = reco.store.top(&[SetKey::Related(track.into())], 10).await?;
        assert!(related[0].entries.is_empty(), "{track}: {related:?}");
    }
    // A late add to the deleted playlist changes nothing.
    bus.publish(&playlist_changed("pl-b", "someone", ItemsAdded, &["p2"]))
        .await?;
    reco.settled(&bus).await?;
    assert!(reco.similar("p2").await?.is_empty());
    reco.cleanup().await?;
    bus.cleanup().await
}

#[tokio::test]
async fn a_redelivered_playlist_event_counts_once_and_a_removal_before_its_add_leaves_nothing()
-> anyhow::Result<()> {
    // A short duplicate window lets a second copy through JetStream to the consumer.
    let bus = TestBus::with_window("reco pl dup", Duration::from_millis(200)).await?;
    let reco = TestReco::start(&bus, "reco pl dup").await?;
    let like = liked("fan", &["t1"], true);
    let created = playlist_changed("pl", "owner", Created, &["t1", "t2"]);
    assert!(bus.publish(&like).await?);
    assert!(bus.publish(&created).await?);
    reco.settled(&bus).await?;
    tunemesh_testkit::eventually(Duration::from_secs(5), || async {
        anyhow::ensure!(
            bus.publish(&like).await?,
            "still inside the duplicate window"
        );
        anyhow::ensure!(
            bus.publish(&created).await?,
            "still inside the duplicate window"
        );
        Ok(())
    })
    .await?;
    reco.settled(&bus).await?;
    let (t1, t2, t3) = ("t1".to_owned(), "t2".to_owned(), "t3".to_owned());
    let likes = SetKey::Likes("fan".into());
    assert_eq!(
        reco.store.scores(&likes, std::slice::from_ref(&t1)).await?,
        [Some(1.0)]
    );
    let pair = reco.store.scores(&SetKey::Related(t1), &[t2]).await?;
    assert_eq!(pair, [Some(pair_weight(2))]);

    // Delivered out of order: the removal lands first and changes nothing but a count.
    bus.publish(&playlist_changed("pl2", "owner", ItemsRemoved, &["t3"]))
        .await?;
    bus.publish(&playlist_changed("pl2", "owner", ItemsAdded, &["t3", "t1"]))
        .await?;
    reco.settled(&bus).await?;
    let related = reco.store.top(&[SetKey::Related("t3".into())], 10).await?;
    assert!(related[0].entries.is_empty(), "{related:?}");
    let items = SetKey::PlaylistItems("pl2".into());
    assert_eq!(reco.store.scores(&items, &[t3]).await?, [None::<f64>]);
    reco.cleanup().await?;
    bus.cleanup().await
}
