//! Listening history end to end: plays published on JetStream show in `RecentlyPlayed`,
//! `MostPlayedAlbums` and `TopTracks` within a second, a replay from the start rebuilds the
//! same answers, and the RPCs refuse what they must.

use std::time::{Duration, SystemTime};

use tunemesh_proto::reco::v1::{
    MostPlayedAlbumsRequest, RecentlyPlayedRequest, RecentlyPlayedResponse, TopTracksRequest,
};
use tunemesh_proto::tonic::{self, Request};

use crate::support::{TestBus, TestReco, play, play_at, skip, track_on_album};

/// The freshness the issue asks for: a play shows in the history within this.
const FRESH: Duration = Duration::from_secs(1);

async fn recent(reco: &TestReco, user: &str) -> anyhow::Result<RecentlyPlayedResponse> {
    let request = reco.signed(user, RecentlyPlayedRequest { limit: 0 })?;
    Ok(reco
        .client
        .clone()
        .recently_played(request)
        .await?
        .into_inner())
}

/// Track ids, then album ids, of `user`'s recent history.
async fn recent_ids(reco: &TestReco, user: &str) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let answer = recent(reco, user).await?;
    Ok((
        answer.tracks.into_iter().map(|t| t.track_id).collect(),
        answer.albums.into_iter().map(|a| a.album_id).collect(),
    ))
}

/// `artist`'s top tracks with their plays.
async fn top(reco: &TestReco, artist: &str) -> anyhow::Result<Vec<(String, u64)>> {
    let request = TopTracksRequest {
        artist_id: artist.to_owned(),
        limit: 0,
    };
    let answer = reco
        .client
        .clone()
        .top_tracks(reco.signed("anyone", request)?)
        .await?;
    Ok(answer
        .into_inner()
        .tracks
        .into_iter()
        .map(|t| (t.track_id, t.plays))
        .collect())
}

/// Every history answer for `users` and `artists`, as text to compare.
async fn everything(reco: &TestReco, users: &[&str], artists: &[&str]) -> anyhow::Result<String> {
    let mut out = String::new();
    for user in users {
        let most = reco.signed(user, MostPlayedAlbumsRequest { limit: 0 })?;
        let most = reco.client.clone().most_played_albums(most).await?;
        out.push_str(&format!(
            "{user}: {:?} {:?}\n",
            recent(reco, user).await?,
            most.into_inner()
        ));
    }
    for artist in artists {
        out.push_str(&format!("{artist}: {:?}\n", top(reco, artist).await?));
    }
    Ok(out)
}

