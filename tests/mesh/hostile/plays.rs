//! Hostile: plays. A client decides what it reports as heard; the server decides what counts.
//! A play claimed faster than the session has been open, or more plays than one listener can
//! hear in real time, do not count, over REST and gRPC-web alike; a re-sent report still
//! counts once.

use std::time::Duration;

use futures::future::try_join_all;
use serde_json::{Value, json};
use tunemesh::Settings;
use tunemesh_proto::player::v1 as pb;
use tunemesh_proto::prost::Message;
use tunemesh_testkit::accounts;

use crate::support::RunningMesh;

/// Real Ogg Vorbis of about 40 s: longer than the 30-second rule, quick to transcode.
const MARCH: &str = "/usr/share/games/singularity/music/lose/March Thee to Dis.ogg";

/// The mesh with the one quality tests need, `configure` applied, and one track ingested.
pub(super) async fn mesh_with_a_track(
    configure: impl FnOnce(&mut Settings),
) -> anyhow::Result<(RunningMesh, String)> {
    let mesh = RunningMesh::start_with(|settings| {
        settings.player.qualities = vec!["low".to_owned()];
        configure(settings);
    })
    .await?;
    mesh.wait_ready().await?;
    anyhow::ensure!(
        std::path::Path::new(MARCH).is_file(),
        "{MARCH} is missing: run scripts/music.sh"
    );
    // Uploaded as the ingest job does: by its own certificate (service `ingest`).
    let mut track = None;
    let server = format!("http://{}", mesh.service("player"));
    let channel = tunemesh_player::upload::channel(&server, &mesh.tls("ingest")).await?;
    tunemesh_player::upload::upload_files(channel, vec![MARCH.into()], |_, result| {
        track = result.ok().map(|r| r.track_id)
    })
    .await?;
    let track = track
        .filter(|t| !t.is_empty())
        .ok_or_else(|| anyhow::anyhow!("no track"))?;
    Ok((mesh, track))
}

/// Signs up a fresh listener and returns its access token.
pub(super) async fn sign_up(mesh: &RunningMesh, name: &str) -> anyhow::Result<String> {
    let base = mesh.url("");
    let session = accounts::sign_up(&mesh.http, &base, name, "correct horse battery").await?;
    accounts::access_token(&session)
}

/// `POST /v1/playback/report`; the answer's `play_counted`.
async fn rest_report(mesh: &RunningMesh, token: &str, report: &Value) -> anyhow::Result<bool> {
    let response = mesh
        .http
        .post(mesh.url("/v1/playback/report"))
        .bearer_auth(token)
        .json(report)
        .send()
        .await?;
    let status = response.status();
    let answer: Value = response.json().await?;
    anyhow::ensure!(status == 200, "report: {status} {answer}");
    Ok(answer["play_counted"].as_bool().unwrap_or(false))
}

fn rest(session: &str, sequence: u32, track: &str, played_ms: u64, state: &str) -> Value {
    let mut report = json!({
        "play_session_id": session, "sequence": sequence, "track_id": track,
        "position_ms": played_ms.min(30_000), "played_ms": played_ms, "state": state,
    });
    if state == "ended" {
        report["end_reason"] = json!("completed");
    }
    report
}

/// A gRPC-web call through the gateway, as a browser makes it: the answer's messages and
/// its `grpc-status`.
pub(super) async fn grpc_web(
    mesh: &RunningMesh,
    path: &str,
    token: &str,
    message: &impl Message,
) -> anyhow::Result<(Vec<Vec<u8>>, String)> {
    let payload = message.encode_to_vec();
    let mut body = vec![0];
    body.extend(u32::try_from(payload.len())?.to_be_bytes());
    body.extend(payload);
    let response = mesh
        .http
        .post(mesh.url(path))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .bearer_auth(token)
        .body(body)
        .send()
        .await?;
    anyhow::ensure!(response.status() == 200, "http {}", response.status());
    let mut status = response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = response.bytes().await?;
    let (mut rest, mut messages) = (&bytes[..], Vec::new());
    while rest.len() >= 5 {
        let len = u32::from_be_bytes(rest[1..5].try_into()?) as usize;
        anyhow::ensure!(rest.len() >= 5 + len, "truncated grpc-web frame");
        let frame = &rest[5..5 + len];
        if rest[0] & 0x80 != 0 {
            let trailers = String::from_utf8_lossy(frame).to_string();
            for line in trailers.split("\r\n") {
                if let Some(value) = line.strip_prefix("grpc-status:") {
                    status = Some(value.trim().to_owned());
                }
            }
        } else {
            messages.push(frame.to_vec());
        }
        rest = &rest[5 + len..];
    }
    Ok((messages, status.unwrap_or_default()))
}

fn web_report(
    session: &str,
    sequence: u32,
    track: &str,
    played_s: u64,
) -> pb::ReportPlaybackRequest {
    let played = prost_duration(played_s);
    pb::ReportPlaybackRequest {
        play_session_id: session.to_owned(),
        sequence,
        track_id: track.to_owned(),
        played: Some(played),
        state: if sequence == 0 {
            pb::PlaybackState::Playing
        } else {
            pb::PlaybackState::Ended
        } as i32,
        end_reason: if sequence == 0 {
            0
        } else {
            pb::PlaybackEndReason::Completed as i32
        },
        ..pb::ReportPlaybackRequest::default()
    }
}

fn prost_duration(seconds: u64) -> tunemesh_proto::prost_types::Duration {
    tunemesh_proto::prost_types::Duration {
        seconds: i64::try_from(seconds).unwrap_or(i64::MAX),
        nanos: 0,
    }
}

