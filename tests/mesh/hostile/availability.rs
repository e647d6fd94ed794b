//! Hostile: availability. One account's calls must not take a service away from everyone
//! else: gRPC-web messages over the size limit must not open the mesh breaker of the service
//! they were meant for (issue 13, item 2), and audio streams left unread must not take every
//! stream player-svc allows (item 3).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::task::JoinSet;
use tunemesh_proto::catalog::v1::AudioQuality;
use tunemesh_proto::player::v1 as player;
use tunemesh_proto::player::v1::player_service_client::PlayerServiceClient;
use tunemesh_proto::prost::Message;
use tunemesh_proto::search::v1 as search;
use tunemesh_proto::tonic;
use tunemesh_runtime::CancellationToken;

use super::plays::sign_up;
use crate::support::RunningMesh;

const SEARCH: &str = "/tunemesh.search.v1.SearchService/Search";
/// The longest track of singularity-music: its audio outlasts every flow-control window
/// between player-svc and an unread client, so an unread stream really stalls.
const LONG_TRACK: &str = "/usr/share/games/singularity/music/win/Apex Aleph.ogg";
/// `gateway.http.max_streams_per_user` by default.
const STREAMS_PER_USER: usize = 16;

/// One gRPC-web frame around `message`.
fn frame(message: &impl Message) -> Vec<u8> {
    let payload = message.encode_to_vec();
    let mut framed = vec![0];
    framed.extend(u32::try_from(payload.len()).expect("small").to_be_bytes());
    framed.extend(payload);
    framed
}

