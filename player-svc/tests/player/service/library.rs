//! The background tasks: the library watcher picks up added and changed files (a changed file
//! keeps its track id and emits `TrackUpdated`) and reports how far a scan is, and the sweeper
//! times out abandoned sessions.

use std::sync::Arc;
use std::time::Duration;

use tunemesh_events::{ConsumerSpec, Subscription};
use tunemesh_proto::catalog::v1::{
    GetLibraryStatusRequest, GetLibraryStatusResponse, GetTrackRequest, ListTracksRequest, Track,
};
use tunemesh_proto::events::v1::{CatalogEvent, PlayEvent, catalog_event};
use tunemesh_proto::player::v1::*;
use tunemesh_proto::subjects;
use tunemesh_testkit::eventually;

use crate::support::player::{CHIMES, MARCH, Player, embedded_bus, music, quick_settings};
use crate::support::upload::upload;

/// Generous: a rescan transcodes a real file in a debug build on a shared machine.
const INGEST_WAIT: Duration = Duration::from_secs(120);

/// The next event on `subscription`, acked, decoded as `M`.
async fn next_event<M: tunemesh_proto::prost::Message + Default>(
    subscription: &mut Subscription,
) -> anyhow::Result<M> {
    let delivery = tokio::time::timeout(INGEST_WAIT, subscription.next()).await??;
    let event = delivery.envelope().decode::<M>()?;
    delivery.ack().await?;
    Ok(event)
}

/// The one track in the catalogue, once there is exactly one.
async fn only_track(player: &Player) -> anyhow::Result<Track> {
    let listed = player
        .catalog()
        .list_tracks(player.req(ListTracksRequest::default()))
        .await?
        .into_inner();
    match &listed.tracks[..] {
        [track] => Ok(track.clone()),
        other => anyhow::bail!("expected one track, found {}", other.len()),
    }
}

#[tokio::test]
async fn the_library_watcher_ingests_a_new_file_and_reingests_it_when_changed_as_track_updated()
-> anyhow::Result<()> {
    let library = tempfile::tempdir()?;
    let song = library.path().join("song.ogg");
    std::fs::copy(music(MARCH), &song)?;
    let settings = tunemesh_player::PlayerSettings {
        library: Some(library.path().to_owned()),
        rescan_interval: Duration::from_millis(200),
        ..quick_settings()
    };
    let data = Arc::new(tempfile::tempdir()?);
    let bus = embedded_bus(data.path()).await?;
    let mut catalog = bus
        .subscribe(ConsumerSpec::new("search", &[subjects::CATALOG]))
        .await?;
    let player = Player::start_in(settings, data, bus.clone()).await?;

    let added = match next_event::<CatalogEvent>(&mut catalog).await?.event {
        Some(catalog_event::Event::TrackAdded(added)) => added.track.unwrap_or_default(),
        other => anyhow::bail!("expected TrackAdded, got {other:?}"),
    };
    let first = eventually(INGEST_WAIT, || only_track(&player)).await?;
    assert_eq!(first.id, added.id);
    assert_eq!(first.title, "March Thee to Dis");

    // The same path now holds other music: same track, new content, one TrackUpdated.
    std::fs::copy(music(CHIMES), &song)?;
    let updated = match next_event::<CatalogEvent>(&mut catalog).await?.event {
        Some(catalog_event::Event::TrackUpdated(updated)) => updated.track.unwrap_or_default(),
        other => anyhow::bail!("expected TrackUpdated, got {other:?}"),
    };
    assert_eq!(updated.id, first.id, "a changed file keeps its track id");
    assert_eq!(updated.title, "Chimes They Fade");
    assert_ne!(updated.content_hash, first.content_hash);
    let now = player
        .catalog()
        .get_track(player.req(GetTrackRequest {
            track_id: first.id.clone(),
        }))
        .await?
        .into_inner()
        .track
        .unwrap_or_default();
    assert_eq!(
        (now.title.as_str(), &now.content_hash),
        ("Chimes They Fade", &updated.content_hash)
    );
    let seconds = |t: &Track| {
        Duration::try_from(t.duration.unwrap_or_default()).map_or(0.0, |d| d.as_secs_f64())
    };
    assert!((42.0..43.5).contains(&seconds(&now)), "{now:?}");
    assert_eq!(only_track(&player).await?.id, first.id, "no second track");

    // An untouched file is not looked at again: no further event after more rescans.
    let quiet = tokio::time::timeout(Duration::from_secs(1), catalog.next()).await;
    assert!(quiet.is_err(), "unexpected event: {quiet:?}");
    Ok(())
}