const REPORT: &str = "/tunemesh.player.v1.PlayerService/ReportPlayback";

#[tokio::test]
async fn three_minutes_claimed_one_second_into_a_session_do_not_count() -> anyhow::Result<()> {
    let (mesh, track) = mesh_with_a_track(|_| {}).await?;
    let token = sign_up(&mesh, "claimer").await?;

    // REST: the session opens, and a second later claims three minutes heard.
    assert!(!rest_report(&mesh, &token, &rest("rest-1", 0, &track, 0, "playing")).await?);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let counted = rest_report(&mesh, &token, &rest("rest-1", 1, &track, 180_000, "ended")).await?;
    assert!(!counted, "3 minutes after 1 s counted over REST");

    // gRPC-web: the same claim, through the gateway's gRPC proxy.
    let (_, status) = grpc_web(&mesh, REPORT, &token, &web_report("web-1", 0, &track, 0)).await?;
    assert_eq!(status, "0");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (messages, status) =
        grpc_web(&mesh, REPORT, &token, &web_report("web-1", 1, &track, 180)).await?;
    assert_eq!(status, "0");
    let answer = pb::ReportPlaybackResponse::decode(messages.first().map_or(&[][..], |m| m))?;
    assert!(
        !answer.play_counted,
        "3 minutes after 1 s counted over gRPC-web"
    );
    let credited = answer.played.map_or(0, |d| d.seconds);
    assert!(credited < 30, "credited {credited} s after 1 s open");
    mesh.stop().await
}

#[tokio::test]
async fn one_listener_cannot_count_more_than_real_time_across_parallel_sessions()
-> anyhow::Result<()> {
    // The clock check is out of the way here (generous slack), so only the per-user budget
    // stands between twenty 31-second claims and twenty plays.
    let (mesh, track) = mesh_with_a_track(|settings| {
        settings.player.play_clock_slack = Duration::from_secs(3600);
    })
    .await?;
    let token = sign_up(&mesh, "farmer").await?;
    let sessions: Vec<String> = (0..20).map(|i| format!("farm-{i}")).collect();
    let opened = sessions.iter().map(|s| {
        let report = rest(s, 0, &track, 0, "playing");
        let (mesh, token) = (&mesh, &token);
        async move { rest_report(mesh, token, &report).await }
    });
    try_join_all(opened).await?;
    let claims = sessions.iter().map(|s| {
        let report = rest(s, 1, &track, 31_000, "ended");
        let (mesh, token) = (&mesh, &token);
        async move { rest_report(mesh, token, &report).await }
    });
    let counted = try_join_all(claims)
        .await?
        .into_iter()
        .filter(|c| *c)
        .count();
    // 45 s of budget hold one 30-second play; the rest count as real time passes.
    assert_eq!(
        counted, 1,
        "{counted} plays counted in a few seconds of wall clock"
    );

    // Another listener is not held back by the first one's budget.
    let other = sign_up(&mesh, "honest").await?;
    assert!(!rest_report(&mesh, &other, &rest("honest-1", 0, &track, 0, "playing")).await?);
    assert!(rest_report(&mesh, &other, &rest("honest-1", 1, &track, 31_000, "ended")).await?);
    mesh.stop().await
}

#[tokio::test]
async fn a_re_sent_report_still_counts_once() -> anyhow::Result<()> {
    let (mesh, track) = mesh_with_a_track(|settings| {
        settings.player.play_clock_slack = Duration::from_secs(3600);
    })
    .await?;
    let token = sign_up(&mesh, "resender").await?;
    assert!(!rest_report(&mesh, &token, &rest("once", 0, &track, 0, "playing")).await?);
    let end = rest("once", 1, &track, 31_000, "ended");
    assert!(rest_report(&mesh, &token, &end).await?);
    for _ in 0..5 {
        assert!(
            rest_report(&mesh, &token, &end).await?,
            "a re-sent report is acknowledged"
        );
    }
    let (messages, status) =
        grpc_web(&mesh, REPORT, &token, &web_report("once", 1, &track, 31)).await?;
    assert_eq!(status, "0");
    let answer = pb::ReportPlaybackResponse::decode(messages.first().map_or(&[][..], |m| m))?;
    assert!(
        answer.play_counted,
        "the same report over gRPC-web is the same report"
    );
    mesh.stop().await
}

#[tokio::test]
async fn report_limits_hold_over_grpc_web_as_over_rest() -> anyhow::Result<()> {
    let (mesh, track) = mesh_with_a_track(|_| {}).await?;
    let token = sign_up(&mesh, "limits").await?;
    let mut long_context = web_report("limits-1", 0, &track, 0);
    long_context.context = Some(pb::PlayContext {
        r#type: pb::PlayContextType::Album as i32,
        id: "x".repeat(300),
    });
    let (_, status) = grpc_web(&mesh, REPORT, &token, &long_context).await?;
    assert_eq!(
        status, "3",
        "a 300-character context id is INVALID_ARGUMENT"
    );
    let mut odd_quality = web_report("limits-2", 0, &track, 0);
    odd_quality.quality = 77;
    let (_, status) = grpc_web(&mesh, REPORT, &token, &odd_quality).await?;
    assert_eq!(status, "3", "an unknown quality is INVALID_ARGUMENT");
    let mut climbing = web_report("../limits", 0, &track, 0);
    climbing.play_session_id = "../limits".to_owned();
    let (_, status) = grpc_web(&mesh, REPORT, &token, &climbing).await?;
    assert_eq!(status, "3", "a session id with '..' is INVALID_ARGUMENT");
    mesh.stop().await
}
