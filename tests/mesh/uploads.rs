//! Music in without a terminal: the first account is the admin, and only it adds files through
//! `PUT /v1/library/uploads/{sha256}`, streamed to the real player-svc and ingested.

use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use tunemesh_testkit::accounts;

use crate::support::RunningMesh;

/// Real music (singularity-music, installed by scripts/music.sh): Ogg Vorbis, 42.7 s.
const SONG: &str = "/usr/share/games/singularity/music/lose/Chimes They Fade.ogg";

fn read_song() -> Vec<u8> {
    std::fs::read(SONG).unwrap_or_else(|e| {
        panic!("{SONG}: {e}: run scripts/music.sh to install the Debian music packages")
    })
}

async fn put(
    mesh: &RunningMesh,
    token: &str,
    sha256: &str,
    name: &str,
    body: impl Into<reqwest::Body>,
) -> anyhow::Result<(StatusCode, Value)> {
    let response = mesh
        .http
        .put(mesh.url(&format!(
            "/v1/library/uploads/{sha256}?file_name={}",
            name.replace(' ', "%20")
        )))
        .bearer_auth(token)
        .body(body)
        .send()
        .await?;
    let status = response.status();
    Ok((status, response.json().await.unwrap_or_default()))
}

fn token(session: &Value) -> String {
    session["access_token"]
        .as_str()
        .expect("a session has an access token")
        .to_owned()
}

#[tokio::test]
async fn the_first_account_adds_music_and_nobody_else_can() -> anyhow::Result<()> {
    let song = read_song();
    let sha = hex::encode(Sha256::digest(&song));
    let mesh = RunningMesh::start_with(|settings| {
        settings.gateway.uploads.max_bytes = song.len() as u64;
    })
    .await?;
    mesh.wait_ready().await?;
    let base = mesh.url("");
    let ann = accounts::sign_up(&mesh.http, &base, "ann", "correct horse battery").await?;
    let bob = accounts::sign_up(&mesh.http, &base, "bob", "another long passphrase").await?;
    assert_eq!(ann["roles"], serde_json::json!(["admin"]), "{ann}");
    assert_eq!(bob["roles"], serde_json::json!([]), "{bob}");

    // Not the admin: refused before a byte is read, saying who may.
    let (status, body) = put(&mesh, &token(&bob), &sha, "song.ogg", song.clone()).await?;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("first account")),
        "{body}"
    );
    let anonymous = mesh
        .http
        .put(mesh.url(&format!("/v1/library/uploads/{sha}?file_name=a.ogg")))
        .body(song.clone())
        .send()
        .await?;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // Hostile shapes are refused with a reason.
    let admin = token(&ann);
    for (sha256, name) in [
        ("abc", "a.ogg"),
        (sha.as_str(), "../a.ogg"),
        (sha.as_str(), ""),
    ] {
        let (status, body) = put(&mesh, &admin, sha256, name, song.clone()).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{sha256} {name}: {body}");
    }
    let mut too_big = song.clone();
    too_big.push(0);
    let (status, body) = put(&mesh, &admin, &sha, "song.ogg", too_big).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("max_bytes"))
    );

    // Bytes that do not hash to the path fail the file, not the request.
    let (status, body) = put(&mesh, &admin, &"0".repeat(64), "song.ogg", song.clone()).await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["outcome"], "failed", "{body}");
    assert_eq!(body["reason"], "checksum_mismatch", "{body}");

    // The real file becomes a playable track.
    let (status, body) = put(&mesh, &admin, &sha, "Chimes They Fade.ogg", song.clone()).await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["outcome"], "ingested", "{body}");
    let track_id = body["track_id"].as_str().expect("a track id").to_owned();
    let track = mesh
        .http
        .get(mesh.url(&format!("/v1/tracks/{track_id}")))
        .bearer_auth(token(&bob))
        .send()
        .await?;
    assert_eq!(
        track.status(),
        StatusCode::OK,
        "everyone sees the new track"
    );

    // Sending the same content again is answered at once from the header: resumable batches.
    let (status, body) = put(&mesh, &admin, &sha, "copy.ogg", song).await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["outcome"], "skipped", "{body}");
    assert_eq!(body["reason"], "duplicate_content", "{body}");
    assert_eq!(body["track_id"], track_id.as_str(), "{body}");
    mesh.stop().await
}
