//! Public playlists from playlist events on real JetStream: found by a typo'd name within a
//! second of their creation, gone within a second of turning private, never brought back by
//! late or repeated events (also across a restart), ranked by followers, and rebuilt by
//! replay to the same answers.

use std::time::Duration;

use tunemesh_proto::events::v1::PlaylistChangeKind::{
    Created, Deleted, DetailsUpdated, Followed, Unfollowed,
};
use tunemesh_proto::search::v1::{SearchResultType, search_result};
use tunemesh_testkit::assert_eventually;

use crate::support::{TestBus, TestSearch, playlist, playlist_changed};

/// The freshness target of the issue, both ways: found within a second of creation, gone
/// within a second of turning private.
const FRESHNESS: Duration = Duration::from_secs(1);

const PLAYLISTS: &[SearchResultType] = &[SearchResultType::Playlist];

/// Whether `query` finds playlist `id` among playlists.
async fn finds(search: &TestSearch, query: &str, id: &str) -> bool {
    search
        .ids(query, PLAYLISTS)
        .await
        .unwrap_or_default()
        .contains(&format!("p:{id}"))
}

/// Publishes a new public playlist named after `word` and waits until it is found: the feed
/// applies one consumer's events in order and commits them in order, so every playlist event
/// published before it has then been applied.
async fn settle(bus: &TestBus, search: &TestSearch, word: &str) -> anyhow::Result<()> {
    let marker = playlist(&format!("marker-{word}"), word, true, 0);
    bus.publish(&playlist_changed(1, Created, &marker)).await?;
    assert_eventually!(
        finds(search, word, &marker.id).await,
        timeout = Duration::from_secs(10),
        "marker {word} never searchable"
    );
    Ok(())
}

#[tokio::test]
async fn a_public_playlist_is_found_by_a_typo_within_a_second_and_gone_within_a_second_of_going_private()
-> anyhow::Result<()> {
    let bus = TestBus::new("search playlist fresh").await?;
    let search = TestSearch::start(&bus).await?;
    search.wait_ready().await?;

    let mut list = playlist("pl-1", "Midnight Velvet Grooves", true, 0);
    bus.publish(&playlist_changed(1, Created, &list)).await?;
    let created = std::time::Instant::now();
    assert_eventually!(
        finds(&search, "midnigth velvet", "pl-1").await,
        timeout = FRESHNESS,
        "a new public playlist was not found by a typo'd name within {FRESHNESS:?}"
    );
    eprintln!(
        "found by a typo {:?} after its creation was published",
        created.elapsed()
    );
    // Without a type filter a playlist is one result among the others, with highlights.
    let all = search.try_search("velvet grooves", &[]).await?;
    let hit = all
        .results
        .iter()
        .find(|r| matches!(&r.item, Some(search_result::Item::Playlist(p)) if p.id == "pl-1"))
        .expect("the playlist among all kinds");
    assert!(!hit.highlights.is_empty(), "{hit:?}");

    list.public = false;
    list.version = 2;
    bus.publish(&playlist_changed(2, DetailsUpdated, &list))
        .await?;
    let hidden = std::time::Instant::now();
    assert_eventually!(
        !finds(&search, "midnight velvet", "pl-1").await,
        timeout = FRESHNESS,
        "a playlist made private was still found after {FRESHNESS:?}"
    );
    eprintln!("gone {:?} after it turned private", hidden.elapsed());
    bus.cleanup().await
}

#[tokio::test]
async fn late_and_repeated_events_never_bring_back_a_private_or_deleted_playlist()
-> anyhow::Result<()> {
    let bus = TestBus::new("search playlist order").await?;
    let search = TestSearch::start(&bus).await?;
    search.wait_ready().await?;

    let hidden = playlist("pl-hidden", "Saffron Harbour Lights", true, 0);
    let gone = playlist("pl-gone", "Cobalt Orchard Echoes", true, 0);
    let hidden_now = playlist("pl-hidden", "Saffron Harbour Lights", false, 0);
    // Delivered out of order: the later state first, then the creations it replaced.
    bus.publish(&playlist_changed(2, DetailsUpdated, &hidden_now))
        .await?;
    bus.publish(&playlist_changed(2, Deleted, &gone)).await?;
    for _ in 0..2 {
        bus.publish(&playlist_changed(1, Created, &hidden)).await?;
        bus.publish(&playlist_changed(1, Created, &gone)).await?;
    }
    // A deletion is final, whatever revision comes after it.
    bus.publish(&playlist_changed(9, DetailsUpdated, &gone))
        .await?;
    settle(&bus, &search, "Quillmark").await?;
    assert!(!finds(&search, "saffron harbour", "pl-hidden").await);
    assert!(!finds(&search, "cobalt orchard", "pl-gone").await);

    // Redelivering an event, with its own id or a new one, changes nothing.
    let followed = playlist("pl-open", "Juniper Tram Songs", true, 1);
    let event = playlist_changed(3, Followed, &followed);
    bus.publish(&playlist_changed(
        1,
        Created,
        &playlist("pl-open", "Juniper Tram Songs", true, 0),
    ))
    .await?;
    bus.publish(&event).await?;
    bus.publish(&event).await?;
    bus.publish(&playlist_changed(3, Followed, &followed))
        .await?;
    // A late unfollow from before the follow.
    bus.publish(&playlist_changed(
        2,
        Unfollowed,
        &playlist("pl-open", "Juniper Tram Songs", true, 0),
    ))
    .await?;
    settle(&bus, &search, "Quillmarktwo").await?;
    let found = search.try_search("juniper tram", PLAYLISTS).await?;
    let followers: Vec<u32> = found
        .results
        .iter()
        .filter_map(|r| match &r.item {
            Some(search_result::Item::Playlist(p)) => Some(p.follower_count),
            _ => None,
        })
        .collect();
    assert_eq!(followers, [1], "{found:?}");
    bus.cleanup().await
}

