//! Where mixes go: the port [`MixTarget`] and its adapter, playlist-svc's
//! `PutGeneratedPlaylist` over the mesh, as reco-svc itself (its mTLS certificate, no assertion).

use std::time::Duration;

use async_trait::async_trait;
use tunemesh_discovery::{MeshChannel, RetryChannel};
use tunemesh_proto::playlist::v1::PutGeneratedPlaylistRequest;
use tunemesh_proto::playlist::v1::playlist_service_client::PlaylistServiceClient;
use tunemesh_proto::tonic::Request;

/// One listener's mix, ready to be stored as their generated playlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix {
    /// The listener it is for.
    pub user_id: String,
    /// Its kind (`daily-mix`).
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Its tracks, in order.
    pub track_ids: Vec<String>,
}

/// Stores mixes as generated playlists.
#[async_trait]
pub trait MixTarget: Send + Sync + std::fmt::Debug {
    /// Creates or replaces `mix`'s playlist; true when something changed.
    async fn put(&self, mix: &Mix) -> anyhow::Result<bool>;
}

/// playlist-svc over the mesh.
#[derive(Debug, Clone)]
pub struct PlaylistTarget {
    channel: RetryChannel,
    timeout: Duration,
}

impl PlaylistTarget {
    /// Calls through `channel` (the mesh's `playlist`) as reco-svc itself (its certificate),
    /// retrying within the mesh's budget: putting the same mix twice changes nothing.
    pub fn new(channel: MeshChannel, timeout: Duration) -> Self {
        Self {
            channel: channel
                .retrying(["/tunemesh.playlist.v1.PlaylistService/PutGeneratedPlaylist"]),
            timeout,
        }
    }
}

#[async_trait]
impl MixTarget for PlaylistTarget {
    async fn put(&self, mix: &Mix) -> anyhow::Result<bool> {
        let mut request = Request::new(PutGeneratedPlaylistRequest {
            for_user_id: mix.user_id.clone(),
            kind: mix.kind.clone(),
            name: mix.name.clone(),
            description: mix.description.clone(),
            track_ids: mix.track_ids.clone(),
        });
        request.set_timeout(self.timeout);
        // No assertion: no user is behind this call, and reco-svc's certificate names it.
        let answer = PlaylistServiceClient::new(self.channel.clone())
            .put_generated_playlist(request)
            .await?;
        Ok(answer.into_inner().changed)
    }
}
