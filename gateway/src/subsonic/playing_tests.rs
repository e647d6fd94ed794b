//! The rules of `super`: sessions opened, credited and ended as apps report.

use super::*;

const MINUTES_4: Duration = Duration::from_secs(240);

fn ann() -> Player<'static> {
    Player {
        user_id: "u-ann",
        username: "ann",
        client: "DSub",
    }
}

fn secs(d: Option<prost_types::Duration>) -> i64 {
    d.map_or(-1, |d| d.seconds)
}

#[test]
fn a_scrobble_ends_the_session_its_now_playing_opened_once_however_often_it_is_sent() {
    let plays = NowPlaying::default();
    let t0 = Instant::now();
    let opened = plays.started(&ann(), "t1", MINUTES_4, t0);
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0].sequence, 0);
    assert_eq!(opened[0].state, PlaybackState::Playing as i32);
    assert_eq!(secs(opened[0].played), 0);
    // The same track again (an app refreshing its now playing) keeps the session.
    assert!(
        plays
            .started(&ann(), "t1", MINUTES_4, t0 + Duration::from_secs(5))
            .is_empty()
    );
    let at = t0 + Duration::from_secs(130);
    // The wall clock read 1,000,000 ms when the session opened.
    let wall = |i: Instant| 1_000_000 + i64::try_from((i - t0).as_millis()).unwrap_or(0);
    let scrobble = |who: &Player<'_>, track: &str, time: i64, i: Instant| {
        plays.scrobbled(who, track, time, (i, wall(i)))
    };
    let offline = scrobble(&ann(), "t1", 1_000_000 - 3_600_000, at);
    assert_eq!(offline, None, "an hour before the session: an offline play");
    let last = scrobble(&ann(), "t1", 1_000_000, at).expect("the open session");
    assert_eq!(last.play_session_id, opened[0].play_session_id);
    assert_eq!(last.sequence, 1);
    assert_eq!(last.state, PlaybackState::Ended as i32);
    assert_eq!(last.end_reason, PlaybackEndReason::Completed as i32);
    assert_eq!(secs(last.played), 130, "heard on this gateway's clock");
    assert_eq!(secs(last.position), 240);
    let again = scrobble(&ann(), "t1", 1_000_000, at + Duration::from_secs(60));
    assert_eq!(
        again,
        Some(last),
        "a re-sent scrobble repeats the final report"
    );
    assert_eq!(scrobble(&ann(), "t1", 1_002_000, at), None, "another time");
    assert_eq!(scrobble(&ann(), "t2", 1_000_000, at), None, "another track");
    let bob = Player {
        user_id: "u-bob",
        ..ann()
    };
    assert_eq!(
        scrobble(&bob, "t1", 1_000_000, at),
        None,
        "another listener"
    );
}

#[test]
fn an_app_that_never_scrobbles_counts_nothing() {
    let plays = NowPlaying::default();
    let t0 = Instant::now();
    plays.started(&ann(), "t1", MINUTES_4, t0);
    let next = plays.started(&ann(), "t2", MINUTES_4, t0 + Duration::from_secs(200));
    assert_eq!(
        next.len(),
        1,
        "only t2's session opens: t1's is left to time out"
    );
    assert_eq!(next[0].track_id, "t2");
    let shown = plays.shown(10, t0 + Duration::from_secs(200));
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].track_id, "t2");
    assert_eq!(shown[0].player_name, "DSub");
}

#[test]
fn playback_reports_credit_time_played_at_the_rate_and_end_on_stop() {
    let plays = NowPlaying::default();
    let t0 = Instant::now();
    let at = |s: u64| t0 + Duration::from_secs(s);
    let track = ("t1", MINUTES_4);
    let pos = Duration::from_secs;
    let start = plays.report(&ann(), track, (Step::Starting, pos(0), 1.0), false, t0);
    assert_eq!(start.len(), 1);
    // Buffering for 10 s is not heard; then 20 s at 1.5x, a 100 s pause, 10 s more.
    let playing = plays.report(&ann(), track, (Step::Playing, pos(0), 1.5), false, at(10));
    assert_eq!(secs(playing[0].played), 0);
    let paused = plays.report(&ann(), track, (Step::Paused, pos(30), 1.5), false, at(30));
    assert_eq!(secs(paused[0].played), 30);
    assert_eq!(paused[0].state, PlaybackState::Paused as i32);
    plays.report(&ann(), track, (Step::Playing, pos(30), 1.0), false, at(130));
    let stop = plays.report(
        &ann(),
        track,
        (Step::Stopped(false), pos(40), 1.0),
        false,
        at(140),
    );
    assert_eq!(stop.len(), 1);
    assert_eq!(secs(stop[0].played), 40);
    assert_eq!(stop[0].state, PlaybackState::Stopped as i32);
    assert_eq!(stop[0].end_reason, PlaybackEndReason::Stopped as i32);
    assert_eq!(stop[0].sequence, 4);
    let ids: std::collections::HashSet<_> = [&start, &playing, &paused, &stop]
        .iter()
        .map(|r| r[0].play_session_id.clone())
        .collect();
    assert_eq!(ids.len(), 1, "one session");
    assert!(
        plays.shown(10, at(140)).is_empty(),
        "stopped: not playing any more"
    );
}

#[test]
fn starting_again_skips_the_open_session_and_ignore_scrobble_reports_nothing() {
    let plays = NowPlaying::default();
    let t0 = Instant::now();
    let track = ("t1", MINUTES_4);
    let play = (Step::Playing, Duration::ZERO, 1.0);
    let first = plays.report(&ann(), track, play, false, t0);
    assert_eq!(first.len(), 2, "playing without starting opens a session");
    let restart = (Step::Starting, Duration::ZERO, 1.0);
    let again = plays.report(&ann(), track, restart, false, t0 + Duration::from_secs(50));
    assert_eq!(again.len(), 2);
    assert_eq!(again[0].end_reason, PlaybackEndReason::Skipped as i32);
    assert_eq!(secs(again[0].played), 50);
    assert_ne!(again[0].play_session_id, again[1].play_session_id);
    let quiet = Player {
        client: "Supersonic",
        ..ann()
    };
    assert!(
        plays
            .report(&quiet, ("t2", MINUTES_4), play, true, t0)
            .is_empty()
    );
    let shown = plays.shown(10, t0 + Duration::from_secs(60));
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert_ne!(shown[0].player_id, shown[1].player_id);
}

#[test]
fn entries_expire_and_stay_bounded_and_streams_never_hide_reports() {
    let plays = NowPlaying::default();
    let t0 = Instant::now();
    plays.streamed(&ann(), "t1", t0);
    assert_eq!(plays.shown(10, t0)[0].track_id, "t1");
    plays.started(&ann(), "t2", MINUTES_4, t0);
    plays.streamed(&ann(), "t3", t0 + Duration::from_secs(1));
    assert_eq!(
        plays.shown(10, t0)[0].track_id,
        "t2",
        "the app reports itself"
    );
    assert_eq!(
        plays.shown(10, t0 + Duration::from_secs(120))[0].minutes_ago,
        2
    );
    assert!(plays.shown(10, t0 + EXPIRY).is_empty(), "expired");
    let users: Vec<String> = (0..=MAX_ENTRIES).map(|i| format!("u{i}")).collect();
    for (i, user) in users.iter().enumerate() {
        let who = Player {
            user_id: user,
            ..ann()
        };
        plays.streamed(&who, "t1", t0 + Duration::from_millis(i as u64));
    }
    let shown = plays.shown(usize::MAX, t0 + Duration::from_secs(1));
    assert_eq!(shown.len(), MAX_ENTRIES);
}