async fn library_status(player: &Player) -> anyhow::Result<GetLibraryStatusResponse> {
    Ok(player
        .catalog()
        .get_library_status(player.req(GetLibraryStatusRequest {}))
        .await?
        .into_inner())
}

#[tokio::test]
async fn the_library_status_follows_a_scan_to_its_counts_and_the_tracks_are_there_when_it_ends()
-> anyhow::Result<()> {
    let library = tempfile::tempdir()?;
    std::fs::copy(music(MARCH), library.path().join("march.ogg"))?;
    std::fs::copy(music(CHIMES), library.path().join("chimes.ogg"))?;
    std::fs::write(library.path().join("notes.ogg"), b"not audio at all")?;
    let settings = tunemesh_player::PlayerSettings {
        library: Some(library.path().to_owned()),
        rescan_interval: Duration::from_secs(3600),
        ..quick_settings()
    };
    let player = Player::start(settings).await?;
    // Seen while the scan runs or after: counts never run ahead of the files found.
    let status = eventually(INGEST_WAIT, || async {
        let status = library_status(&player).await?;
        if let Some(p) = status.progress {
            assert!(p.files_done <= p.files_total, "{status:?}");
            assert_eq!(
                p.files_done,
                p.ingested + p.skipped + p.failed,
                "{status:?}"
            );
        }
        anyhow::ensure!(
            status.scans_completed == 1 && !status.scanning,
            "not done: {status:?}"
        );
        Ok(status)
    })
    .await?;
    assert!(status.configured);
    let progress = status.progress.unwrap_or_default();
    assert_eq!((progress.files_total, progress.files_done), (3, 3));
    assert_eq!(progress.ingested, 2, "{status:?}");
    assert_eq!(progress.skipped + progress.failed, 1, "{status:?}");
    // What the status counts as ingested is in the catalogue once it says so.
    let listed = player
        .catalog()
        .list_tracks(player.req(ListTracksRequest::default()))
        .await?
        .into_inner();
    assert_eq!(listed.tracks.len(), 2);
    Ok(())
}

#[tokio::test]
async fn a_player_without_a_library_folder_says_so() -> anyhow::Result<()> {
    let player = Player::start(quick_settings()).await?;
    assert_eq!(
        library_status(&player).await?,
        GetLibraryStatusResponse::default()
    );
    Ok(())
}

#[tokio::test]
async fn a_session_whose_client_vanished_is_timed_out_by_the_sweeper_with_one_event()
-> anyhow::Result<()> {
    let settings = tunemesh_player::PlayerSettings {
        session_timeout: Duration::from_millis(500),
        session_sweep_interval: Duration::from_millis(100),
        // 31 s are claimed at once here; the server-clock check has its own tests.
        play_clock_slack: Duration::from_secs(3600),
        ..quick_settings()
    };
    let data = Arc::new(tempfile::tempdir()?);
    let bus = embedded_bus(data.path()).await?;
    let mut plays = bus
        .subscribe(ConsumerSpec::new("reco", &[subjects::PLAY]))
        .await?;
    let player = Player::start_in(settings, data, bus.clone()).await?;
    let track = upload(&player, "chimes.ogg", std::fs::read(music(CHIMES))?)
        .await?
        .track_id;
    let played = Duration::from_secs(31).try_into().unwrap_or_default();
    let report = ReportPlaybackRequest {
        play_session_id: "vanishing".into(),
        sequence: 0,
        track_id: track.clone(),
        position: Some(played),
        played: Some(played),
        state: PlaybackState::Playing as i32,
        ..Default::default()
    };
    let answer = player
        .player()
        .report_playback(player.req(report.clone()))
        .await?
        .into_inner();
    assert!(answer.play_counted, "31 s heard is a play");

    // No more reports: the sweeper closes the session and emits its one event.
    let event: PlayEvent = next_event(&mut plays).await?;
    assert_eq!(event.play_session_id, "vanishing");
    assert_eq!(event.track_id, track);
    assert_eq!(event.end_reason(), PlaybackEndReason::TimedOut);
    assert!(event.counted);
    assert_eq!(
        event.meta.unwrap_or_default().event_id,
        tunemesh_player::testsuite::play_event_id("vanishing")
    );
    // A report arriving after the timeout finds the session closed; nothing more is emitted.
    let late = ReportPlaybackRequest {
        sequence: 1,
        ..report
    };
    let refused = player.player().report_playback(player.req(late)).await;
    assert_eq!(
        refused.err().map(|s| s.code()),
        Some(tunemesh_proto::tonic::Code::FailedPrecondition)
    );
    let quiet = tokio::time::timeout(Duration::from_secs(1), plays.next()).await;
    assert!(
        quiet.is_err(),
        "a timed-out session emits one event: {quiet:?}"
    );
    Ok(())
}
