//! The service end to end: plays and skips through JetStream change answers within a
//! second, duplicates count once, a replay rebuilds the same answers, and the RPCs refuse
//! what they must.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use tunemesh_proto::reco::v1::{
    RadioRequest, RecommendRequest, RecommendationReasonKind, SimilarTracksRequest,
};
use tunemesh_proto::tonic::{self, Request};
use tunemesh_reco::store::{RecoStore as _, SetKey};
use tunemesh_testkit::assert_eventually;

use crate::support::{TestBus, TestReco, play, play_at, seed_sessions, skip, track_added};

/// The freshness the issue asks for: a play shows in the next answers within this.
const FRESH: Duration = Duration::from_secs(1);

#[tokio::test]
async fn a_play_changes_that_users_recommendations_within_a_second() -> anyhow::Result<()> {
    let bus = TestBus::new("reco fresh").await?;
    seed_sessions(&bus, &[&["a1", "a2", "a3"], &["b1", "b2", "b3"]]).await?;
    let reco = TestReco::start(&bus, "reco fresh").await?;
    // Ready means the consumer reached the stream's end, not that every seeded play is in
    // the answers yet: a change caused by a late seed would pass for the play's (it failed
    // so under load, b1 still listed). Start from the answer that holds all six tracks.
    tunemesh_testkit::eventually(Duration::from_secs(5), || async {
        let ids = reco.ids("listener", 10).await?;
        anyhow::ensure!(ids.len() == 6, "seeds not all applied yet: {ids:?}");
        Ok(())
    })
    .await?;
    let before = reco.ids("listener", 10).await?;

    bus.publish(&play("listener", "b1")).await?;
    // The play shows when b1 leaves the answer: a change that keeps b1 is a seed still
    // being applied (scores of the six settle after all six are listed), not the play.
    let mut last = before.clone();
    let changed = tokio::time::timeout(FRESH, async {
        loop {
            last = reco.ids("listener", 10).await?;
            if !last.contains(&"b1".to_owned()) {
                return anyhow::Ok(last.clone());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .map_err(|_| {
        anyhow::anyhow!("the play did not show within {FRESH:?}: {before:?} then {last:?}")
    })??;
    let mut head = changed.get(..2).unwrap_or_default().to_vec();
    head.sort();
    assert_eq!(head, ["b2", "b3"], "b1's neighbours lead: {changed:?}");
    let first = reco.recommend("listener", 1).await?;
    let reason = first[0].reason.clone().unwrap_or_default();
    assert_eq!(
        reason.kind,
        RecommendationReasonKind::BecauseYouPlayed as i32
    );
    assert_eq!(reason.related_id, "b1");
    reco.cleanup().await?;
    bus.cleanup().await
}

#[tokio::test]
async fn the_same_event_twice_has_the_effect_of_once() -> anyhow::Result<()> {
    // A short duplicate window lets the second copy through JetStream to the consumer.
    let bus = TestBus::with_window("reco dup", Duration::from_millis(200)).await?;
    let reco = TestReco::start(&bus, "reco dup").await?;
    let event = play("listener", "t1");
    assert!(bus.publish(&event).await?);
    let popularity = || async {
        let scores = reco
            .store
            .scores(&SetKey::Popularity, &["t1".to_owned()])
            .await?;
        anyhow::Ok(scores[0])
    };
    assert_eventually!(popularity().await.ok().flatten() == Some(1.0));
    tunemesh_testkit::eventually(Duration::from_secs(5), || async {
        anyhow::ensure!(
            bus.publish(&event).await?,
            "still inside the duplicate window"
        );
        Ok(())
    })
    .await?;
    let second = play("listener", "t2");
    bus.publish(&second).await?;
    // Events of one consumer are applied in order: once the later one shows, the copy was
    // handled before it.
    let t2 = || async {
        let scores = reco
            .store
            .scores(&SetKey::Popularity, &["t2".to_owned()])
            .await?;
        anyhow::Ok(scores[0].is_some())
    };
    assert_eventually!(t2().await.unwrap_or(false));
    assert_eq!(popularity().await?, Some(1.0));
    reco.cleanup().await?;
    bus.cleanup().await
}

#[tokio::test]
async fn a_replay_from_the_start_rebuilds_the_same_answers() -> anyhow::Result<()> {
    let bus = TestBus::new("reco replay").await?;
    for (track, artist) in [("a1", "x"), ("a2", "x"), ("a3", "y"), ("b1", "z")] {
        bus.publish(&track_added(track, artist)).await?;
    }
    seed_sessions(&bus, &[&["a1", "a2", "a3"], &["b1", "b2", "a1"]]).await?;
    let start = SystemTime::now();
    for (i, track) in ["a1", "b2", "a3"].iter().enumerate() {
        let at = start + Duration::from_secs(60 * i as u64);
        bus.publish(&play_at("listener", track, at)).await?;
    }
    bus.publish(&skip("listener", "a2")).await?;
    let first = TestReco::start(&bus, "reco replay a").await?;
    let second = TestReco::start(&bus, "reco replay b").await?;
    for user in ["listener", "other-0-0", "other-1-2", "newcomer"] {
        let ids = first.ids(user, 20).await?;
        assert!(!ids.is_empty(), "{user} gets something");
        assert_eq!(ids, second.ids(user, 20).await?, "answers for {user}");
    }
    for track in ["a1", "b1"] {
        let similar = |reco: &TestReco| {
            let request = reco.signed(
                "listener",
                SimilarTracksRequest {
                    track_id: track.to_owned(),
                    limit: 10,
                },
            );
            let mut client = reco.client.clone();
            async move { anyhow::Ok(client.similar_tracks(request?).await?.into_inner().tracks) }
        };
        let (a, b) = (similar(&first).await?, similar(&second).await?);
        let ids = |v: &[tunemesh_proto::reco::v1::Recommendation]| {
            v.iter().map(|r| r.track_id.clone()).collect::<Vec<_>>()
        };
        assert_eq!(ids(&a), ids(&b), "similar to {track}");
    }
    first.cleanup().await?;
    second.cleanup().await?;
    bus.cleanup().await
}

#[tokio::test]
async fn a_new_user_gets_popular_tracks() -> anyhow::Result<()> {
    let bus = TestBus::new("reco cold").await?;
    for u in 0..5 {
        bus.publish(&play(&format!("fan-{u}"), "hit")).await?;
    }
    bus.publish(&play("fan-0", "niche")).await?;
    let reco = TestReco::start(&bus, "reco cold").await?;
    let answer = reco.recommend("newcomer", 10).await?;
    assert_eq!(answer[0].track_id, "hit");
    assert_eq!(answer[0].score, 1.0);
    let reason = answer[0].reason.clone().unwrap_or_default();
    assert_eq!(reason.kind, RecommendationReasonKind::Popular as i32);
    assert_eq!(answer[1].track_id, "niche");
    reco.cleanup().await?;
    bus.cleanup().await
}

#[tokio::test]
async fn a_skipped_track_drops() -> anyhow::Result<()> {
    let bus = TestBus::new("reco skip").await?;
    seed_sessions(&bus, &[&["a1", "a2", "a3"]]).await?;
    bus.publish(&play("listener", "a1")).await?;
    let reco = TestReco::start(&bus, "reco skip").await?;
    assert!(reco.ids("listener", 10).await?.contains(&"a2".to_owned()));
    bus.publish(&skip("listener", "a2")).await?;
    assert_eventually!(
        reco.ids("listener", 10)
            .await
            .is_ok_and(|ids| !ids.contains(&"a2".to_owned()))
    );
    reco.cleanup().await?;
    bus.cleanup().await
}

#[tokio::test]
async fn radio_never_ends_and_does_not_repeat_within_its_window() -> anyhow::Result<()> {
    let bus = TestBus::new("reco radio").await?;
    let tracks: Vec<String> = (0..80).map(|i| format!("r{i}")).collect();
    let names: Vec<&str> = tracks.iter().map(String::as_str).collect();
    seed_sessions(&bus, &[&names[..40], &names[40..]]).await?;
    let reco = TestReco::start(&bus, "reco radio").await?;
    let mut token = String::new();
    let mut played: Vec<String> = Vec::new();
    for page in 0..8 {
        let request = reco.signed(
            "listener",
            RadioRequest {
                seed_track_id: "r0".to_owned(),
                limit: 10,
                page_token: token.clone(),
            },
        )?;
        let response = reco.client.clone().radio(request).await?.into_inner();
        assert_eq!(response.tracks.len(), 10, "page {page}");
        assert!(!response.next_page_token.is_empty());
        if page == 0 {
            assert_eq!(response.tracks[0].track_id, "r0");
        }
        played.extend(response.tracks.into_iter().map(|t| t.track_id));
        token = response.next_page_token;
    }
    for window in played.windows(50) {
        let distinct: HashSet<&String> = window.iter().collect();
        assert_eq!(distinct.len(), 50, "a repeat within 50: {window:?}");
    }
    reco.cleanup().await?;
    bus.cleanup().await
}

#[tokio::test]
async fn requests_are_refused_with_the_documented_codes() -> anyhow::Result<()> {
    let bus = TestBus::new("reco errors").await?;
    bus.publish(&play("someone", "known")).await?;
    let reco = TestReco::start(&bus, "reco errors").await?;
    let mut client = reco.client.clone();
    let anonymous = client
        .recommend(Request::new(RecommendRequest::default()))
        .await
        .expect_err("no identity");
    assert_eq!(anonymous.code(), tonic::Code::Unauthenticated);
    let too_many = RecommendRequest {
        limit: 101,
        exclude_track_ids: Vec::new(),
    };
    let status = client
        .recommend(reco.signed("u", too_many)?)
        .await
        .expect_err("limit");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let radio = |seed: &str, token: &str| RadioRequest {
        seed_track_id: seed.to_owned(),
        limit: 5,
        page_token: token.to_owned(),
    };
    let unknown = client.radio(reco.signed("u", radio("nope", ""))?).await;
    assert_eq!(unknown.expect_err("unknown").code(), tonic::Code::NotFound);
    let forged = client.radio(reco.signed("u", radio("known", "%%%"))?).await;
    assert_eq!(
        forged.expect_err("token").code(),
        tonic::Code::InvalidArgument
    );
    let hostile = SimilarTracksRequest {
        track_id: "x\n".repeat(40),
        limit: 0,
    };
    let status = client.similar_tracks(reco.signed("u", hostile)?).await;
    assert_eq!(status.expect_err("id").code(), tonic::Code::InvalidArgument);
    reco.cleanup().await?;
    bus.cleanup().await
}

#[tokio::test]
async fn what_listeners_played_next_after_the_latest_play_leads() -> anyhow::Result<()> {
    let bus = TestBus::new("reco next").await?;
    // x is co-listened with co and with then alike; only then came after it.
    seed_sessions(&bus, &[&["co", "x"], &["x", "then"]]).await?;
    let reco = TestReco::start(&bus, "reco next").await?;
    bus.publish(&play("listener", "x")).await?;
    assert_eventually!(reco.ids("listener", 10).await.is_ok_and(|ids| {
        ids.first().map(String::as_str) == Some("then") && ids.contains(&"co".to_owned())
    }));
    let first = reco.recommend("listener", 1).await?;
    let reason = first[0].reason.clone().unwrap_or_default();
    assert_eq!(reason.related_id, "x");
    reco.cleanup().await?;
    bus.cleanup().await
}
