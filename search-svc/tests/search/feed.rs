//! The event feed on real JetStream: replay before SERVING, freshness, updates, rebuilds
//! that match the live index, popularity from play events.

use std::time::Duration;

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tunemesh_proto::search::v1::SearchResultType;
use tunemesh_proto::search::v1::search_service_server::SERVICE_NAME;
use tunemesh_testkit::{assert_eventually, eventually};

use crate::support::{TestBus, TestSearch, chinook_tracks, play, track, track_updated};

/// The freshness target of the issue: a new track is searchable within a second.
const FRESHNESS: Duration = Duration::from_secs(1);

#[tokio::test]
async fn a_fresh_replica_serves_only_once_it_has_replayed_the_whole_stream() -> anyhow::Result<()> {
    let bus = TestBus::new("search replay").await?;
    let tracks = chinook_tracks()?;
    bus.add_tracks(&tracks).await?;
    let search = TestSearch::start(&bus).await?;
    let mut health = HealthClient::new(search.app.channel().await?);
    let serving = || async {
        let status = health
            .clone()
            .check(HealthCheckRequest {
                service: SERVICE_NAME.to_owned(),
            })
            .await?
            .into_inner()
            .status();
        anyhow::ensure!(status == ServingStatus::Serving, "still {status:?}");
        Ok(())
    };
    eventually(Duration::from_secs(60), serving).await?;
    // The moment it says SERVING, the last event of the stream is already searchable.
    let last = tracks.last().expect("tracks");
    let found = search.ids(&last.title, &[SearchResultType::Track]).await?;
    assert!(found.contains(&format!("t:{}", last.id)), "{found:?}");
    let overall = health
        .check(HealthCheckRequest::default())
        .await?
        .into_inner()
        .status();
    assert_eq!(overall, ServingStatus::Serving);
    bus.cleanup().await
}

#[tokio::test]
async fn an_added_track_is_searchable_within_a_second_and_updates_replace_it() -> anyhow::Result<()>
{
    let bus = TestBus::new("search freshness").await?;
    let search = TestSearch::start(&bus).await?;
    search.wait_ready().await?;

    let mut song = track(
        "fresh-1",
        "Zyxwv Quokka Serenade",
        ("fresh-artist", "Quokka Collective"),
        ("fresh-album", "Marsupial Nights"),
        "Ambient",
    );
    bus.publish(&crate::support::track_added(song.clone()))
        .await?;
    assert_eventually!(
        search
            .ids("quokka seren", &[])
            .await
            .unwrap_or_default()
            .contains(&"t:fresh-1".to_owned()),
        timeout = FRESHNESS,
        "a new track was not searchable within {FRESHNESS:?}"
    );

    song.title = "Wombat Lullaby".to_owned();
    song.update_time = Some(crate::support::now());
    bus.publish(&track_updated(song)).await?;
    assert_eventually!(
        search
            .ids("wombat lullaby", &[])
            .await
            .unwrap_or_default()
            .contains(&"t:fresh-1".to_owned()),
        timeout = FRESHNESS,
        "an updated title was not searchable within {FRESHNESS:?}"
    );
    let old = search.ids("serenade", &[SearchResultType::Track]).await?;
    assert!(
        !old.contains(&"t:fresh-1".to_owned()),
        "old title still found: {old:?}"
    );
    // The album and artist documents follow their tracks.
    let artists = search
        .ids("quokka collective", &[SearchResultType::Artist])
        .await?;
    assert_eq!(artists.first().map(String::as_str), Some("r:fresh-artist"));
    bus.cleanup().await
}

#[tokio::test]
async fn a_rebuild_by_replay_answers_like_the_live_index() -> anyhow::Result<()> {
    let bus = TestBus::new("search rebuild").await?;
    let live = TestSearch::start(&bus).await?;
    live.wait_ready().await?;
    // The live replica indexes the catalogue as it arrives, in many small commits.
    let tracks = chinook_tracks()?;
    for chunk in tracks.chunks(500) {
        bus.add_tracks(chunk).await?;
    }
    let last = tracks.last().expect("tracks");
    assert_eventually!(
        live.ids(&last.title, &[])
            .await
            .unwrap_or_default()
            .contains(&format!("t:{}", last.id)),
        timeout = Duration::from_secs(30)
    );
    let rebuilt = TestSearch::start(&bus).await?;
    rebuilt.wait_ready().await?;
    let queries = [
        "metallica",
        "love",
        "bohem",
        "stairway to heaven",
        "acdc",
        "motorhead",
        "rock",
        "the",
        "garota de ipanema",
        "smoke on the watr",
        "iron maidn",
        "you",
    ];
    for query in queries {
        let live_ids = live.ids(query, &[]).await?;
        let rebuilt_ids = rebuilt.ids(query, &[]).await?;
        assert_eq!(live_ids, rebuilt_ids, "{query:?} differs after a rebuild");
    }
    bus.cleanup().await
}

#[tokio::test]
async fn counted_plays_lift_a_track_above_an_equally_good_match() -> anyhow::Result<()> {
    let bus = TestBus::new("search popularity").await?;
    let quiet = track(
        "pop-quiet",
        "Paper Lanterns",
        ("pop-a", "Alder"),
        ("pop-x", "One"),
        "Pop",
    );
    let loved = track(
        "pop-loved",
        "Paper Lanterns",
        ("pop-b", "Birch"),
        ("pop-y", "Two"),
        "Pop",
    );
    bus.add_tracks(&[quiet, loved]).await?;
    let search = TestSearch::start(&bus).await?;
    search.wait_ready().await?;

    // Plays that did not count (skipped early) change nothing.
    for _ in 0..5 {
        let mut skipped = play("pop-quiet");
        skipped.counted = false;
        bus.publish(&skipped).await?;
    }
    for _ in 0..20 {
        bus.publish(&play("pop-loved")).await?;
    }
    assert_eventually!(
        search
            .ids("paper lanterns", &[SearchResultType::Track])
            .await
            .unwrap_or_default()
            .first()
            == Some(&"t:pop-loved".to_owned()),
        timeout = Duration::from_secs(5),
        "the played track never ranked first"
    );
    // A replayed play event (same id) is counted once: JetStream and the feed both dedup.
    let again = play("pop-quiet");
    for _ in 0..30 {
        bus.publish(&again).await?;
    }
    let ranked = search
        .ids("paper lanterns", &[SearchResultType::Track])
        .await?;
    assert_eq!(ranked.first().map(String::as_str), Some("t:pop-loved"));
    bus.cleanup().await
}
