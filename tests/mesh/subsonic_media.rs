//! Subsonic playback through the whole mesh with real music: `stream` of the transcoded
//! rungs (chosen by `maxBitRate`, with ranges), from a time offset through player-svc's Ogg
//! page index with an exact `Content-Length`, and `scrobble`s that reach reco-svc as plays,
//! once per (user, track, time) however often an app sends them, old offline ones included.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::history::plays_at_once;
use crate::subsonic::app_password;
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
    let secret = app_password(&mesh, &ann, "DSub", false).await?;
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

    // Scrobbles: a sent three times (JSON, JSON, XML), b from an offline batch: past plays,
    // within the two weeks player-svc accepts.
    let now_ms = tunemesh_runtime::clock::now_ms();
    let time = now_ms - 2 * 3600 * 1000;
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
        &format!("id={b}&time={}", now_ms - 3600 * 1000),
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

#[tokio::test]
async fn subsonic_cover_art_resolves_song_album_artist_and_playlist_ids() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let colours = crate::images::library(root.path());
    let mesh = RunningMesh::start_with(|settings| {
        settings.player.library = Some(root.path().to_owned());
        settings.player.qualities = vec!["low".into()];
        settings.gateway.rate_limits.per_ip.per_minute = 0;
        settings.gateway.rate_limits.per_user.per_minute = 0;
    })
    .await?;
    mesh.wait_ready().await?;
    let [ivy] = mesh.listeners(["ivy"]).await?;
    let secret = app_password(&mesh, &ivy, "Symfonium", false).await?;
    let auth = format!("u=ivy&p={secret}&c=Symfonium");
    let tracks = tunemesh_testkit::eventually(Duration::from_secs(120), || async {
        let page = get(&mesh, &ivy, "/v1/tracks?page_size=100").await?;
        let tracks = page["tracks"].as_array().cloned().unwrap_or_default();
        let covered = tracks
            .iter()
            .filter(|t| t["cover"]["id"].is_string())
            .count();
        anyhow::ensure!(covered == colours.len(), "not yet: {page}");
        Ok(tracks)
    })
    .await?;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let track = &tracks[0];
    let cover = text(&track["cover"]["id"]);
    let album = get(
        &mesh,
        &ivy,
        &format!("/v1/albums/{}", text(&track["album"]["id"])),
    )
    .await?;
    let artist = text(&track["artists"][0]["id"]);

    // The cover's own id is for ever; a song's, album's or artist's is revalidated.
    let direct = rest(&mesh, &auth, "getCoverArt", &format!("id={cover}&size=64")).await?;
    assert_eq!(direct.status(), StatusCode::OK);
    assert_eq!(
        header(&direct, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    let etag = header(&direct, "etag");
    let small = image::load_from_memory(&direct.bytes().await?)?;
    assert_eq!((small.width(), small.height()), (64, 32));
    let song = rest(
        &mesh,
        &auth,
        "getCoverArt.view",
        &format!("id={}&size=64", text(&track["id"])),
    )
    .await?;
    assert_eq!(header(&song, "etag"), etag, "a song's cover is its picture");
    assert_eq!(header(&song, "cache-control"), "private, max-age=86400");
    for id in [text(&album["id"]), artist] {
        let response = rest(&mesh, &auth, "getCoverArt", &format!("id={id}&size=128")).await?;
        assert_eq!(response.status(), StatusCode::OK, "{id}");
        assert_eq!(header(&response, "content-type"), "image/jpeg", "{id}");
        let picture = image::load_from_memory(&response.bytes().await?)?;
        assert_eq!(picture.width(), 128, "{id}");
    }

    // A playlist's cover is the mosaic of its first songs' covers.
    let ids: Vec<String> = tracks.iter().map(|t| text(&t["id"])).collect();
    let playlist: Value = mesh
        .http
        .post(mesh.url("/v1/playlists"))
        .bearer_auth(&ivy)
        .json(&json!({ "name": "Four colours", "track_ids": ids }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let query = format!("id={}&size=128", text(&playlist["id"]));
    let mosaic = rest(&mesh, &auth, "getCoverArt", &query).await?;
    assert_eq!(mosaic.status(), StatusCode::OK);
    assert!(
        header(&mosaic, "etag").contains('.'),
        "a mosaic's id joins four"
    );
    let picture = image::load_from_memory(&mosaic.bytes().await?)?;
    assert_eq!((picture.width(), picture.height()), (128, 128));

    // Unknown ids are error 70, in XML for DSub.
    for id in [
        "tr_000000000000000000000000",
        "al_000000000000000000000000",
        "nothing",
    ] {
        let response = rest(&mesh, &auth, "getCoverArt", &format!("id={id}")).await?;
        assert_eq!(header(&response, "content-type"), "text/xml; charset=utf-8");
        let xml = response.text().await?;
        assert!(xml.contains(r#"<error code="70""#), "{id}: {xml}");
    }
    mesh.stop().await
}

/// With production's play rules (heard time held to player-svc's clock): an app's now
/// playing opens the session its scrobble ends, credited with the time really gone by, so it
/// counts; a scrobble out of nowhere claims a whole play at once and is recorded, not counted.
#[tokio::test]
async fn a_scrobble_after_now_playing_counts_by_the_clock_and_one_out_of_nowhere_does_not()
-> anyhow::Result<()> {
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
    let secret = app_password(&mesh, &ann, "DSub", false).await?;
    let auth = format!("u=ann&p={secret}&c=DSub");
    ok(
        &mesh,
        &auth,
        "scrobble",
        &format!("id={b}&submission=false"),
    )
    .await?;
    // More than the 30 s that make a play.
    tokio::time::sleep(Duration::from_secs(31)).await;
    ok(&mesh, &auth, "scrobble", &format!("id={a}")).await?;
    ok(&mesh, &auth, "scrobble", &format!("id={b}")).await?;
    until(&mesh, &ann, "/v1/me/history", |history| {
        history["recent_tracks"][0]["track"]["id"] == b.as_str()
    })
    .await?;
    // a's event went first; give it the time to have been counted, were it counted.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let history = get(&mesh, &ann, "/v1/me/history").await?;
    let recent = history["recent_tracks"].as_array().map_or(0, Vec::len);
    assert_eq!(recent, 1, "a's claim of a whole play at once: {history}");
    mesh.stop().await
}
