//! The thin gRPC adapter: each method verifies the caller, calls the domain and maps its
//! error through the one error table.

use std::sync::Arc;

use tunemesh_proto::playlist::v1 as pb;
use tunemesh_proto::playlist::v1::playlist_service_server::PlaylistService;
use tunemesh_proto::tonic::{Request, Response, Status, async_trait};
use tunemesh_runtime::error::to_status;
use tunemesh_runtime::identity::Verifier;

use crate::service::Playlists;

/// `playlist.v1.PlaylistService` over a [`Playlists`] domain.
#[derive(Clone)]
pub(crate) struct PlaylistApi {
    domain: Arc<dyn Playlists>,
    identity: Verifier,
}

impl std::fmt::Debug for PlaylistApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlaylistApi").finish_non_exhaustive()
    }
}

impl PlaylistApi {
    /// Serves `domain`, verifying callers with `identity`.
    pub(crate) fn new(domain: Arc<dyn Playlists>, identity: Verifier) -> Self {
        Self { domain, identity }
    }
}

/// The adapter methods: each verifies the caller, calls the domain, maps the error. The
/// macro writes the whole impl so `async_trait` sees the expanded methods.
/// The RPCs a service may call for itself, known by its certificate (reco-svc's mixer);
/// every other one acts for a listener and needs the gateway's assertion.
const FOR_SERVICES: &[&str] = &["put_generated_playlist"];

macro_rules! rpcs {
    ($(($name:ident, $domain:ident, $req:ty, $resp:ty)),* $(,)?) => {
        #[async_trait]
        impl PlaylistService for PlaylistApi {
            $(
                async fn $name(&self, request: Request<$req>) -> Result<Response<$resp>, Status> {
                    // Everything here is a listener's, but what services write for
                    // themselves: a certificate alone names no listener.
                    let caller = if FOR_SERVICES.contains(&stringify!($name)) {
                        self.identity.caller(&request)?
                    } else {
                        self.identity.user(&request)?
                    };
                    self.domain
                        .$domain(&caller, request.into_inner())
                        .await
                        .map(Response::new)
                        .map_err(|error| to_status(&error))
                }
            )*
        }
    };
}

rpcs!(
    (
        create_playlist,
        create,
        pb::CreatePlaylistRequest,
        pb::CreatePlaylistResponse
    ),
    (
        get_playlist,
        get,
        pb::GetPlaylistRequest,
        pb::GetPlaylistResponse
    ),
    (
        list_my_playlists,
        list_mine,
        pb::ListMyPlaylistsRequest,
        pb::ListMyPlaylistsResponse
    ),
    (
        update_playlist_details,
        update_details,
        pb::UpdatePlaylistDetailsRequest,
        pb::UpdatePlaylistDetailsResponse
    ),
    (
        delete_playlist,
        delete,
        pb::DeletePlaylistRequest,
        pb::DeletePlaylistResponse
    ),
    (
        add_playlist_items,
        add_items,
        pb::AddPlaylistItemsRequest,
        pb::AddPlaylistItemsResponse
    ),
    (
        remove_playlist_items,
        remove_items,
        pb::RemovePlaylistItemsRequest,
        pb::RemovePlaylistItemsResponse
    ),
    (
        move_playlist_items,
        move_items,
        pb::MovePlaylistItemsRequest,
        pb::MovePlaylistItemsResponse
    ),
    (
        add_playlist_collaborator,
        add_collaborator,
        pb::AddPlaylistCollaboratorRequest,
        pb::AddPlaylistCollaboratorResponse
    ),
    (
        remove_playlist_collaborator,
        remove_collaborator,
        pb::RemovePlaylistCollaboratorRequest,
        pb::RemovePlaylistCollaboratorResponse
    ),
    (
        follow_playlist,
        follow,
        pb::FollowPlaylistRequest,
        pb::FollowPlaylistResponse
    ),
    (
        unfollow_playlist,
        unfollow,
        pb::UnfollowPlaylistRequest,
        pb::UnfollowPlaylistResponse
    ),
    (
        like_tracks,
        like,
        pb::LikeTracksRequest,
        pb::LikeTracksResponse
    ),
    (
        unlike_tracks,
        unlike,
        pb::UnlikeTracksRequest,
        pb::UnlikeTracksResponse
    ),
    (
        list_liked_tracks,
        list_liked,
        pb::ListLikedTracksRequest,
        pb::ListLikedTracksResponse
    ),
    (
        check_liked_tracks,
        check_liked,
        pb::CheckLikedTracksRequest,
        pb::CheckLikedTracksResponse
    ),
    (
        put_generated_playlist,
        put_generated,
        pb::PutGeneratedPlaylistRequest,
        pb::PutGeneratedPlaylistResponse
    ),
    (
        like_albums,
        like_albums,
        pb::LikeAlbumsRequest,
        pb::LikeAlbumsResponse
    ),
    (
        unlike_albums,
        unlike_albums,
        pb::UnlikeAlbumsRequest,
        pb::UnlikeAlbumsResponse
    ),
    (
        list_liked_albums,
        list_liked_albums,
        pb::ListLikedAlbumsRequest,
        pb::ListLikedAlbumsResponse
    ),
    (
        check_liked_albums,
        check_liked_albums,
        pb::CheckLikedAlbumsRequest,
        pb::CheckLikedAlbumsResponse
    ),
    (
        like_artists,
        like_artists,
        pb::LikeArtistsRequest,
        pb::LikeArtistsResponse
    ),
    (
        unlike_artists,
        unlike_artists,
        pb::UnlikeArtistsRequest,
        pb::UnlikeArtistsResponse
    ),
    (
        list_liked_artists,
        list_liked_artists,
        pb::ListLikedArtistsRequest,
        pb::ListLikedArtistsResponse
    ),
    (
        check_liked_artists,
        check_liked_artists,
        pb::CheckLikedArtistsRequest,
        pb::CheckLikedArtistsResponse
    ),
    (
        save_play_queue,
        save_queue,
        pb::SavePlayQueueRequest,
        pb::SavePlayQueueResponse
    ),
    (
        get_play_queue,
        get_queue,
        pb::GetPlayQueueRequest,
        pb::GetPlayQueueResponse
    ),
);
