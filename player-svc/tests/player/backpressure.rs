//! A listener who stops reading stalls the server's blob reads instead of growing memory:
//! the read-ahead is the bounded channel plus HTTP/2 flow-control windows.
//!
//! It watches the process-wide count of blob bytes read, so it must be alone in its process:
//! nextest gives every test its own; under `cargo test` it reruns itself in a child process.

use crate::support::{player, upload};

use std::time::Duration;

use futures::StreamExt as _;
use tunemesh_player::testsuite::bytes_read;
use tunemesh_proto::catalog::v1::AudioQuality;
use tunemesh_proto::player::v1::{StreamAudioRequest, StreamAudioResponse, stream_audio_response};

use player::{APEX, Player, music, quick_settings};

/// The count of blob bytes read once it has not moved for a while.
async fn settled() -> u64 {
    let mut last = bytes_read();
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = bytes_read();
        if now == last {
            return now;
        }
        last = now;
    }
}

/// Set in the child process that runs one test alone.
const ALONE: &str = "TUNEMESH_TEST_ALONE";

/// Whether this test is alone in its process: under nextest (a process per test) or in the
/// child this spawns. Otherwise (`cargo test`, tests as threads of one process) it runs the
/// test `name` alone in a child process of this test binary and reports its outcome.
fn alone_in_process(name: &str) -> anyhow::Result<bool> {
    let nextest =
        std::env::var_os("NEXTEST_EXECUTION_MODE").is_some_and(|m| m == "process-per-test");
    if nextest || std::env::var_os(ALONE).is_some() {
        return Ok(true);
    }
    let status = std::process::Command::new(std::env::current_exe()?)
        .args([name, "--exact", "--test-threads=1"])
        .env(ALONE, "1")
        .status()?;
    anyhow::ensure!(
        status.success(),
        "{name} failed alone in a child process: {status}"
    );
    Ok(false)
}

#[tokio::test]
async fn a_consumer_that_stops_reading_stalls_the_blob_reads_until_it_reads_again()
-> anyhow::Result<()> {
    if !alone_in_process(
        "backpressure::a_consumer_that_stops_reading_stalls_the_blob_reads_until_it_reads_again",
    )? {
        return Ok(());
    }
    let player = Player::start(quick_settings()).await?;
    let result = upload::upload(&player, "apex.ogg", std::fs::read(music(APEX))?).await?;
    let request = player.req(StreamAudioRequest {
        track_id: result.track_id,
        quality: AudioQuality::VeryHigh as i32,
        ..StreamAudioRequest::default()
    });
    // hyper's client windows default to 2 MiB per stream, which would hold this whole track:
    // a client with ordinary 64 KiB windows shows what the server itself reads ahead.
    let channel = tunemesh_proto::tonic::transport::Endpoint::from_shared(format!(
        "http://{}",
        player
            .app
            .as_ref()
            .map(|a| a.addr())
            .ok_or_else(|| anyhow::anyhow!("stopped"))?
    ))?
    .initial_stream_window_size(64 * 1024)
    .initial_connection_window_size(64 * 1024)
    .connect()
    .await?;
    let mut client = tunemesh_proto::player::v1::player_service_client::PlayerServiceClient::new(
        crate::support::player::signed(channel),
    );
    let before = bytes_read();
    let mut stream = client.stream_audio(request).await?.into_inner();
    let total = match stream.next().await.transpose()? {
        Some(StreamAudioResponse {
            message: Some(stream_audio_response::Message::Header(h)),
        }) => h.total_bytes,
        other => anyhow::bail!("expected a header, got {other:?}"),
    };
    assert!(
        total > 1_500_000,
        "a long enough stream to see the stall: {total}"
    );

    // Read nothing more: the server reads a bounded amount ahead, then waits.
    let stalled = settled().await - before;
    eprintln!("read ahead while stalled: {stalled} of {total} bytes");
    assert!(
        stalled < 1 << 20,
        "read {stalled} bytes ahead of a stalled consumer"
    );
    assert!(stalled < total / 2);

    // Reading again drains the whole track.
    let mut received = 0u64;
    while let Some(message) = stream.next().await {
        if let Some(stream_audio_response::Message::Chunk(c)) = message?.message {
            received += c.data.len() as u64;
        }
    }
    assert_eq!(received, total);
    assert_eq!(bytes_read() - before, total);
    Ok(())
}
