//! `ReportPlayback`: the 30-second rule, and exactly one `PlayEvent` per session on real
//! JetStream, even when the relay dies between publishing and marking its outbox row.

use std::sync::Arc;
use std::time::Duration;

use tunemesh_events::jetstream::{JetStreamBus, JetStreamSettings};
use tunemesh_events::nats::{NatsSettings, connect};
use tunemesh_events::{ConsumerSpec, EventBus, Subscription};
use tunemesh_proto::events::v1::PlayEvent;
use tunemesh_proto::player::v1::*;
use tunemesh_proto::tonic::Code;
use tunemesh_testkit::{StallingBus, delete_nats_streams, servers, unique_prefix};

use crate::support::player::{CHIMES, Player, embedded_bus, music, quick_settings};
use crate::support::upload::upload;

/// Play events that arrive until nothing comes for a second, acked.
async fn drain(subscription: &mut Subscription) -> anyhow::Result<Vec<(String, PlayEvent)>> {
    let mut seen = Vec::new();
    while let Ok(delivery) = tokio::time::timeout(Duration::from_secs(1), subscription.next()).await
    {
        let delivery = delivery?;
        seen.push((
            delivery.envelope().id.clone(),
            delivery.envelope().decode::<PlayEvent>()?,
        ));
        delivery.ack().await?;
    }
    Ok(seen)
}

fn report(
    session: &str,
    sequence: u32,
    track: &str,
    played_s: f64,
    state: PlaybackState,
) -> ReportPlaybackRequest {
    let played = Duration::from_secs_f64(played_s)
        .try_into()
        .unwrap_or_default();
    ReportPlaybackRequest {
        play_session_id: session.into(),
        sequence,
        track_id: track.into(),
        position: Some(played),
        played: Some(played),
        state: state as i32,
        end_reason: if state == PlaybackState::Ended {
            PlaybackEndReason::Completed as i32
        } else {
            0
        },
        context: Some(PlayContext {
            r#type: PlayContextType::Album as i32,
            id: "al_x".into(),
        }),
        quality: 1,
        client_time: None,
        past_play_started_at: None,
    }
}

#[tokio::test]
async fn a_full_play_makes_exactly_one_event_even_when_the_relay_dies_after_publishing()
-> anyhow::Result<()> {
    let nats = NatsSettings {
        url: servers().nats_url.clone(),
        stream_prefix: unique_prefix("player"),
        ..NatsSettings::default()
    };
    let bus: Arc<dyn EventBus> =
        Arc::new(JetStreamBus::connect(&nats, &JetStreamSettings::default()).await?);
    let stalling = Arc::new(StallingBus::new(
        bus.clone(),
        Some(tunemesh_proto::subjects::PLAY),
    ));
    let data = Arc::new(tempfile::tempdir()?);
    // A whole play is claimed at once here; the server-clock check has its own tests.
    let settings = || tunemesh_player::PlayerSettings {
        play_clock_slack: Duration::from_secs(3600),
        ..quick_settings()
    };
    let mut player = Player::start_in(settings(), data.clone(), stalling.clone()).await?;
    let track = upload(&player, "chimes.ogg", std::fs::read(music(CHIMES))?)
        .await?
        .track_id;
    let mut plays = bus
        .subscribe(ConsumerSpec::new("reco", &[tunemesh_proto::subjects::PLAY]))
        .await?;

    // Ten seconds heard: not a play, and no event while the session is open.
    let first = player
        .player()
        .report_playback(player.req(report("session-1", 0, &track, 10.0, PlaybackState::Playing)))
        .await?
        .into_inner();
    assert!(!first.play_counted);
    assert!(
        drain(&mut plays).await?.is_empty(),
        "an open session under 30 s emits nothing"
    );

    // The end: counted; the relay publishes and dies before marking the row.
    let end = report("session-1", 1, &track, 42.7, PlaybackState::Ended);
    let ended = player
        .player()
        .report_playback(player.req(end.clone()))
        .await?
        .into_inner();
    assert!(ended.play_counted);
    stalling.stalled().await;
    player.stop().await?;

    // A restarted service (same data) publishes the row again; JetStream drops the copy.
    let player = Player::start_in(settings(), data, bus.clone()).await?;
    let retried = player
        .player()
        .report_playback(player.req(end))
        .await?
        .into_inner();
    assert!(retried.play_counted, "a retried report is acknowledged");
    let events = drain(&mut plays).await?;
    assert_eq!(events.len(), 1, "{events:?}");
    let (id, event) = &events[0];
    assert_eq!(id, &tunemesh_player::testsuite::play_event_id("session-1"));
    assert_eq!(
        (event.user_id.as_str(), event.track_id.as_str()),
        ("listener-1", track.as_str())
    );
    assert!(event.counted);
    assert_eq!(event.end_reason(), PlaybackEndReason::Completed);
    assert!(Duration::try_from(event.played.unwrap_or_default())? >= Duration::from_secs(42));

    // Reports after the end, and reuse by someone else, are refused.
    let late = report("session-1", 2, &track, 42.0, PlaybackState::Playing);
    let code = player
        .player()
        .report_playback(player.req(late))
        .await
        .err()
        .map(|s| s.code());
    assert_eq!(code, Some(Code::FailedPrecondition));
    let stolen = player.as_user(
        "someone-else",
        &[],
        report("session-1", 3, &track, 1.0, PlaybackState::Playing),
    );
    let code = player
        .player()
        .report_playback(stolen)
        .await
        .err()
        .map(|s| s.code());
    assert_eq!(code, Some(Code::InvalidArgument));
    let anonymous = player
        .player()
        .report_playback(report("s2", 0, &track, 1.0, PlaybackState::Playing))
        .await;
    assert_eq!(
        anonymous.err().map(|s| s.code()),
        Some(Code::Unauthenticated)
    );
    drop(plays);
    let (_client, js) = connect(&nats).await?;
    delete_nats_streams(&js, &nats.stream_prefix).await?;
    let _ = embedded_bus; // the embedded bus serves the other tests
    Ok(())
}