/// The `grpc-status` of a gRPC-web call with `body`: from the headers of a trailers-only
/// answer, or from the trailer frame at the end of the body.
async fn grpc_web(
    mesh: &RunningMesh,
    token: &str,
    path: &str,
    body: Vec<u8>,
) -> anyhow::Result<String> {
    let response = mesh
        .http
        .post(mesh.url(path))
        .bearer_auth(token)
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .timeout(Duration::from_secs(20))
        .body(body)
        .send()
        .await?;
    anyhow::ensure!(response.status() == 200, "http {}", response.status());
    if let Some(status) = response.headers().get("grpc-status") {
        return Ok(status.to_str()?.to_owned());
    }
    let body = response.bytes().await?;
    let mut rest = &body[..];
    while rest.len() >= 5 {
        let len = u32::from_be_bytes(rest[1..5].try_into()?) as usize;
        anyhow::ensure!(rest.len() >= 5 + len, "truncated frame");
        if rest[0] & 0x80 != 0 {
            let trailers = std::str::from_utf8(&rest[5..5 + len])?;
            let status = trailers
                .split("\r\n")
                .find_map(|line| line.strip_prefix("grpc-status:"))
                .ok_or_else(|| anyhow::anyhow!("no grpc-status in {trailers:?}"))?;
            return Ok(status.trim().to_owned());
        }
        rest = &rest[5 + len..];
    }
    anyhow::bail!("no trailers in the answer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_messages_from_one_account_do_not_fail_other_accounts_searches()
-> anyhow::Result<()> {
    let mesh = RunningMesh::start().await?;
    mesh.wait_ready().await?;
    let mallory = sign_up(&mesh, "mallory").await?;
    let victim = sign_up(&mesh, "victim").await?;
    let small = frame(&search::SearchRequest {
        query: "march".into(),
        ..Default::default()
    });
    // Over the gateway's 64 KiB request limit.
    let oversized = frame(&search::SearchRequest {
        query: "x".repeat(100 * 1024),
        ..Default::default()
    });
    assert_eq!(grpc_web(&mesh, &victim, SEARCH, small.clone()).await?, "0");

    // As reproduced: 30 oversized calls, six in flight at a time, while the victim searches.
    let caller = || async {
        let mut answers = Vec::new();
        for _ in 0..5 {
            answers.push(grpc_web(&mesh, &mallory, SEARCH, oversized.clone()).await);
        }
        answers
    };
    let flood = async {
        let (a, b, c, d, e, f) =
            tokio::join!(caller(), caller(), caller(), caller(), caller(), caller());
        [a, b, c, d, e, f].into_iter().flatten().collect::<Vec<_>>()
    };
    let searches = async {
        let mut answers = Vec::new();
        for _ in 0..20 {
            answers.push(grpc_web(&mesh, &victim, SEARCH, small.clone()).await);
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        answers
    };
    let (flood, mut answers) = tokio::join!(flood, searches);
    // Right after the flood, when an opened breaker would still be open.
    for _ in 0..5 {
        answers.push(grpc_web(&mesh, &victim, SEARCH, small.clone()).await);
    }

    let failed: Vec<_> = answers
        .iter()
        .filter(|a| !matches!(a, Ok(status) if status == "0"))
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} searches of another account failed: {failed:?}",
        failed.len(),
        answers.len()
    );
    // The gateway answers the oversized calls itself (a client may also see its connection
    // closed while it still writes the rest of the body, which is fine).
    let exhausted = flood
        .iter()
        .filter(|a| matches!(a, Ok(status) if status == "8"))
        .count();
    let other: Vec<_> = flood
        .iter()
        .filter(|a| matches!(a, Ok(status) if status != "8"))
        .collect();
    assert!(exhausted > 0 && other.is_empty(), "{flood:?}");
    mesh.stop().await
}

/// Copies the long track into a fresh library folder.
fn library(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::copy(LONG_TRACK, dir.join("Apex Aleph.ogg"))?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn streams_one_account_leaves_unread_do_not_lock_others_out_of_player_svc()
-> anyhow::Result<()> {
    let music = tempfile::tempdir()?;
    library(music.path())?;
    let mesh = RunningMesh::start_with(|settings| {
        settings.player.library = Some(music.path().to_owned());
        // One rung of the ladder: ingest stays short.
        settings.player.qualities = vec!["normal".into()];
    })
    .await?;
    mesh.wait_ready().await?;
    let mallory = sign_up(&mesh, "mallory").await?;
    let victim = sign_up(&mesh, "victim").await?;
    let get = |path: &str, token: &str| {
        mesh.http
            .get(mesh.url(path))
            .bearer_auth(token)
            .timeout(Duration::from_secs(10))
    };
    let track = tunemesh_testkit::eventually(Duration::from_secs(120), || async {
        let page: Value = get("/v1/tracks", &victim)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        page["tracks"][0]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("no track yet: {page}"))
    })
    .await?;

    // A client that grants 1 KiB per stream and never reads: each StreamAudio stalls at once,
    // and player-svc's side of it soon after. Two connections, as the gateway takes at most
    // 200 streams on one.
    let endpoint = tonic::transport::Endpoint::from_shared(mesh.url(""))?
        .initial_stream_window_size(1024)
        .initial_connection_window_size(16 << 20);
    let channels = [endpoint.connect().await?, endpoint.connect().await?];
    let hold = CancellationToken::new();
    let opened = Arc::new(AtomicUsize::new(0));
    let mut attackers = JoinSet::new();
    for i in 0..300 {
        // Within the account's request quota (100 at once, then 10 a second).
        if i >= 95 {
            tokio::time::sleep(Duration::from_millis(105)).await;
        }
        let mut client = PlayerServiceClient::new(channels[i % 2].clone());
        let mut request = tonic::Request::new(player::StreamAudioRequest {
            track_id: track.clone(),
            quality: AudioQuality::Normal.into(),
            ..Default::default()
        });
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {mallory}").parse()?);
        let (hold, opened) = (hold.clone(), opened.clone());
        attackers.spawn(async move {
            if let Ok(stream) = client.stream_audio(request).await {
                opened.fetch_add(1, Ordering::Relaxed);
                hold.cancelled().await;
                drop(stream);
            }
        });
    }

    // Another listener browses the catalogue and plays the track meanwhile.
    for _ in 0..3 {
        let response = get(&format!("/v1/tracks/{track}"), &victim).send().await?;
        assert_eq!(response.status(), 200, "catalogue: {response:?}");
        let response = get(&format!("/v1/tracks/{track}/audio"), &victim)
            .send()
            .await?;
        assert_eq!(response.status(), 200, "audio: {response:?}");
        let size: usize = response
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok()?.parse().ok())
            .unwrap_or_default();
        let body = response.bytes().await?;
        assert!(
            size > 0 && body.len() == size,
            "audio cut: {} of {size}",
            body.len()
        );
    }
    let open = opened.load(Ordering::Relaxed);
    assert!(
        open <= STREAMS_PER_USER,
        "one account holds {open} streams open"
    );
    hold.cancel();
    attackers.shutdown().await;
    mesh.stop().await
}