/// Waits at most [`FRESH`] for `check` to hold on `user`'s recent history.
async fn within_a_second(
    reco: &TestReco,
    user: &str,
    check: impl Fn(&(Vec<String>, Vec<String>)) -> bool,
) -> anyhow::Result<()> {
    let mut last = None;
    let reached = tokio::time::timeout(FRESH, async {
        loop {
            let now = recent_ids(reco, user).await?;
            if check(&now) {
                return anyhow::Ok(());
            }
            last = Some(now);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    reached.map_err(|_| anyhow::anyhow!("not within {FRESH:?}; last {last:?}"))?
}

#[tokio::test]
async fn a_play_shows_in_the_history_within_a_second() -> anyhow::Result<()> {
    let bus = TestBus::new("reco history fresh").await?;
    for (track, album) in [("h1", "x"), ("h2", "y"), ("h3", "x")] {
        bus.publish(&track_on_album(track, "artist", album)).await?;
    }
    let reco = TestReco::start(&bus, "reco history fresh").await?;
    reco.settled(&bus).await?;
    assert_eq!(recent_ids(&reco, "listener").await?, (vec![], vec![]));

    bus.publish(&play("listener", "h1")).await?;
    within_a_second(&reco, "listener", |(tracks, _)| tracks == &["h1"]).await?;
    bus.publish(&play("listener", "h2")).await?;
    within_a_second(&reco, "listener", |(tracks, albums)| {
        tracks == &["h2", "h1"] && albums == &["y", "x"]
    })
    .await?;
    // Played again, h1 moves to the front; a skip is not a play.
    bus.publish(&skip("listener", "h3")).await?;
    bus.publish(&play("listener", "h1")).await?;
    within_a_second(&reco, "listener", |(tracks, albums)| {
        tracks == &["h1", "h2"] && albums == &["x", "y"]
    })
    .await?;
    reco.settled(&bus).await?;
    let expected = [("h1", 2), ("h2", 1)].map(|(t, n)| (t.to_owned(), n));
    assert_eq!(top(&reco, "artist").await?, expected);
    let most = reco.signed("listener", MostPlayedAlbumsRequest { limit: 1 })?;
    let most = reco
        .client
        .clone()
        .most_played_albums(most)
        .await?
        .into_inner();
    assert_eq!(most.albums.len(), 1);
    assert_eq!(most.albums[0].album_id, "x");
    assert!((most.albums[0].plays - 2.0).abs() < 0.01, "{most:?}");
    // Another listener's history is theirs alone.
    assert_eq!(recent_ids(&reco, "someone else").await?, (vec![], vec![]));
    reco.cleanup().await?;
    bus.cleanup().await
}

#[tokio::test]
async fn a_replay_from_the_start_rebuilds_the_same_history() -> anyhow::Result<()> {
    let bus = TestBus::new("reco history replay").await?;
    let start = SystemTime::now() - Duration::from_secs(3600);
    let minutes = |n: u64| start + Duration::from_secs(60 * n);
    // Plays published before their tracks' catalogue events, and after.
    bus.publish(&play_at("ann", "r1", minutes(0))).await?;
    for (track, artist, album) in [("r1", "a", "x"), ("r2", "a", "x"), ("r3", "b", "y")] {
        bus.publish(&track_on_album(track, artist, album)).await?;
    }
    for (user, track, at) in [
        ("ann", "r3", 1),
        ("ann", "r2", 2),
        ("bob", "r1", 3),
        ("ann", "r1", 4),
    ] {
        bus.publish(&play_at(user, track, minutes(at))).await?;
    }
    bus.publish(&skip("bob", "r3")).await?;
    let first = TestReco::start(&bus, "reco history replay a").await?;
    let second = TestReco::start(&bus, "reco history replay b").await?;
    first.settled(&bus).await?;
    second.settled(&bus).await?;
    let (users, artists) = (["ann", "bob", "nobody"], ["a", "b", "unknown"]);
    let answers = everything(&first, &users, &artists).await?;
    assert_eq!(answers, everything(&second, &users, &artists).await?);
    let (tracks, albums) = recent_ids(&first, "ann").await?;
    assert_eq!(
        (tracks, albums),
        (
            vec!["r1".into(), "r2".into(), "r3".into()],
            vec!["x".into(), "y".into()]
        )
    );
    let expected = [("r1", 3), ("r2", 1)].map(|(t, n)| (t.to_owned(), n));
    assert_eq!(top(&first, "a").await?, expected);
    first.cleanup().await?;
    second.cleanup().await?;
    bus.cleanup().await
}

#[tokio::test]
async fn history_requests_are_refused_with_the_documented_codes() -> anyhow::Result<()> {
    let bus = TestBus::new("reco history errors").await?;
    let reco = TestReco::start(&bus, "reco history errors").await?;
    let mut client = reco.client.clone();
    let anonymous = client
        .recently_played(Request::new(RecentlyPlayedRequest::default()))
        .await;
    assert_eq!(
        anonymous.expect_err("no identity").code(),
        tonic::Code::Unauthenticated
    );
    let anonymous = client
        .most_played_albums(Request::new(MostPlayedAlbumsRequest::default()))
        .await;
    assert_eq!(
        anonymous.expect_err("no identity").code(),
        tonic::Code::Unauthenticated
    );
    let too_many = reco.signed("u", RecentlyPlayedRequest { limit: 51 })?;
    let status = client.recently_played(too_many).await.expect_err("limit");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let too_many = reco.signed("u", MostPlayedAlbumsRequest { limit: 51 })?;
    let status = client
        .most_played_albums(too_many)
        .await
        .expect_err("limit");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let hostile = TopTracksRequest {
        artist_id: "x\n".repeat(40),
        limit: 0,
    };
    let status = client.top_tracks(reco.signed("u", hostile)?).await;
    assert_eq!(status.expect_err("id").code(), tonic::Code::InvalidArgument);
    let unknown = TopTracksRequest {
        artist_id: "nobody-knows".to_owned(),
        limit: 0,
    };
    let answer = client.top_tracks(reco.signed("u", unknown)?).await?;
    assert!(answer.into_inner().tracks.is_empty());
    reco.cleanup().await?;
    bus.cleanup().await
}
