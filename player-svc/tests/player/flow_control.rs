//! Streams share their HTTP/2 connection's flow-control window: on the mesh's one connection
//! to a player-svc (the gateway's, carrying every listener), listeners who pause must not
//! stall the others. With hyper's default windows (2 MiB per stream, 5 MiB per connection)
//! three paused streams holding unread audio were enough to stop every other stream.

use crate::support::{player, upload};

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use tunemesh_discovery::{EmbeddedRegistry, Mesh, MeshSettings, Registration, Registry as _};
use tunemesh_proto::catalog::v1::AudioQuality;
use tunemesh_proto::player::v1::player_service_client::PlayerServiceClient;
use tunemesh_proto::player::v1::{StreamAudioRequest, StreamAudioResponse, stream_audio_response};

use player::{APEX, Player, music, quick_settings};

#[tokio::test]
async fn listeners_who_pause_do_not_stall_the_others_on_the_mesh_connection() -> anyhow::Result<()>
{
    let player = Player::start(quick_settings()).await?;
    let track_id = upload::upload(&player, "apex.ogg", std::fs::read(music(APEX))?)
        .await?
        .track_id;
    let addr = player
        .app
        .as_ref()
        .map(|a| a.addr())
        .ok_or_else(|| anyhow::anyhow!("stopped"))?;
    let registry = Arc::new(EmbeddedRegistry::default());
    registry
        .register(&Registration::for_service("player", addr, "test"))
        .await?;
    let mesh = Mesh::new(registry, MeshSettings::default());
    let mut client =
        PlayerServiceClient::new(crate::support::player::signed(mesh.channel("player")));
    let request = || {
        player.req(StreamAudioRequest {
            track_id: track_id.clone(),
            quality: AudioQuality::VeryHigh as i32,
            ..StreamAudioRequest::default()
        })
    };

    // Under one deadline: a stalled stream waits forever, even for its header.
    let exchange = async {
        // Eight listeners take the header and then read nothing (paused, or a slow browser
        // behind the gateway); the server fills whatever window they leave it.
        let mut paused = Vec::new();
        for _ in 0..8 {
            let mut stream = client.stream_audio(request()).await?.into_inner();
            stream.next().await.transpose()?;
            paused.push(stream);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;

        // A ninth on the same connection still gets its whole track.
        let mut stream = client.stream_audio(request()).await?.into_inner();
        let total = match stream.next().await.transpose()? {
            Some(StreamAudioResponse {
                message: Some(stream_audio_response::Message::Header(h)),
            }) => h.total_bytes,
            other => anyhow::bail!("expected a header, got {other:?}"),
        };
        let mut read = 0u64;
        while let Some(message) = stream.next().await.transpose()? {
            if let Some(stream_audio_response::Message::Chunk(chunk)) = message.message {
                read += chunk.data.len() as u64;
            }
        }
        drop(paused);
        anyhow::Ok((total, read))
    };
    let (total, read) = tokio::time::timeout(Duration::from_secs(30), exchange)
        .await
        .map_err(|_| anyhow::anyhow!("a listener stalled behind the paused ones"))??;
    assert!(
        total > 1_500_000,
        "a track longer than the windows: {total}"
    );
    assert_eq!(read, total);
    Ok(())
}
