//! A listener's relations to music: following playlists, liking tracks.

use tunemesh_proto::playlist::v1 as pb;
use tunemesh_runtime::identity::Caller;

use super::PlaylistDomain;
use crate::error::PlaylistError;
use crate::validate;

impl PlaylistDomain {
    /// FollowPlaylist.
    pub(super) async fn follow(
        &self,
        caller: &Caller,
        req: pb::FollowPlaylistRequest,
    ) -> Result<pb::FollowPlaylistResponse, PlaylistError> {
        validate::id("playlist_id", &req.playlist_id)?;
        let after = self
            .bounded(self.store.follow(&req.playlist_id, &caller.user_id, true))
            .await?;
        self.reads
            .cache()
            .invalidate(&req.playlist_id, after.revision)
            .await;
        Ok(pb::FollowPlaylistResponse {
            version: after.version,
        })
    }

    /// UnfollowPlaylist.
    pub(super) async fn unfollow(
        &self,
        caller: &Caller,
        req: pb::UnfollowPlaylistRequest,
    ) -> Result<pb::UnfollowPlaylistResponse, PlaylistError> {
        validate::id("playlist_id", &req.playlist_id)?;
        let after = self
            .bounded(self.store.follow(&req.playlist_id, &caller.user_id, false))
            .await?;
        self.reads
            .cache()
            .invalidate(&req.playlist_id, after.revision)
            .await;
        Ok(pb::UnfollowPlaylistResponse {})
    }

    /// LikeTracks.
    pub(super) async fn like(
        &self,
        caller: &Caller,
        req: pb::LikeTracksRequest,
    ) -> Result<pb::LikeTracksResponse, PlaylistError> {
        validate::ids("track_ids", &req.track_ids, 1)?;
        self.check_tracks(caller, &req.track_ids).await?;
        let tracks = validate::distinct(&req.track_ids);
        let changed = self
            .bounded(
                self.store
                    .like(&caller.user_id, &tracks, true, req.expected_version),
            )
            .await?;
        Ok(pb::LikeTracksResponse {
            version: changed.version,
        })
    }

    /// UnlikeTracks.
    pub(super) async fn unlike(
        &self,
        caller: &Caller,
        req: pb::UnlikeTracksRequest,
    ) -> Result<pb::UnlikeTracksResponse, PlaylistError> {
        validate::ids("track_ids", &req.track_ids, 1)?;
        let tracks = validate::distinct(&req.track_ids);
        let changed = self
            .bounded(
                self.store
                    .like(&caller.user_id, &tracks, false, req.expected_version),
            )
            .await?;
        Ok(pb::UnlikeTracksResponse {
            version: changed.version,
        })
    }
}
