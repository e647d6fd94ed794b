//! `ReportPlayback` with `past_play_started_at`: a play reported after it happened counts
//! once, timed when it happened, under the default (production) play rules, unless it lies
//! in the future or clashes with another counted play of the listener.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tunemesh_events::{ConsumerSpec, Subscription};
use tunemesh_proto::events::v1::PlayEvent;
use tunemesh_proto::player::v1::*;
use tunemesh_proto::prost_types::Timestamp;
use tunemesh_proto::subjects;
use tunemesh_proto::tonic::Code;

use crate::support::player::{CHIMES, Player, embedded_bus, music, quick_settings};
use crate::support::upload::upload;

/// Play events that arrive until nothing comes for a second, acked.
async fn drain(subscription: &mut Subscription) -> anyhow::Result<Vec<PlayEvent>> {
    let mut seen = Vec::new();
    while let Ok(delivery) = tokio::time::timeout(Duration::from_secs(1), subscription.next()).await
    {
        let delivery = delivery?;
        seen.push(delivery.envelope().decode::<PlayEvent>()?);
        delivery.ack().await?;
    }
    Ok(seen)
}

fn past(session: &str, track: &str, started: SystemTime) -> ReportPlaybackRequest {
    let played = Duration::from_secs(31).try_into().unwrap_or_default();
    ReportPlaybackRequest {
        play_session_id: session.into(),
        track_id: track.into(),
        played: Some(played),
        state: PlaybackState::Ended as i32,
        end_reason: PlaybackEndReason::Completed as i32,
        past_play_started_at: Some(Timestamp::from(started)),
        ..Default::default()
    }
}

async fn counted(player: &Player, report: ReportPlaybackRequest) -> anyhow::Result<bool> {
    let answer = player.player().report_playback(player.req(report)).await?;
    Ok(answer.into_inner().play_counted)
}

#[tokio::test]
async fn a_past_play_counts_once_at_its_time_unless_it_clashes_or_lies_ahead() -> anyhow::Result<()>
{
    let data = Arc::new(tempfile::tempdir()?);
    let bus = embedded_bus(data.path()).await?;
    let mut plays = bus
        .subscribe(ConsumerSpec::new("reco", &[subjects::PLAY]))
        .await?;
    let player = Player::start_in(quick_settings(), data, bus.clone()).await?;
    let track = upload(&player, "chimes.ogg", std::fs::read(music(CHIMES))?)
        .await?
        .track_id;
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);

    assert!(counted(&player, past("offline-1", &track, hour_ago)).await?);
    assert!(
        counted(&player, past("offline-1", &track, hour_ago)).await?,
        "a re-sent claim is acknowledged as counted"
    );
    assert!(
        !counted(&player, past("offline-2", &track, hour_ago)).await?,
        "the listener was hearing offline-1 then"
    );
    let ahead = SystemTime::now() + Duration::from_secs(60);
    assert!(!counted(&player, past("ahead", &track, ahead)).await?);

    let events = drain(&mut plays).await?;
    let counted_events: Vec<&PlayEvent> = events.iter().filter(|e| e.counted).collect();
    assert_eq!(counted_events.len(), 1, "{events:?}");
    assert_eq!(events.len(), 3, "one per session: {events:?}");
    let event = counted_events[0];
    assert_eq!(event.play_session_id, "offline-1");
    let started = SystemTime::try_from(event.started_at.unwrap_or_default())?;
    let heard = Duration::from_secs(31);
    let ended = SystemTime::try_from(
        event
            .meta
            .clone()
            .unwrap_or_default()
            .occurred_at
            .unwrap_or_default(),
    )?;
    let ms = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis())
    };
    assert_eq!(ms(started)?, ms(hour_ago)?);
    assert_eq!(ms(ended)?, ms(hour_ago + heard)?);

    // A past play is one whole report.
    let mut later = past("offline-3", &track, hour_ago - Duration::from_secs(600));
    later.sequence = 1;
    let mut open = past("offline-4", &track, hour_ago - Duration::from_secs(600));
    open.state = PlaybackState::Playing as i32;
    for report in [later, open] {
        let code = player
            .player()
            .report_playback(player.req(report))
            .await
            .err()
            .map(|s| s.code());
        assert_eq!(code, Some(Code::InvalidArgument));
    }
    Ok(())
}
