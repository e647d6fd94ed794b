//! Listening history through the real services: plays reported over REST at the gateway →
//! player-svc (outbox) → the embedded bus → reco-svc → `/v1/me/history` and
//! `/v1/artists/{id}/top-tracks`, answered with the catalogue's whole tracks and albums.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::RunningMesh;
use crate::taste::{SONGS, get, ingest, until};

/// Mesh settings for tests that report whole plays at once: one quality to transcode, the
/// server's real-time checks of plays out of the way.
pub(crate) fn plays_at_once(settings: &mut tunemesh::Settings) {
    settings.player.qualities = vec!["low".to_owned()];
    settings.player.play_clock_slack = Duration::from_secs(3600);
    settings.player.play_budget_burst = Duration::from_secs(3600);
}

/// Reports one play session of `track` as `user`: whole and completed, or skipped after 2 s.
pub(crate) async fn play(
    mesh: &RunningMesh,
    user: &str,
    track: &str,
    session: &str,
    whole: bool,
) -> anyhow::Result<()> {
    let facts = get(mesh, user, &format!("/v1/tracks/{track}")).await?;
    let duration = facts["duration_ms"].as_u64().unwrap_or(0);
    let (played, reason) = if whole {
        (duration, "completed")
    } else {
        (2000, "skipped")
    };
    let reports = [
        json!({ "play_session_id": session, "sequence": 0, "track_id": track, "state": "playing" }),
        json!({
            "play_session_id": session, "sequence": 1, "track_id": track,
            "position_ms": played, "played_ms": played, "state": "ended", "end_reason": reason,
        }),
    ];
    for report in reports {
        let response = mesh
            .http
            .post(mesh.url("/v1/playback/report"))
            .bearer_auth(user)
            .json(&report)
            .send()
            .await?;
        let status = response.status();
        anyhow::ensure!(
            status == StatusCode::OK,
            "report: {status} {}",
            response.text().await?
        );
    }
    Ok(())
}

/// The ids of the `item`s (`track` or `album`) of one list of an answer, in order.
fn ids(answer: &Value, list: &str, item: &str) -> Vec<String> {
    answer[list]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| e[item]["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn plays_reported_at_the_gateway_become_history_and_top_tracks() -> anyhow::Result<()> {
    let mesh = RunningMesh::start_with(plays_at_once).await?;
    mesh.wait_ready().await?;
    let [ann, bob] = mesh.listeners(["ann", "bob"]).await?;
    let a = ingest(&mesh, &ann, SONGS[0]).await?;
    let b = ingest(&mesh, &ann, SONGS[1]).await?;

    // ann plays a, b, then a again; bob skips a (a skip is no play).
    play(&mesh, &ann, &a, "ann-1", true).await?;
    play(&mesh, &ann, &b, "ann-2", true).await?;
    play(&mesh, &ann, &a, "ann-3", true).await?;
    play(&mesh, &bob, &a, "bob-1", false).await?;
    until(&mesh, &ann, "/v1/me/history", |history| {
        ids(history, "recent_tracks", "track") == [a.clone(), b.clone()]
    })
    .await?;
    let history = get(&mesh, &ann, "/v1/me/history").await?;
    let first = &history["recent_tracks"][0];
    assert!(first["played_at"].is_string(), "{first}");
    assert!(first["track"]["title"].is_string(), "{first}");
    let album = first["track"]["album"]["id"].as_str().unwrap_or_default();
    let recent_albums = ids(&history, "recent_albums", "album");
    assert_eq!(
        recent_albums.first().map(String::as_str),
        Some(album),
        "{history}"
    );
    assert!(
        history["recent_albums"][0]["album"]["title"].is_string(),
        "{history}"
    );
    let most = &history["most_played_albums"][0];
    assert_eq!(most["album"]["id"], album, "{history}");
    let plays = most["plays"].as_f64().unwrap_or(0.0);
    assert!((1.99..=3.0).contains(&plays), "a played twice: {history}");

    let limited = get(&mesh, &ann, "/v1/me/history?limit=1").await?;
    assert_eq!(ids(&limited, "recent_tracks", "track"), [a.as_str()]);
    let theirs = get(&mesh, &bob, "/v1/me/history").await?;
    assert_eq!(theirs["recent_tracks"], json!([]), "bob only skipped");

    let artist = first["track"]["artists"][0]["id"]
        .as_str()
        .unwrap_or_default();
    let top = format!("/v1/artists/{artist}/top-tracks");
    until(&mesh, &bob, &top, |answer| {
        answer["tracks"][0]["track"]["id"] == a.as_str() && answer["tracks"][0]["plays"] == 2
    })
    .await?;
    for (path, status) in [
        ("/v1/artists/nobody/top-tracks", StatusCode::NOT_FOUND),
        ("/v1/me/history?limit=51", StatusCode::BAD_REQUEST),
    ] {
        let response = mesh
            .http
            .get(mesh.url(path))
            .bearer_auth(&ann)
            .send()
            .await?;
        assert_eq!(response.status(), status, "{path}");
    }
    mesh.stop().await
}
