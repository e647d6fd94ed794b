//! An app's offline batch through the whole mesh, under production's play rules: scrobbles
//! with old times are past plays that player-svc believes where they fit in the listener's
//! time, so each counts once, timed when it happened; a re-sent batch counts nothing more,
//! and two plays claimed at the same moment count once.

use std::time::Duration;

use serde_json::Value;

use crate::subsonic::app_password;
use crate::support::RunningMesh;
use crate::taste::{SONGS, get, ingest};

/// Sends a `scrobble` and checks it is acknowledged.
async fn scrobble(mesh: &RunningMesh, auth: &str, query: &str) -> anyhow::Result<()> {
    let url = mesh.url(&format!("/rest/scrobble?{auth}&f=json&{query}"));
    let body: Value = mesh.http.get(url).send().await?.json().await?;
    let answer = &body["subsonic-response"];
    anyhow::ensure!(answer["status"] == "ok", "scrobble?{query}: {answer}");
    Ok(())
}

/// All-time plays of each of `tracks` (one artist's, as the top tracks count them).
async fn plays(mesh: &RunningMesh, user: &str, tracks: &[&str]) -> anyhow::Result<Vec<u64>> {
    let mut counts = Vec::new();
    for track in tracks {
        let facts = get(mesh, user, &format!("/v1/tracks/{track}")).await?;
        let artist = facts["artists"][0]["id"].as_str().unwrap_or_default();
        let top = get(mesh, user, &format!("/v1/artists/{artist}/top-tracks")).await?;
        counts.push(
            top["tracks"]
                .as_array()
                .and_then(|t| t.iter().find(|t| t["track"]["id"] == *track))
                .map_or(0, |t| t["plays"].as_u64().unwrap_or(0)),
        );
    }
    Ok(counts)
}

/// Waits for `want` plays of `tracks`, then a little more for a late one that should not be.
async fn settled(
    mesh: &RunningMesh,
    user: &str,
    tracks: &[&str],
    want: &[u64],
) -> anyhow::Result<()> {
    for _ in 0..100 {
        if plays(mesh, user, tracks).await? == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let seen = plays(mesh, user, tracks).await?;
    anyhow::ensure!(seen == want, "plays of {tracks:?}: {seen:?}, not {want:?}");
    Ok(())
}

#[tokio::test]
async fn an_offline_batch_of_scrobbles_counts_each_play_once_at_its_time() -> anyhow::Result<()> {
    // Production's play rules: only what is needed to transcode and to poll is changed.
    let mesh = RunningMesh::start_with(|settings| {
        settings.player.qualities = vec!["low".to_owned()];
        settings.gateway.rate_limits.per_ip.per_minute = 0;
        settings.gateway.rate_limits.per_user.per_minute = 0;
    })
    .await?;
    mesh.wait_ready().await?;
    let [ann] = mesh.listeners(["ann"]).await?;
    let a = ingest(&mesh, &ann, SONGS[0]).await?;
    let b = ingest(&mesh, &ann, SONGS[1]).await?;
    let secret = app_password(&mesh, &ann, "Symfonium", false).await?;
    let auth = format!("u=ann&p={secret}&v=1.16.1&c=Symfonium");

    // Three plays of this morning, sent out of order in one call, as a phone back online
    // does: a at +20 min, b at +10 min, a at the start.
    let start = tunemesh_runtime::clock::now_ms() - 3 * 3600 * 1000;
    let minute = 60 * 1000;
    let batch = format!(
        "id={a}&id={b}&id={a}&time={}&time={}&time={start}",
        start + 20 * minute,
        start + 10 * minute
    );
    scrobble(&mesh, &auth, &batch).await?;
    let tracks = [a.as_str(), b.as_str()];
    settled(&mesh, &ann, &tracks, &[2, 1]).await?;
    // The history is ordered by when the plays happened, not by when they were sent.
    let history = get(&mesh, &ann, "/v1/me/history").await?;
    let recent: Vec<&str> = history["recent_tracks"]
        .as_array()
        .map(|t| t.iter().filter_map(|t| t["track"]["id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(recent, tracks, "{history}");

    // The app did not get the answer and sends the batch again: nothing more counts.
    scrobble(&mesh, &auth, &batch).await?;
    settled(&mesh, &ann, &tracks, &[2, 1]).await?;

    // Two plays claimed five seconds apart: one listener heard one of them at most.
    let later = start + 60 * minute;
    let overlapping = format!("id={b}&id={a}&time={later}&time={}", later + 5000);
    scrobble(&mesh, &auth, &overlapping).await?;
    settled(&mesh, &ann, &tracks, &[2, 2]).await?;
    mesh.stop().await
}
