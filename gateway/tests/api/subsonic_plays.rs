//! Subsonic playback reports: `scrobble` (once per user, track and time; now playing opens
//! the session a scrobble ends), `getNowPlaying` and `reportPlayback`, against the fake
//! player-svc, which records every `ReportPlayback`.

use tunemesh_proto::player::v1 as player;

use crate::subsonic_media::{auth, seen};
use crate::subsonic_support::{app_user, failed_with, json_call, xml_call};
use crate::support;

fn state(report: &player::ReportPlaybackRequest) -> player::PlaybackState {
    player::PlaybackState::try_from(report.state).unwrap_or_default()
}

#[tokio::test]
async fn a_scrobble_counts_once_per_user_track_and_time_and_now_playing_opens_its_session()
-> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let ann = app_user(&gateway, "ann", "DSub").await?;
    let auth = auth(&ann);
    let once = format!("id=t1&time=1700000000000&{auth}");
    for _ in 0..2 {
        let body = json_call(&gateway, "scrobble", &once).await?;
        assert_eq!(body["status"], "ok", "{body}");
    }
    let other_time = format!("id=t1&time=1700000300000&submission=true&{auth}");
    xml_call(&gateway, "scrobble.view", &other_time).await?;
    let batch = format!("id=t1&id=t2&time=1600000000000&time=1600000300000&{auth}");
    assert_eq!(
        json_call(&gateway, "scrobble", &batch).await?["status"],
        "ok"
    );
    {
        let seen = seen(&gateway);
        let reports = &seen.reports;
        assert_eq!(reports.len(), 5);
        for report in reports {
            assert_eq!(state(report), player::PlaybackState::Ended);
            assert_eq!(report.sequence, 0);
            assert_eq!(
                report.played.map(|p| p.seconds),
                Some(215),
                "the whole song"
            );
        }
        assert_eq!(
            reports[0], reports[1],
            "a re-sent scrobble is the same report"
        );
        assert_eq!(
            reports[0].client_time.map(|t| t.seconds),
            Some(1_700_000_000)
        );
        let sessions: std::collections::HashSet<_> =
            reports.iter().map(|r| &r.play_session_id).collect();
        assert_eq!(sessions.len(), 4);
        assert_eq!(reports[4].track_id, "t2");
    }
    for (query, code) in [
        (format!("id=t1&time=1&time=2&{auth}"), 10),
        (format!("id=t1&time=soon&{auth}"), 10),
        (format!("id=missing&{auth}"), 70),
        (auth.clone(), 10),
    ] {
        failed_with(&json_call(&gateway, "scrobble", &query).await?, code);
    }

    // Now playing opens a session; the scrobble of that song ends it, once.
    let playing = format!("id=t3&submission=false&{auth}");
    assert_eq!(
        json_call(&gateway, "scrobble", &playing).await?["status"],
        "ok"
    );
    let opened = seen(&gateway).reports.last().cloned().expect("a report");
    assert_eq!(state(&opened), player::PlaybackState::Playing);
    assert_eq!(opened.played.map(|p| p.seconds), Some(0));
    let now = json_call(&gateway, "getNowPlaying", &auth).await?;
    assert_eq!(now["nowPlaying"]["entry"][0]["id"], "t3", "{now}");
    // Stamped now, by the app's clock, as an app scrobbling the song it plays does.
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    let done = format!("id=t3&time={stamp}&{auth}");
    for _ in 0..2 {
        assert_eq!(
            json_call(&gateway, "scrobble", &done).await?["status"],
            "ok"
        );
    }
    let seen = seen(&gateway);
    let [.., first, second] = seen.reports.as_slice() else {
        anyhow::bail!("two reports");
    };
    assert_eq!(
        first, second,
        "the re-sent scrobble repeats the final report"
    );
    assert_eq!(first.play_session_id, opened.play_session_id);
    assert_eq!(first.sequence, 1);
    assert_eq!(state(first), player::PlaybackState::Ended);
    Ok(())
}

#[tokio::test]
async fn report_playback_follows_one_play_and_ignore_scrobble_only_shows_it() -> anyhow::Result<()>
{
    let gateway = support::spawn().await?;
    let ann = app_user(&gateway, "ann", "Supersonic").await?;
    let auth = format!("u=ann&p={}&c=Supersonic", ann.secret);
    let step = |state: &str, at: u64| {
        format!("mediaId=t1&mediaType=song&positionMs={at}&state={state}&{auth}")
    };
    for (state, at) in [
        ("starting", 0),
        ("playing", 0),
        ("paused", 1000),
        ("stopped", 215_000),
    ] {
        let body = json_call(&gateway, "reportPlayback", &step(state, at)).await?;
        assert_eq!(body["status"], "ok", "{state}: {body}");
    }
    {
        let seen = seen(&gateway);
        let states: Vec<_> = seen.reports.iter().map(state).collect();
        use player::PlaybackState::{Ended, Paused, Playing};
        assert_eq!(states, [Playing, Playing, Paused, Ended]);
        let last = seen.reports.last().expect("reports");
        assert_eq!(
            last.end_reason,
            i32::from(player::PlaybackEndReason::Completed)
        );
        assert!(
            seen.reports
                .iter()
                .all(|r| r.play_session_id == last.play_session_id)
        );
        let sequences: Vec<_> = seen.reports.iter().map(|r| r.sequence).collect();
        assert_eq!(sequences, [0, 1, 2, 3]);
    }
    let quiet = format!("{}&ignoreScrobble=true", step("playing", 5000));
    xml_call(&gateway, "reportPlayback.view", &quiet).await?;
    assert_eq!(
        seen(&gateway).reports.len(),
        4,
        "ignoreScrobble reports nothing"
    );
    let now = json_call(&gateway, "getNowPlaying", &auth).await?;
    assert_eq!(now["nowPlaying"]["entry"][0]["playerName"], "Supersonic");
    for (query, code) in [
        (step("rewinding", 0), 10),
        (
            step("playing", 0).replace("mediaType=song", "mediaType=podcast"),
            70,
        ),
        (
            step("playing", 0).replace("mediaId=t1", "mediaId=missing"),
            70,
        ),
        (
            step("playing", 0).replace("positionMs=0", "positionMs=-1"),
            10,
        ),
    ] {
        failed_with(&json_call(&gateway, "reportPlayback", &query).await?, code);
    }
    let extensions = json_call(&gateway, "getOpenSubsonicExtensions", "").await?;
    let names: Vec<&str> = extensions["openSubsonicExtensions"]
        .as_array()
        .map(|all| all.iter().filter_map(|e| e["name"].as_str()).collect())
        .unwrap_or_default();
    assert!(names.contains(&"playbackReport") && names.contains(&"transcodeOffset"));
    Ok(())
}
