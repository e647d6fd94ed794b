//! Subsonic playback through the whole mesh with real music: `stream` of the transcoded
//! rungs (chosen by `maxBitRate`, with ranges), from a time offset through player-svc's Ogg
//! page index with an exact `Content-Length`, and `scrobble`s that reach reco-svc as plays,
//! once per (user, track, time) however often an app sends them, old offline ones included.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::history::plays_at_once;
use crate::support::RunningMesh;
use crate::taste::{SONGS, get, ingest, until};

/// The answer to `GET /rest/<method>?<query>` (credentials added).
async fn rest(
    mesh: &RunningMesh,
    auth: &str,
    method: &str,
    query: &str,
) -> anyhow::Result<reqwest::Response> {
    let url = mesh.url(&format!("/rest/{method}?{auth}&{query}"));
    Ok(mesh.http.get(url).send().await?)
}

/// A JSON call's `subsonic-response`, checked to be ok.
async fn ok(mesh: &RunningMesh, auth: &str, method: &str, query: &str) -> anyhow::Result<Value> {
    let body: Value = rest(mesh, auth, method, &format!("f=json&{query}"))
        .await?
        .json()
        .await?;
    let answer = body["subsonic-response"].clone();
    anyhow::ensure!(answer["status"] == "ok", "{method}?{query}: {answer}");
    Ok(answer)
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A whole audio answer: its length header, its ETag and its bytes.
async fn audio(
    mesh: &RunningMesh,
    auth: &str,
    query: &str,
) -> anyhow::Result<(u64, String, Vec<u8>)> {
    let response = rest(mesh, auth, "stream", query).await?;
    anyhow::ensure!(response.status() == StatusCode::OK, "{query}");
    anyhow::ensure!(header(&response, "content-type").starts_with("audio/ogg"));
    let length = header(&response, "content-length").parse()?;
    let etag = header(&response, "etag");
    Ok((length, etag, response.bytes().await?.to_vec()))
}

#[tokio::test]
async fn subsonic_streams_real_rungs_from_offsets_and_scrobbles_count_once() -> anyhow::Result<()> {
    let mesh = RunningMesh::start_with(|settings| {
        plays_at_once(settings);
        settings.player.qualities = vec!["low".to_owned(), "normal".to_owned()];
        // The waits below poll as fast as the mesh answers: not what this test is about.
        settings.gateway.rate_limits.per_ip.per_minute = 0;
        settings.gateway.rate_limits.per_user.per_minute = 0;
    })
    .await?;
    mesh.wait_ready().await?;
    let [ann] = mesh.listeners(["ann"]).await?;
    let a = ingest(&mesh, &ann, SONGS[0]).await?;
    let b = ingest(&mesh, &ann, SONGS[1]).await?;
    let created: Value = mesh
        .http
        .post(mesh.url("/v1/me/subsonic-passwords"))
        .bearer_auth(&ann)
        .json(&json!({ "name": "DSub" }))
        .send()
        .await?
        .json()
        .await?;
    let secret = created["password"].as_str().unwrap_or_default();
    let auth = format!("u=ann&p={secret}&v=1.2.0&c=DSub");

    // maxBitRate picks the rung; each is the stored file, whole.
    let (low, low_tag, low_bytes) = audio(&mesh, &auth, &format!("id={a}&maxBitRate=32")).await?;
    let (normal, normal_tag, _) = audio(&mesh, &auth, &format!("id={a}&maxBitRate=0")).await?;
    assert!(low_tag.contains("LOW") && normal_tag.contains("NORMAL"));
    assert_eq!(low_bytes.len() as u64, low);
    assert!(low_bytes.starts_with(b"OggS"));
    assert!(normal > low, "64 kbit/s is larger than 24: {normal} {low}");
    let partial = mesh
        .http
        .get(mesh.url(&format!("/rest/stream?{auth}&id={a}&maxBitRate=32")))
        .header("range", "bytes=100-199")
        .send()
        .await?;
    assert_eq!(partial.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        partial.bytes().await?.to_vec(),
        low_bytes[100..200].to_vec()
    );

    // From 20 s in: a playable Ogg file (headers, then the pages from there), exactly as
    // long as announced, shorter than the whole.
    let query = format!("id={a}&maxBitRate=32&timeOffset=20");
    let (length, _, bytes) = audio(&mesh, &auth, &query).await?;
    assert_eq!(bytes.len() as u64, length, "Content-Length is exact");
    assert!(bytes.starts_with(b"OggS"));
    assert!(length < low && length > low / 4, "{length} of {low}");

    // Scrobbles: a sent three times (JSON, JSON, XML), b from an old offline batch.
    let time = 1_764_000_000_000_u64;
    for _ in 0..2 {
        ok(&mesh, &auth, "scrobble", &format!("id={a}&time={time}")).await?;
    }
    let xml = rest(
        &mesh,
        &auth,
        "scrobble.view",
        &format!("id={a}&time={time}"),
    )
    .await?
    .text()
    .await?;
    assert!(xml.contains(r#"status="ok""#), "{xml}");
    ok(
        &mesh,
        &auth,
        "scrobble",
        &format!("id={b}&submission=false"),
    )
    .await?;
    let now = ok(&mesh, &auth, "getNowPlaying", "").await?;
    assert_eq!(now["nowPlaying"]["entry"][0]["id"], b.as_str(), "{now}");
    assert_eq!(now["nowPlaying"]["entry"][0]["playerName"], "DSub", "{now}");
    ok(
        &mesh,
        &auth,
        "scrobble",
        &format!("id={b}&time=1600000000000"),
    )
    .await?;

    // b's play is in the history after a's: by then a's one play has been counted.
    until(&mesh, &ann, "/v1/me/history", |history| {
        let recent: Vec<&str> = history["recent_tracks"]
            .as_array()
            .map(|t| t.iter().filter_map(|t| t["track"]["id"].as_str()).collect())
            .unwrap_or_default();
        recent.contains(&a.as_str()) && recent.contains(&b.as_str())
    })
    .await?;
    let track = get(&mesh, &ann, &format!("/v1/tracks/{a}")).await?;
    let artist = track["artists"][0]["id"].as_str().unwrap_or_default();
    let top = format!("/v1/artists/{artist}/top-tracks");
    until(&mesh, &ann, &top, |answer| {
        answer["tracks"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["track"]["id"] == a.as_str()))
    })
    .await?;
    // Give a late duplicate the time to arrive, then count.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let answer = get(&mesh, &ann, &top).await?;
    let plays = |id: &str| {
        answer["tracks"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["track"]["id"] == id))
            .map_or(0, |t| t["plays"].as_u64().unwrap_or(0))
    };
    assert_eq!(
        plays(&a),
        1,
        "three scrobbles of one time, four streams: {answer}"
    );
    let other = get(&mesh, &ann, &format!("/v1/tracks/{b}")).await?;
    if other["artists"][0]["id"] == artist {
        assert_eq!(plays(&b), 1, "{answer}");
    }
    mesh.stop().await
}