#[tokio::test]
async fn followers_lift_a_playlist_above_an_equally_good_match() -> anyhow::Result<()> {
    let bus = TestBus::new("search playlist followers").await?;
    let quiet = playlist("pl-quiet", "Rainy Window Piano", true, 0);
    let loved = playlist("pl-loved", "Rainy Window Piano", true, 0);
    bus.publish(&playlist_changed(1, Created, &quiet)).await?;
    bus.publish(&playlist_changed(1, Created, &loved)).await?;
    let search = TestSearch::start(&bus).await?;
    search.wait_ready().await?;
    for followers in 1..=40 {
        let followed = playlist("pl-loved", "Rainy Window Piano", true, followers);
        bus.publish(&playlist_changed(
            1 + u64::from(followers),
            Followed,
            &followed,
        ))
        .await?;
    }
    assert_eventually!(
        search
            .ids("rainy window piano", PLAYLISTS)
            .await
            .unwrap_or_default()
            .first()
            == Some(&"p:pl-loved".to_owned()),
        timeout = Duration::from_secs(5),
        "the followed playlist never ranked first"
    );
    bus.cleanup().await
}

/// Queries whose answers a rebuild and a restart must give again.
const QUERIES: [&str; 5] = [
    "harbour",
    "velvet",
    "orchard echos",
    "tram",
    "songs renamed",
];

/// A history with every kind of change, some delivered late.
async fn history(bus: &TestBus) -> anyhow::Result<()> {
    let names = [
        ("pl-a", "Velvet Harbour"),
        ("pl-b", "Velvet Orchard Echoes"),
        ("pl-c", "Harbour Tram Songs"),
        ("pl-d", "Orchard Echoes Live"),
        ("pl-e", "Tram Velvet Nights"),
    ];
    for (i, (id, name)) in names.iter().enumerate() {
        let followers = u32::try_from(i).unwrap_or(0) * 3;
        bus.publish(&playlist_changed(1, Created, &playlist(id, name, true, 0)))
            .await?;
        bus.publish(&playlist_changed(
            2,
            Followed,
            &playlist(id, name, true, followers),
        ))
        .await?;
    }
    bus.publish(&playlist_changed(
        3,
        DetailsUpdated,
        &playlist("pl-b", "Velvet Orchard Echoes", false, 3),
    ))
    .await?;
    bus.publish(&playlist_changed(
        3,
        Deleted,
        &playlist("pl-d", "", true, 0),
    ))
    .await?;
    bus.publish(&playlist_changed(
        1,
        Created,
        &playlist("pl-d", "Orchard Echoes Live", true, 0),
    ))
    .await?;
    bus.publish(&playlist_changed(
        3,
        DetailsUpdated,
        &playlist("pl-c", "Harbour Tram Songs Renamed", true, 6),
    ))
    .await?;
    Ok(())
}

#[tokio::test]
async fn a_replay_from_an_empty_index_answers_like_the_live_one() -> anyhow::Result<()> {
    let bus = TestBus::new("search playlist replay").await?;
    let live = TestSearch::start(&bus).await?;
    live.wait_ready().await?;
    history(&bus).await?;
    settle(&bus, &live, "Quillmark").await?;
    let before = live.answers(&QUERIES).await?;
    let flat: Vec<&String> = before.iter().flatten().collect();
    for absent in ["p:pl-b", "p:pl-d"] {
        assert!(
            !flat.iter().any(|id| *id == absent),
            "{absent} in {before:?}"
        );
    }
    assert!(flat.iter().any(|id| *id == "p:pl-c"), "{before:?}");

    let rebuilt = TestSearch::start(&bus).await?;
    rebuilt.wait_ready().await?;
    assert_eq!(rebuilt.answers(&QUERIES).await?, before);
    bus.cleanup().await
}

#[tokio::test]
async fn a_restarted_replica_still_refuses_what_came_before_a_playlist_turned_private()
-> anyhow::Result<()> {
    let bus = TestBus::new("search playlist restart").await?;
    let data = tempfile::tempdir()?;
    let replica = tunemesh_testkit::unique_prefix("replica");
    let first = TestSearch::start_in(&bus, data.path(), &replica).await?;
    first.wait_ready().await?;
    history(&bus).await?;
    settle(&bus, &first, "Quillmark").await?;
    let before = first.answers(&QUERIES).await?;
    first.app.stop().await?;

    // Late creations of the private and the deleted playlist, while the replica is down.
    bus.publish(&playlist_changed(
        1,
        Created,
        &playlist("pl-b", "Velvet Orchard Echoes", true, 0),
    ))
    .await?;
    bus.publish(&playlist_changed(
        2,
        Followed,
        &playlist("pl-d", "Orchard Echoes Live", true, 9),
    ))
    .await?;
    let second = TestSearch::start_in(&bus, data.path(), &replica).await?;
    second.wait_ready().await?;
    settle(&bus, &second, "Quillmarkthree").await?;
    assert_eq!(second.answers(&QUERIES).await?, before);
    second.app.stop().await?;
    bus.cleanup().await
}
