//! A real Subsonic client library (py-sonic 1.2.0 from PyPI, installed by scripts/deps.sh)
//! through a whole session against `tunemesh up` with music: sign-in, library sync, browsing,
//! playback, search, playlists, stars and scrobbles (tests/mesh/subsonic_client.py), in both
//! wire forms (form POST to `.view`, GET without it) and both ways apps authenticate; then the
//! services are asked what the session left behind: one play per scrobbled listen, however
//! often it was sent.

use std::time::Duration;

use serde_json::{Value, json};

use crate::history::plays_at_once;
use crate::support::RunningMesh;
use crate::taste::{SONGS, get, ingest, until};

const MINUTE: Duration = Duration::from_secs(60);

/// Creates an app password for `token`'s account; its secret.
pub(crate) async fn app_password(
    mesh: &RunningMesh,
    token: &str,
    name: &str,
    legacy: bool,
) -> anyhow::Result<String> {
    let response = mesh
        .http
        .post(mesh.url("/v1/me/subsonic-passwords"))
        .bearer_auth(token)
        .json(&if legacy {
            json!({ "name": name, "legacy_token_auth": true })
        } else {
            json!({ "name": name })
        })
        .send()
        .await?;
    anyhow::ensure!(response.status() == 201, "create: {}", response.status());
    let created: Value = response.json().await?;
    Ok(created["password"].as_str().unwrap_or_default().to_owned())
}

/// Runs the py-sonic session; what it saw.
async fn session(
    mesh: &RunningMesh,
    user: &str,
    secret: &str,
    wire: &str,
    auth: &str,
    format: &str,
    listened_ago: Duration,
) -> anyhow::Result<Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mesh/subsonic_client.py");
    let output = tokio::process::Command::new("python3")
        .arg(script)
        .arg("http://127.0.0.1")
        .arg(mesh.gateway.port().to_string())
        .args([user, secret, wire, auth, format])
        .arg(listened_ago.as_secs().to_string())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), output).await??;
    let stderr = String::from_utf8_lossy(&output.stderr);
    anyhow::ensure!(
        output.status.success(),
        "py-sonic ({wire}, {auth}, {format}) failed (py-sonic comes from scripts/deps.sh): {stderr}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    Ok(serde_json::from_str(last)?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_subsonic_client_library_completes_a_whole_session() -> anyhow::Result<()> {
    // Two rungs, so `maxBitRate` has a lower one to pick (plays_at_once keeps only `low`).
    let mesh = RunningMesh::start_with(|settings| {
        plays_at_once(settings);
        settings.player.qualities = vec!["low".to_owned(), "normal".to_owned()];
    })
    .await?;
    mesh.wait_ready().await?;
    let [admin, ann] = mesh.listeners(["admin", "ann"]).await?;
    let mut tracks = Vec::new();
    for song in SONGS {
        tracks.push(ingest(&mesh, &admin, song).await?);
    }
    tracks.sort();
    // Search indexes what ingest announced: wait until both songs are found.
    until(&mesh, &ann, "/v1/search?q=march", |answer| {
        answer.to_string().contains(&tracks[0]) || answer.to_string().contains(&tracks[1])
    })
    .await?;

    // An app password for `u`+`p`, and one marked for legacy clients' `t`+`s` tokens.
    let plain = app_password(&mesh, &ann, "DSub", false).await?;
    let tokens = app_password(&mesh, &ann, "Symfonium", true).await?;
    let sessions = [
        (&plain, "post-view", "password", "json", MINUTE * 10),
        (&tokens, "get-bare", "token", "json", MINUTE * 20),
        (&tokens, "post-view", "token", "xml", MINUTE * 30),
        (&plain, "get-bare", "password", "xml", MINUTE * 40),
    ];
    let mut scrobbled = Vec::new();
    for (secret, wire, auth, format, ago) in sessions {
        let seen = session(&mesh, "ann", secret, wire, auth, format, ago).await?;
        assert_eq!(
            seen["songs"],
            json!(tracks),
            "{wire} {auth} {format}: {seen}"
        );
        assert!(seen["stream_bytes"].as_u64().unwrap_or_default() > 10_000);
        scrobbled.push(seen["scrobbled"].as_str().unwrap_or_default().to_owned());
    }

    // Each session scrobbled one listen (at its own time) twice: one play per session,
    // never two.
    let plays = sessions.len();
    let scrobbled = scrobbled[0].clone();
    let facts = get(&mesh, &ann, &format!("/v1/tracks/{scrobbled}")).await?;
    let artist = facts["artists"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let top = format!("/v1/artists/{artist}/top-tracks");
    until(&mesh, &ann, &top, |answer| {
        answer["tracks"][0]["track"]["id"] == scrobbled.as_str()
            && answer["tracks"][0]["plays"] == plays
    })
    .await?;
    // Nothing more arrives later.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let answer = get(&mesh, &ann, &top).await?;
    assert_eq!(answer["tracks"][0]["plays"], plays, "{answer}");
    mesh.stop().await
}
