//! The index on disk across restarts: a restarted replica reopens its index and resumes its
//! own durable consumers (no new ones, no replay); a replica with an empty directory
//! rebuilds by replay under the same consumer names.

use std::time::Duration;

use tunemesh_testkit::assert_eventually;

use crate::support::{TestBus, TestSearch, chinook_tracks, play};

/// Queries whose answers must survive a restart or a rebuild, plays included.
const QUERIES: [&str; 6] = [
    "metallica",
    "love",
    "bohem",
    "smoke on the watr",
    "acdc",
    "you",
];

#[tokio::test]
async fn a_restart_reopens_the_index_and_resumes_the_same_consumers() -> anyhow::Result<()> {
    let bus = TestBus::new("search restart").await?;
    let tracks = chinook_tracks()?;
    bus.add_tracks(&tracks).await?;
    let played = &tracks[100];
    for _ in 0..3 {
        bus.publish(&play(&played.id)).await?;
    }
    let data = tempfile::tempdir()?;
    let replica = tunemesh_testkit::unique_prefix("replica");

    let first = TestSearch::start_in(&bus, data.path(), &replica).await?;
    first.wait_ready().await?;
    let before = first.answers(&QUERIES).await?;
    let consumers = bus.consumers().await?;
    assert_eq!(consumers.len(), 3, "{consumers:?}");
    first.app.stop().await?;

    // Published while the replica is down: the resumed consumers deliver it.
    let late = crate::support::track(
        "late-1",
        "Quixotic Zeppelin Waltz",
        ("late-r", "Late Arrivals"),
        ("late-a", "After Hours"),
        "Jazz",
    );
    bus.add_tracks(std::slice::from_ref(&late)).await?;

    let second = TestSearch::start_in(&bus, data.path(), &replica).await?;
    second.wait_ready().await?;
    // Same consumers, created once: resumed, not deleted and replayed.
    assert_eq!(bus.consumers().await?, consumers);
    assert_eq!(second.answers(&QUERIES).await?, before);
    assert_eventually!(
        second
            .ids("quixotic zeppelin", &[])
            .await
            .unwrap_or_default()
            .contains(&"t:late-1".to_owned()),
        timeout = Duration::from_secs(10)
    );
    second.app.stop().await?;
    bus.cleanup().await
}

#[tokio::test]
async fn a_replica_with_an_empty_directory_rebuilds_by_replay_under_its_name() -> anyhow::Result<()>
{
    let bus = TestBus::new("search fresh dir").await?;
    let tracks = chinook_tracks()?;
    bus.add_tracks(&tracks).await?;
    bus.publish(&play(&tracks[7].id)).await?;
    let replica = tunemesh_testkit::unique_prefix("replica");

    let old_dir = tempfile::tempdir()?;
    let first = TestSearch::start_in(&bus, old_dir.path(), &replica).await?;
    first.wait_ready().await?;
    let before = first.answers(&QUERIES).await?;
    first.app.stop().await?;
    let consumers = bus.consumers().await?;

    // The same replica on a new, empty disk: its consumers start over from the beginning.
    let new_dir = tempfile::tempdir()?;
    let second = TestSearch::start_in(&bus, new_dir.path(), &replica).await?;
    second.wait_ready().await?;
    assert_eq!(second.answers(&QUERIES).await?, before);
    let after = bus.consumers().await?;
    let names = |list: &[(String, String)]| list.iter().map(|c| c.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&after), names(&consumers), "no consumer added");
    assert_ne!(after, consumers, "the consumers were made again to replay");
    second.app.stop().await?;
    bus.cleanup().await
}
