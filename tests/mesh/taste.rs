//! Likes and playlists teach recommendations through the real services: REST at the
//! gateway → playlist-svc (outbox) → the embedded bus → reco-svc → REST again.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::support::RunningMesh;

/// Two real songs (singularity-music, installed by scripts/music.sh).
pub(crate) const SONGS: [&str; 2] = [
    "/usr/share/games/singularity/music/lose/Chimes They Fade.ogg",
    "/usr/share/games/singularity/music/lose/March Thee to Dis.ogg",
];

/// Uploads `path` as the admin and returns its track id.
pub(crate) async fn ingest(mesh: &RunningMesh, admin: &str, path: &str) -> anyhow::Result<String> {
    let song = std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("{path}: {e}: run scripts/music.sh to install the music"))?;
    let sha = hex::encode(Sha256::digest(&song));
    let body: Value = mesh
        .http
        .put(mesh.url(&format!("/v1/library/uploads/{sha}?file_name=song.ogg")))
        .bearer_auth(admin)
        .body(song)
        .send()
        .await?
        .json()
        .await?;
    anyhow::ensure!(body["outcome"] == "ingested", "{body}");
    Ok(body["track_id"].as_str().unwrap_or_default().to_owned())
}

pub(crate) async fn get(mesh: &RunningMesh, token: &str, path: &str) -> anyhow::Result<Value> {
    let response = mesh
        .http
        .get(mesh.url(path))
        .bearer_auth(token)
        .send()
        .await?;
    anyhow::ensure!(
        response.status() == StatusCode::OK,
        "{path}: {}",
        response.status()
    );
    Ok(response.json().await?)
}

/// The first track of an answer and its reason.
fn first(answer: &Value) -> (String, String) {
    let track = &answer["tracks"][0];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    (text(&track["track_id"]), text(&track["reason"]))
}

/// The reasons of an answer's tracks, in order.
fn reasons(answer: &Value) -> Vec<&str> {
    answer["tracks"]
        .as_array()
        .map(|t| t.iter().filter_map(|t| t["reason"].as_str()).collect())
        .unwrap_or_default()
}

/// Waits until `check` holds for what `path` answers; on a timeout, says what it answered last.
pub(crate) async fn until(
    mesh: &RunningMesh,
    token: &str,
    path: &str,
    check: impl Fn(&Value) -> bool,
) -> anyhow::Result<()> {
    let reached = tunemesh_testkit::eventually(Duration::from_secs(30), || async {
        let answer = get(mesh, token, path).await?;
        anyhow::ensure!(check(&answer), "{answer}");
        Ok(())
    })
    .await;
    match reached {
        Ok(()) => Ok(()),
        Err(error) => {
            let last = get(mesh, token, path).await;
            Err(error.context(format!("{path} last answered {last:?}")))
        }
    }
}

/// Waits until `path`'s first track and reason are `want`.
async fn until_first(
    mesh: &RunningMesh,
    token: &str,
    path: &str,
    want: (&str, &str),
) -> anyhow::Result<()> {
    until(mesh, token, path, |answer| {
        let (track, reason) = first(answer);
        (track.as_str(), reason.as_str()) == want
    })
    .await
}

#[tokio::test]
async fn a_playlist_relates_its_tracks_and_a_like_steers_until_both_are_undone()
-> anyhow::Result<()> {
    let mesh = RunningMesh::start().await?;
    mesh.wait_ready().await?;
    let [ann, bob] = mesh.listeners(["ann", "bob"]).await?;
    let a = ingest(&mesh, &ann, SONGS[0]).await?;
    let b = ingest(&mesh, &ann, SONGS[1]).await?;

    let created = mesh
        .http
        .post(mesh.url("/v1/playlists"))
        .bearer_auth(&ann)
        .json(&json!({ "name": "mix", "track_ids": [a, b] }))
        .send()
        .await?;
    assert_eq!(created.status(), StatusCode::CREATED);
    let playlist: Value = created.json().await?;
    let id = playlist["id"].as_str().expect("a playlist id").to_owned();
    let similar = format!("/v1/tracks/{a}/similar");
    until_first(&mesh, &bob, &similar, (&b, "in_same_playlists")).await?;

    let liked = mesh.http.put(mesh.url(&format!("/v1/me/liked/{a}")));
    assert_eq!(
        liked.bearer_auth(&bob).send().await?.status(),
        StatusCode::OK
    );
    until_first(
        &mesh,
        &bob,
        "/v1/recommendations",
        (&b, "in_same_playlists"),
    )
    .await?;

    let deleted = mesh.http.delete(mesh.url(&format!("/v1/playlists/{id}")));
    assert!(
        deleted
            .bearer_auth(&ann)
            .send()
            .await?
            .status()
            .is_success()
    );
    // The songs may share an artist, which still relates them; the playlist no longer does.
    until(&mesh, &bob, &similar, |answer| {
        !reasons(answer).contains(&"in_same_playlists")
    })
    .await?;
    let unliked = mesh.http.delete(mesh.url(&format!("/v1/me/liked/{a}")));
    assert!(
        unliked
            .bearer_auth(&bob)
            .send()
            .await?
            .status()
            .is_success()
    );
    until(&mesh, &bob, "/v1/recommendations", |answer| {
        reasons(answer).iter().all(|r| *r == "popular")
    })
    .await?;
    mesh.stop().await
}
